"""``sharegpt``: ``{"conversations": [{"from", "value"}], "system", "tools", "metadata"}``.

The layout LLaMA-Factory reads: turns ``human`` / ``gpt`` / ``function_call`` / ``observation``;
a ``function_call`` value is the JSON of ``{"name", "arguments": {...}}`` (a list of them for a
parallel batch); the observations of one batch are one turn (a JSON list when there are several);
``tools`` is the JSON text of the function definitions.
"""

from __future__ import annotations

import json
from typing import Any

from nex_core.gap.export.columns import Column
from nex_core.gap.export.render import Conversation
from nex_core.gap.export.targets.base import Target, arguments_object

_ROLE = {"user": "human", "assistant": "gpt"}


class ShareGPTTarget(Target):
    name = "sharegpt"
    columns = {
        "conversations": Column.JSON_LIST,
        "system": Column.STRING,
        "tools": Column.STRING,
        "metadata": Column.STRINGS,
    }

    def row(self, conversation: Conversation, metadata: dict[str, str]) -> dict[str, Any]:
        system = ""
        turns: list[dict[str, str]] = []
        observations: list[str] = []

        def flush() -> None:
            if observations:
                value = (
                    observations[0]
                    if len(observations) == 1
                    else json.dumps(observations, ensure_ascii=False)
                )
                turns.append({"from": "observation", "value": value})
                observations.clear()

        for t in conversation.turns:
            if t.role == "tool":
                observations.append(t.content)
                continue
            flush()
            if t.role == "system" and not system:
                system = t.content
            elif t.role == "assistant" and t.tool_calls:
                if t.content:
                    turns.append({"from": "gpt", "value": t.content})
                calls = [
                    {"name": c.function.name, "arguments": arguments_object(c)}
                    for c in t.tool_calls
                ]
                value = calls[0] if len(calls) == 1 else calls
                turns.append(
                    {"from": "function_call", "value": json.dumps(value, ensure_ascii=False)}
                )
            else:
                turns.append({"from": _ROLE.get(t.role, t.role), "value": t.content})
        flush()
        return {
            "conversations": turns,
            "system": system,
            "tools": json.dumps([t.openai() for t in conversation.tools], ensure_ascii=False),
            "metadata": metadata,
        }
