"""Chat templates: Jinja text rendered in a sandbox, with the assistant spans it marks.

The environment is what Hugging Face chat templates are written against: jinja2's
``ImmutableSandboxedEnvironment`` with ``trim_blocks`` and ``lstrip_blocks``, a ``tojson`` filter
that keeps non-ASCII text and takes ``indent``/``separators``/``sort_keys``, the globals
``raise_exception`` and ``strftime_now``, the ``loopcontrols`` extension, and a
``{% generation %} … {% endgeneration %}`` tag that marks what the model wrote.

The tag is tracked with two sentinel characters (Unicode noncharacters, which never occur in real
text) written around the block's output and stripped after rendering. Tracking the output offset
at the moment the tag runs would break inside macros, filter blocks and ``{% set %}`` blocks,
which buffer their output; sentinels survive all of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nex_core.errors import ChatTemplateError, SpecError
from nex_core.tokens._markers import CLOSE as _CLOSE
from nex_core.tokens._markers import OPEN as _OPEN

if TYPE_CHECKING:
    from types import ModuleType

INSTALL_HINT = "pip install 'nex-core[tokens]'"


def jinja() -> ModuleType:
    """``nex_core.tokens._jinja`` (jinja2 and the environment), or a ``SpecError`` naming the
    ``tokens`` extra when jinja2 is not installed."""
    try:
        from nex_core.tokens import _jinja
    except ImportError as exc:
        raise SpecError(
            f"chat templates need the '{exc.name or 'jinja2'}' package: {INSTALL_HINT} "
            "(or pip install jinja2)"
        ) from None
    return _jinja


@dataclass(frozen=True)
class Rendered:
    text: str
    spans: list[tuple[int, int]]
    """Character ranges of ``text`` inside ``{% generation %}`` blocks, in order."""


class ChatTemplate:
    """A compiled chat template and where it came from (a file, a folder's config, built in)."""

    def __init__(self, source: str, origin: str, context: Mapping[str, Any] | None = None) -> None:
        self.source = source
        self.origin = origin
        self.context = dict(context or {})
        """Extra template variables, such as ``bos_token`` and ``eos_token``."""
        self.sha256 = hashlib.sha256(source.encode()).hexdigest()
        templates = jinja()
        try:
            self._template = templates.environment().from_string(source)
        except templates.TemplateSyntaxError as exc:
            raise ChatTemplateError(
                f"chat template {origin}, line {exc.lineno}: {exc.message}"
            ) from None
        self.has_generation_markers = "generation" in _tag_names(source)

    def render(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
        *,
        add_generation_prompt: bool = False,
    ) -> Rendered:
        """The conversation as text, with the spans its ``{% generation %}`` tags marked."""
        templates = jinja()
        try:
            raw = self._template.render(
                **self.context,
                messages=list(messages),
                tools=list(tools) if tools else None,
                add_generation_prompt=add_generation_prompt,
            )
        except templates.TemplateError as exc:
            raise ChatTemplateError(f"chat template {self.origin}: {exc}") from None
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            # Template code fails like Python does (a dict added to a string, ...): the
            # sample does not have the shape this template expects.
            raise ChatTemplateError(
                f"chat template {self.origin}: {type(exc).__name__}: {exc}"
            ) from None
        return _strip_markers(raw, self.origin)


def _tag_names(source: str) -> set[str]:
    """Block tag names the template uses (lexed, so a word in a string or comment is no tag)."""
    env = jinja().environment()
    names: set[str] = set()
    expect_name = False
    for _, kind, value in env.lex(source):
        if kind == "block_begin":
            expect_name = True
        elif expect_name and kind == "name":
            names.add(value)
            expect_name = False
        elif kind != "whitespace":
            expect_name = False
    return names


def _strip_markers(raw: str, origin: str) -> Rendered:
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start: int | None = None
    pos = 0
    while True:
        nxt = min((i for i in (raw.find(_OPEN, pos), raw.find(_CLOSE, pos)) if i >= 0), default=-1)
        if nxt < 0:
            parts.append(raw[pos:])
            break
        parts.append(raw[pos:nxt])
        length += nxt - pos
        if raw[nxt] == _OPEN:
            if start is not None:
                raise ChatTemplateError(f"chat template {origin}: nested {{% generation %}} blocks")
            start = length
        else:
            if start is None:  # pragma: no cover - the tag always writes both
                raise ChatTemplateError(f"chat template {origin}: unbalanced generation markers")
            if length > start:
                spans.append((start, length))
            start = None
        pos = nxt + 1
    return Rendered("".join(parts), spans)


def check_text(value: str, where: str) -> None:
    """Sample text may not hold the sentinels (they would fake an assistant span)."""
    if _OPEN in value or _CLOSE in value:
        raise ChatTemplateError(f"{where} holds U+FDD0/U+FDD1, which nex reserves for masks")
