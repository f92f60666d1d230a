"""A fenced ```json block holding ``{"tool_calls": [...]}``: a prompt convention for models with
no tool syntax of their own, not a model family's template."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from nex_core.errors import ToolFormatError
from nex_core.toolformats._base import (
    ParsedCall,
    ToolCallFormat,
    args_value,
    call_object,
    dumps,
    tool_json_lines,
)
from nex_core.trajectory.schema import ToolCall, ToolSchema


class JSONBlockToolFormat(ToolCallFormat):
    name = "json"
    family = "prompted JSON (any instruction-tuned model)"
    _BLOCK = re.compile(r"```json\n(?P<body>\{.*?\})\n```", re.DOTALL)

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return (
            "To use tools, write one fenced ```json block holding "
            '{"tool_calls": [{"name": "TOOL", "arguments": {...}}]}. Tools:\n'
            f"{tool_json_lines(tools)}"
        )

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        body = {
            "tool_calls": [{"name": c.function.name, "arguments": args_value(c)} for c in calls]
        }
        block = f"```json\n{dumps(body)}\n```"
        return f"{text}\n{block}" if text else block

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        for match in self._BLOCK.finditer(text):
            try:
                data = json.loads(match.group("body"))
            except (ValueError, RecursionError):
                continue
            if isinstance(data, dict) and isinstance(data.get("tool_calls"), list):
                calls = [
                    call_object(c, "arguments", "a tool_calls entry", match.start())
                    for c in data["tool_calls"]
                ]
                return (text[: match.start()] + text[match.end() :]).strip(), calls
        if "```json" in text and '"tool_calls"' in text:
            raise ToolFormatError("a ```json tool_calls block that is not valid JSON")
        return text.strip(), []

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"Tool result ({name}):\n{result}"
