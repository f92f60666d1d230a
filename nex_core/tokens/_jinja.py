"""The jinja2 side of chat templates: the sandboxed environment Hugging Face templates expect.

Imported only when a template is compiled (through ``nex_core.tokens._template.jinja``), because
jinja2 comes with the ``tokens`` extra and ``import nex_core.tokens`` must work without it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any, NoReturn

try:
    import jinja2
    import jinja2.ext
    import jinja2.nodes
    from jinja2 import TemplateError, TemplateSyntaxError
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError as exc:  # said here too, for whoever imports this module directly
    raise ImportError(
        f"chat templates need the '{exc.name or 'jinja2'}' package: pip install 'nex-core[tokens]'",
        name=exc.name,
    ) from None

from nex_core.tokens._markers import CLOSE, OPEN

__all__ = ["TemplateError", "TemplateSyntaxError", "environment"]


class _GenerationTag(jinja2.ext.Extension):
    """``{% generation %}…{% endgeneration %}``: the enclosed output is the model's."""

    tags = {"generation"}

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        call = self.call_method("_mark", [])
        return jinja2.nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    @staticmethod
    def _mark(caller: Callable[[], str]) -> str:
        return f"{OPEN}{caller()}{CLOSE}"


def _tojson(
    value: Any,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
    ensure_ascii: bool = False,
) -> str:
    return json.dumps(
        value, indent=indent, separators=separators, sort_keys=sort_keys, ensure_ascii=ensure_ascii
    )


def _raise(message: str) -> NoReturn:
    raise jinja2.TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[_GenerationTag, jinja2.ext.loopcontrols],
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = _strftime_now
    return env
