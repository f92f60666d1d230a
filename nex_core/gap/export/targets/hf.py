"""``hf``: rows as Hugging Face chat templates and TRL's SFT trainer read them.

``{"messages": [...], "tools": [...], "metadata": {...}}`` where

- an assistant tool call is ``{"id", "type": "function", "function": {"name", "arguments"}}``
  with ``arguments`` a JSON **object** (chat templates serialise it themselves; a string would
  be double-encoded);
- an assistant message that came with reasoning carries ``reasoning_content`` (what Qwen3-style
  templates read);
- a tool reply is ``{"role": "tool", "tool_call_id", "name", "content"}``;
- ``tools`` is a list of function definitions ``{"type": "function", "function": {"name",
  "description", "parameters"}}`` (empty for text formats, which describe the tools in the
  system prompt).

``messages`` and ``tools`` differ in shape from row to row, so Parquet stores them as JSON
(``datasets``' ``Json()``); see ``columns.py``.
"""

from __future__ import annotations

from typing import Any

from nex_core.gap.export.columns import Column
from nex_core.gap.export.render import Conversation, Turn
from nex_core.gap.export.targets.base import Target, arguments_object


class HFTarget(Target):
    name = "hf"
    columns = {"messages": Column.JSON_LIST, "tools": Column.JSON_LIST, "metadata": Column.STRINGS}

    def row(self, conversation: Conversation, metadata: dict[str, str]) -> dict[str, Any]:
        return {
            "messages": [_message(t) for t in conversation.turns],
            "tools": [t.openai() for t in conversation.tools],
            "metadata": metadata,
        }


def _message(turn: Turn) -> dict[str, Any]:
    out: dict[str, Any] = {"role": turn.role, "content": turn.content}
    if turn.role == "tool":
        out["tool_call_id"] = turn.tool_call_id or ""
        out["name"] = turn.name or ""
        return out
    if turn.name:
        out["name"] = turn.name
    if turn.tool_calls:
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.function.name, "arguments": arguments_object(c)},
            }
            for c in turn.tool_calls
        ]
    if turn.reasoning:
        out["reasoning_content"] = turn.reasoning
    return out
