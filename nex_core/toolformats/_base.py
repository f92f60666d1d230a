"""The interface every tool-invocation format implements, and what the formats share.

A format is four renderings and one parser, written as one model family's chat template writes
them: the system-prompt section declaring the tools (:meth:`ToolCallFormat.render_tools`), an
assistant turn holding prose and calls (:meth:`~ToolCallFormat.render_calls`), the parser that
reads such a turn back (:meth:`~ToolCallFormat.parse`), and the results of a batch
(:meth:`~ToolCallFormat.render_results`, carried by the messages of
:meth:`~ToolCallFormat.result_messages`).

Two extensions over a bare render/parse pair, both because real families need them:

- **Where results go.** Some families return results in a user turn with wrapper text (Hermes
  ``<tool_response>``); others have a role of their own (Llama's ``ipython``, GLM's
  ``<|observation|>``, Mistral's ``[TOOL_RESULTS]``). :attr:`~ToolCallFormat.result_role` says
  which nex message role carries them (``user``: one user message with the wrapped batch;
  ``tool``: one tool message per result, which the serving chat template wraps) and
  :attr:`~ToolCallFormat.template_result_role` names the role the family's template writes.
- **Tool schemas.** Families that write argument values as bare text (Qwen3-Coder, GLM-4.5,
  MiniMax-M2, NexAU) cannot tell the string ``"1"`` from the number ``1``; their real parsers
  read the tool's JSON Schema to decide, so ``parse`` and ``render_calls`` take the schemas.

A batch a family cannot hold (two calls for a one-call-per-turn family, prose beside a call where
the template drops it, a value that would close its own tag) raises :class:`ToolFormatError`
from ``render_calls`` with a message starting ``cannot express:``, so the exporter skips the
sample and counts the reason instead of writing data the family's model never sees.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

from nex_core.errors import ToolFormatError
from nex_core.trajectory.schema import Message, ToolCall, ToolSchema

T = TypeVar("T")

Result = tuple[str, str, str]
"""One tool result of a batch: (tool name, call id, result text)."""


@dataclass(frozen=True)
class ParsedCall:
    name: str
    arguments: str
    """Argument text as written (JSON expected; kept raw so malformed input is recorded)."""
    call_id: str | None = None
    """The call's id where the family writes one (Mistral pre-v11, Kimi-K2), else ``None``."""


class ToolCallFormat(ABC):
    """Renders tool descriptions, calls and results into text and parses calls back."""

    name: ClassVar[str]
    """Registered name (``hermes``, ``llama3_json`` ...)."""
    aliases: ClassVar[tuple[str, ...]] = ()
    """Other names the registry also answers to (``xml`` for ``nex_xml``)."""
    family: ClassVar[str] = ""
    """Which models write this format, for people choosing one."""
    structured: ClassVar[bool] = False
    """True only for ``native``: calls stay in the message's ``tool_calls`` field."""
    parallel: ClassVar[bool] = True
    """Whether one assistant turn can hold several calls."""
    result_role: ClassVar[Literal["user", "tool"]] = "user"
    """nex message role that carries results back to the model (see the module docstring)."""
    template_result_role: ClassVar[str] = "user"
    """The role the family's chat template writes results in (``ipython``, ``observation`` ...)."""
    tools_role: ClassVar[Literal["system", "user"]] = "system"
    """Where the family's template declares tools: the system turn, or the first user turn."""

    @abstractmethod
    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        """The section that tells the model which tools exist and how to call them."""

    @abstractmethod
    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        """Assistant text holding ``text`` followed by ``calls`` in this format.

        Raises :class:`ToolFormatError` ("cannot express: ...") for what the family cannot hold.
        """

    @abstractmethod
    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        """Split model text into (prose, calls). Raises only :class:`ToolFormatError`."""

    @abstractmethod
    def render_result(self, name: str, call_id: str, result: str) -> str:
        """Text that returns one tool result to the model, as the family's template writes it."""

    def render_results(self, results: Sequence[Result]) -> str:
        """Text of a whole batch of results (a family may wrap the batch once)."""
        return "\n".join(self.render_result(n, i, r) for n, i, r in results)

    def result_messages(self, results: Sequence[Result]) -> list[Message]:
        """The messages that carry a batch of results, in this family's roles."""
        if self.result_role == "tool":
            return [Message.tool(call_id, result) for _, call_id, result in results]
        return [Message.user(self.render_results(results))]

    def result_message(self, results: Sequence[Result]) -> Message:
        """One user message carrying every result of a batch as text (the rendered form)."""
        return Message.user(self.render_results(results))

    def system_prompt(self, system: str, tools: Sequence[ToolSchema]) -> str:
        """The system prompt joined with the tools section (after it, unless the family's
        template puts the tools first)."""
        section = self.render_tools(tools) if tools else ""
        return "\n\n".join(p for p in (system, section) if p)

    def render_answer(self, text: str) -> str:
        """A final answer (no tool calls) in this format; most formats keep it as is."""
        return text

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


