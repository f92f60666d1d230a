"""``native``: provider function calling. Calls stay structured in the message's ``tool_calls``;
the text form (used only where a row must be text) is the OpenAI message as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from nex_core.errors import ToolFormatError
from nex_core.toolformats._base import ParsedCall, ToolCallFormat, args_text, args_value, dumps
from nex_core.trajectory.schema import ToolCall, ToolSchema


class NativeToolFormat(ToolCallFormat):
    name = "native"
    family = "any model served with function calling (OpenAI-compatible tool_calls)"
    structured = True
    result_role = "tool"
    template_result_role = "tool"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return dumps([t.openai() for t in tools])

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        body = [{"id": c.id, "name": c.function.name, "arguments": args_value(c)} for c in calls]
        return dumps({"content": text or "", "tool_calls": body})

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return text.strip(), []
        if not isinstance(data, dict) or "tool_calls" not in data:
            return text.strip(), []
        try:
            calls = [
                ParsedCall(str(c["name"]), args_text(c.get("arguments", {})))
                for c in data["tool_calls"]
            ]
        except (TypeError, KeyError, AttributeError) as exc:
            raise ToolFormatError(f"malformed tool_calls entry: {exc!r}") from None
        return str(data.get("content") or "").strip(), calls

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return result
