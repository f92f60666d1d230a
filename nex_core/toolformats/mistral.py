"""Mistral's ``[TOOL_CALLS]`` formats, as mistral-common's encoders write them.

``mistral`` (tokenizers v3 to v7, pre-v11)::

    [TOOL_CALLS][{"name": N, "arguments": {...}, "id": ID}, ...]
    [TOOL_RESULTS]{"content": RESULT, "call_id": ID}[/TOOL_RESULTS]

``mistral_v11`` (v11 onwards, the form of v13+: no ids)::

    [TOOL_CALLS]N[ARGS]{...}[TOOL_CALLS]N2[ARGS]{...}
    [TOOL_RESULTS]RESULT[/TOOL_RESULTS]

Tools are declared as ``[AVAILABLE_TOOLS][...][/AVAILABLE_TOOLS]`` (before the last user turn
up to v11, before the first from v13). Pre-v11 an assistant turn holds prose or calls, never
both; v11 writes prose then calls. Results are one tool message each (``[TOOL_RESULTS]``), a
result that is JSON text being written as JSON, as ``mistral-common`` does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from nex_core.errors import ToolFormatError
from nex_core.toolformats._base import (
    ParsedCall,
    ToolCallFormat,
    args_text,
    args_value,
    call_object,
    dumps,
    read_json,
    scan,
)
from nex_core.trajectory.schema import ToolCall, ToolSchema

TOOL_CALLS = "[TOOL_CALLS]"
ARGS = "[ARGS]"
CALL_ID = "[CALL_ID]"


def _json_content(text: str) -> Any:
    """A result as mistral-common writes it: JSON when it parses, else the text."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def available_tools(tools: Sequence[ToolSchema]) -> str:
    return f"[AVAILABLE_TOOLS]{dumps([t.openai() for t in tools])}[/AVAILABLE_TOOLS]"


class MistralToolFormat(ToolCallFormat):
    name = "mistral"
    family = "Mistral 7B v0.3, Mixtral 8x22B, Mistral Nemo/Small/Large before tokenizer v11"
    result_role = "tool"
    template_result_role = "tool ([TOOL_RESULTS])"
    tools_role = "user"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return available_tools(tools)

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        if text and text.strip():
            raise ToolFormatError(
                "cannot express: prose beside tool calls (pre-v11 Mistral turns hold one or "
                "the other)"
            )
        body = []
        for c in calls:
            entry: dict[str, Any] = {"name": c.function.name, "arguments": args_value(c)}
            if c.id and c.id != "null":
                entry["id"] = c.id
            body.append(entry)
        return TOOL_CALLS + dumps(body)

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        prose, batches = scan(text, TOOL_CALLS, _read_batch)
        return prose, [call for batch in batches for call in batch]

    def render_result(self, name: str, call_id: str, result: str) -> str:
        body = dumps({"content": _json_content(result), "call_id": call_id})
        return f"[TOOL_RESULTS]{body}[/TOOL_RESULTS]"

    def render_results(self, results: Sequence[tuple[str, str, str]]) -> str:
        return "".join(self.render_result(n, i, r) for n, i, r in results)


def _read_batch(text: str, pos: int) -> tuple[list[ParsedCall], int]:
    value, end = read_json(text, pos, "[TOOL_CALLS] body")
    entries = value if isinstance(value, list) else [value]
    return [call_object(e, "arguments", "a [TOOL_CALLS] entry", pos) for e in entries], end


class MistralV11ToolFormat(ToolCallFormat):
    name = "mistral_v11"
    family = "Mistral Small 3.2, Magistral, Devstral, Mistral Medium 3 (tokenizer v11+)"
    result_role = "tool"
    template_result_role = "tool ([TOOL_RESULTS])"
    tools_role = "user"

    def render_tools(self, tools: Sequence[ToolSchema]) -> str:
        return available_tools(tools)

    def render_calls(
        self, text: str | None, calls: Sequence[ToolCall], tools: Sequence[ToolSchema] = ()
    ) -> str:
        for c in calls:
            if any(m in c.function.name for m in (ARGS, TOOL_CALLS, CALL_ID)):
                raise ToolFormatError(f"cannot express: tool name {c.function.name!r}")
        blocks = [f"{TOOL_CALLS}{c.function.name}{ARGS}{dumps(args_value(c))}" for c in calls]
        return (text or "") + "".join(blocks)

    def parse(self, text: str, tools: Sequence[ToolSchema] = ()) -> tuple[str, list[ParsedCall]]:
        return scan(text, TOOL_CALLS, _read_v11_call)

    def render_result(self, name: str, call_id: str, result: str) -> str:
        return f"[TOOL_RESULTS]{result}[/TOOL_RESULTS]"

    def render_results(self, results: Sequence[tuple[str, str, str]]) -> str:
        return "".join(self.render_result(n, i, r) for n, i, r in results)


def _read_v11_call(text: str, pos: int) -> tuple[ParsedCall, int]:
    end = text.find(ARGS, pos)
    if end < 0:
        raise ToolFormatError("[TOOL_CALLS] without [ARGS]", position=pos)
    head = text[pos:end]
    name, _, call_id = head.partition(CALL_ID)  # v11 proper writes [CALL_ID]id before [ARGS]
    if not name.strip() or TOOL_CALLS in head:
        raise ToolFormatError("[TOOL_CALLS] without a tool name", position=pos)
    value, after = read_json(text, end + len(ARGS), "[ARGS] body")
    return ParsedCall(name.strip(), args_text(value), call_id.strip() or None), after