# --------------------------------------------------------------------------- shared helpers


def dumps(value: Any) -> str:
    """JSON as Hugging Face's ``tojson`` filter writes it (non-ASCII kept, default separators)."""
    return json.dumps(value, ensure_ascii=False)


def args_value(call: ToolCall) -> Any:
    """Arguments as a JSON value when they parse, else the raw text (kept as a string)."""
    raw = call.function.arguments
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        return raw


def args_object(call: ToolCall) -> dict[str, Any]:
    """Arguments as a JSON object, for families whose syntax has one slot per argument."""
    value = args_value(call)
    if not isinstance(value, dict):
        raise ToolFormatError(
            f"cannot express: arguments of '{call.function.name}' are not a JSON object"
        )
    return value


def args_text(value: Any) -> str:
    """Parsed argument value as the JSON text a :class:`ParsedCall` carries."""
    return value if isinstance(value, str) else dumps(value)


_DECODER = json.JSONDecoder()


def read_json(text: str, pos: int, what: str) -> tuple[Any, int]:
    """The JSON value starting at ``pos`` (spaces skipped) and the offset after it."""
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    try:
        return _DECODER.raw_decode(text, pos)
    except ValueError as exc:
        raise ToolFormatError(f"{what} is not JSON: {exc.args[0]}", position=pos) from None
    except RecursionError:
        raise ToolFormatError(f"{what} nests too deeply", position=pos) from None


def expect(text: str, pos: int, literal: str, what: str) -> int:
    """Offset after ``literal``, which must start at ``pos``."""
    if not text.startswith(literal, pos):
        found = text[pos : pos + 20]
        raise ToolFormatError(f"expected {literal!r} {what}, found {found!r}", position=pos)
    return pos + len(literal)


def call_object(value: Any, args_key: str, what: str, position: int) -> ParsedCall:
    """A ``{"name": ..., args_key: {...}}`` object as a call."""
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise ToolFormatError(f"{what} is not an object with a string 'name'", position=position)
    arguments = value.get(args_key, {})
    call_id = value.get("id")
    return ParsedCall(
        value["name"], args_text(arguments), call_id if isinstance(call_id, str) else None
    )


def param_types(tools: Sequence[ToolSchema], name: str) -> Mapping[str, Any]:
    """The JSON Schema of each parameter of tool ``name`` (empty when unknown)."""
    for tool in tools:
        if tool.name == name:
            props = tool.parameters.get("properties")
            return props if isinstance(props, dict) else {}
    return {}


def _is_string_schema(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    return kind == "string" or (isinstance(kind, list) and kind == ["string"])


def typed_value(raw: str, schema: Any) -> Any:
    """A bare-text argument value read back by its schema, as the families' own parsers do.

    A parameter the schema types as a string stays text; any other is read as JSON when it
    parses and kept as text when it does not. Without a schema a JSON-looking value is read as
    JSON: the family's text cannot tell the string ``"1"`` from the number ``1``.
    """
    if _is_string_schema(schema):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw
    except RecursionError:
        raise ToolFormatError("argument value nests too deeply") from None


def bare_value(value: Any, closer: str, where: str) -> str:
    """An argument value written as bare text: strings as they are, anything else as JSON."""
    text = value if isinstance(value, str) else dumps(value)
    if closer in text:
        raise ToolFormatError(f"cannot express: {where} value containing {closer!r}")
    return text


def tool_json_lines(tools: Sequence[ToolSchema]) -> str:
    """One ``tojson`` line per tool, in the OpenAI shape the templates receive."""
    return "\n".join(dumps(t.openai()) for t in tools)


def prose_and_calls(text: str | None, blocks: Sequence[str], sep: str = "\n") -> str:
    """Prose followed by the call blocks, joined the way most templates join them."""
    parts = [text] if text else []
    return sep.join([*parts, *blocks])


def check_single(fmt: ToolCallFormat, calls: Sequence[ToolCall]) -> None:
    if not fmt.parallel and len(calls) > 1:
        raise ToolFormatError(
            f"cannot express: {len(calls)} calls in one turn ({fmt.name} writes one call per turn)"
        )


def scan(text: str, opener: str, read: Callable[[str, int], tuple[T, int]]) -> tuple[str, list[T]]:
    """Every block that starts with ``opener``, read by ``read(text, offset_after_opener)``
    (which returns the item and the offset after the block), and the prose around them."""
    prose: list[str] = []
    items: list[T] = []
    pos = 0
    while (start := text.find(opener, pos)) >= 0:
        prose.append(text[pos:start])
        item, pos = read(text, start + len(opener))
        items.append(item)
    prose.append(text[pos:])
    return "".join(prose).strip(), items


def until(text: str, pos: int, closer: str, what: str) -> tuple[str, int]:
    """The text from ``pos`` up to ``closer`` and the offset after the closer."""
    end = text.find(closer, pos)
    if end < 0:
        raise ToolFormatError(f"{what} is not closed with {closer!r}", position=pos)
    return text[pos:end], end + len(closer)
