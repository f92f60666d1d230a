"""``openai``: rows the OpenAI fine-tuning API accepts for chat models, and nothing else.

``{"messages": [...], "tools": [...], "parallel_tool_calls": bool}`` with only the keys the API
documents: messages carry ``role``, ``content``, ``name``, ``tool_calls`` (``arguments`` as a
JSON **string**), ``tool_call_id`` (and ``weight``, which nex does not set: every assistant
message is trained on). ``tools`` and ``parallel_tool_calls`` appear only when tools were
offered; ``parallel_tool_calls`` is written when the request set it. There is no metadata
column (the API would reject the key); the manifest and the other targets carry provenance.
Reasoning is not part of the API's training format and is left out.
"""

from __future__ import annotations

import json
from typing import Any

from nex_core.gap.export.columns import Column
from nex_core.gap.export.render import Conversation, Turn
from nex_core.gap.export.targets.base import SkipSample, Target, arguments_object
from nex_core.trajectory.schema import ToolCall

_ROLES = frozenset({"system", "user", "assistant", "tool"})


class OpenAITarget(Target):
    name = "openai"
    columns = {
        "messages": Column.JSON_LIST,
        "tools": Column.JSON_LIST,
        "parallel_tool_calls": Column.BOOL,
    }

    def row(self, conversation: Conversation, metadata: dict[str, str]) -> dict[str, Any]:
        row: dict[str, Any] = {"messages": [_message(t) for t in conversation.turns]}
        if conversation.tools:
            row["tools"] = [t.openai() for t in conversation.tools]
            parallel = conversation.params.get("parallel_tool_calls")
            if isinstance(parallel, bool):
                row["parallel_tool_calls"] = parallel
        return row


def _arguments_text(call: ToolCall) -> str:
    """The arguments as the model wrote them, once they are known to be a JSON object."""
    value = arguments_object(call)
    return call.function.arguments if value else json.dumps(value)


def _message(turn: Turn) -> dict[str, Any]:
    if turn.role not in _ROLES:
        raise SkipSample(f"role_{turn.role}_not_in_api")
    if turn.role == "tool":
        return {"role": "tool", "tool_call_id": turn.tool_call_id or "", "content": turn.content}
    out: dict[str, Any] = {"role": turn.role}
    if turn.content or not turn.tool_calls:
        out["content"] = turn.content
    if turn.name:
        out["name"] = turn.name
    if turn.tool_calls:
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.function.name, "arguments": _arguments_text(c)},
            }
            for c in turn.tool_calls
        ]
    return out
