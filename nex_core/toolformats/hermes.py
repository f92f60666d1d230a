"""Hermes / Qwen2.5 / Qwen3: ``<tool_call>\\n{"name": N, "arguments": {...}}\\n</tool_call>``.

As the Qwen2.5 and Qwen3 chat templates write it: tools as one ``tojson`` line each inside
``<tools></tools>`` in the system turn; calls after the prose, one tag each, joined by newlines
(parallel batches allowed); results in one user turn, each in ``<tool_response>`` tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nex_core.toolformats._base import (
    ParsedCall,
    ToolCallFormat,
    args_value,
    call_object,
    dumps,
    expect,
    prose_and_calls,
    read_json,
    scan,
    tool_json_lines,
)
from nex_core.trajectory.schema import ToolCall, ToolSchema

_OPEN = "<tool_call>"
_CLOSE = "</tool_call>"


def hermes_tools_section(tools: Sequence[ToolSchema]) -> str:
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{tool_json_lines(tools)}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments "
        "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


class HermesToolFormat(ToolCallFormat):
    name = "hermes"
    family = "Hermes 2 Pro / 3, Qwen2.5, Qwen3 (and QwQ)"
    template_result_role = "user (<tool_response> tags)"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return hermes_tools_section(tools)

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        blocks = [
            f'{_OPEN}\n{{"name": {dumps(c.function.name)}, "arguments": {dumps(args_value(c))}}}'
            f"\n{_CLOSE}"
            for c in calls
        ]
        return prose_and_calls(text, blocks)

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        return scan(text, _OPEN, _read_call)

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"<tool_response>\n{result}\n</tool_response>"


def _read_call(text: str, pos: int) -> tuple[ParsedCall, int]:
    value: Any
    value, end = read_json(text, pos, "<tool_call> body")
    call = call_object(value, "arguments", "<tool_call> body", pos)
    while end < len(text) and text[end] in " \t\r\n":
        end += 1
    return call, expect(text, end, _CLOSE, "after the call's JSON")
