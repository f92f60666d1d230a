"""Kimi-K2: calls in ``<|tool_calls_section_begin|>``, each id ``functions.NAME:INDEX``.

As Moonshot documents it (no copy of the template ships in a package here, so this follows the
form in the project's ecosystem notes)::

    PROSE<|tool_calls_section_begin|><|tool_call_begin|>functions.NAME:0<|tool_call_argument_begin|>{...}<|tool_call_end|><|tool_calls_section_end|>

Tools are declared as JSON in a ``tool_declare`` system turn. The id is the call's identity:
nex's own ids cannot be written, so a call is written ``functions.NAME:I`` (I its place in the
batch) and the parser returns that id. Results are one tool message each, which the template
writes ``## Return of functions.NAME:I`` then the result.
"""

from __future__ import annotations

from collections.abc import Sequence

from nex_core.errors import ToolFormatError
from nex_core.toolformats._base import (
    ParsedCall,
    ToolCallFormat,
    args_text,
    args_value,
    dumps,
    expect,
    read_json,
    until,
)
from nex_core.trajectory.schema import ToolCall, ToolSchema

SECTION_BEGIN = "<|tool_calls_section_begin|>"
SECTION_END = "<|tool_calls_section_end|>"
CALL_BEGIN = "<|tool_call_begin|>"
ARGUMENT_BEGIN = "<|tool_call_argument_begin|>"
CALL_END = "<|tool_call_end|>"


def kimi_id(name: str, index: int) -> str:
    return f"functions.{name}:{index}"


class KimiK2ToolFormat(ToolCallFormat):
    name = "kimi_k2"
    family = "Kimi-K2 (Instruct, 0905, Thinking)"
    result_role = "tool"
    template_result_role = "tool (## Return of functions.NAME:I)"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return dumps([t.openai() for t in tools])

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        blocks = []
        for i, c in enumerate(calls):
            if ":" in c.function.name or "<|" in c.function.name:
                raise ToolFormatError(f"cannot express: tool name {c.function.name!r}")
            blocks.append(
                f"{CALL_BEGIN}{kimi_id(c.function.name, i)}{ARGUMENT_BEGIN}"
                f"{dumps(args_value(c))}{CALL_END}"
            )
        return f"{text or ''}{SECTION_BEGIN}{''.join(blocks)}{SECTION_END}"

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        start = text.find(SECTION_BEGIN)
        if start < 0:
            return text.strip(), []
        pos = start + len(SECTION_BEGIN)
        calls: list[ParsedCall] = []
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if text.startswith(SECTION_END, pos):
                pos += len(SECTION_END)
                break
            pos = expect(text, pos, CALL_BEGIN, f"inside {SECTION_BEGIN}")
            call_id, pos = until(text, pos, ARGUMENT_BEGIN, "the call id")
            call_id = call_id.strip()
            qualified, colon, _ = call_id.rpartition(":")
            name = qualified.split(".", 1)[1] if qualified.startswith("functions.") else qualified
            if not colon or not name:
                raise ToolFormatError(
                    f"call id {call_id!r} is not functions.NAME:INDEX", position=pos
                )
            value, pos = read_json(text, pos, "the arguments")
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            pos = expect(text, pos, CALL_END, "after the arguments")
            calls.append(ParsedCall(name, args_text(value), call_id))
        return (text[:start] + text[pos:]).strip(), calls

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"## Return of {call_id}\n{result}"
