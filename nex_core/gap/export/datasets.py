"""Dataset layouts: how a rendered conversation becomes one row.

``openai-chat``  ``{"messages": [...], "tools": [...]}`` — OpenAI fine-tuning's chat format and
                 what Hugging Face TRL's SFT trainer reads (a ``messages`` column, optional
                 ``tools``).
``sharegpt``     ``{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation",
                 "value": ...}], "system": ..., "tools": "<JSON>"}`` as LLaMA-Factory reads it.

Both carry a ``metadata`` mapping (task id, agent, backend, model, format, trajectory id).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

from nex_core.gap.export.render import Conversation


class DatasetFormat(ABC):
    name: str

    @abstractmethod
    def row(self, conversation: Conversation, metadata: dict[str, Any]) -> dict[str, Any]:
        """One dataset row."""


class OpenAIChat(DatasetFormat):
    name = "openai-chat"

    def row(self, conversation: Conversation, metadata: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {"messages": conversation.messages}
        if conversation.tools:
            row["tools"] = conversation.tools
        row["metadata"] = metadata
        return row


_ROLE = {"user": "human", "assistant": "gpt"}


class ShareGPT(DatasetFormat):
    name = "sharegpt"

    def row(self, conversation: Conversation, metadata: dict[str, Any]) -> dict[str, Any]:
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

        for m in conversation.messages:
            if m["role"] == "tool":
                observations.append(m["content"])
                continue
            flush()
            if m["role"] == "system":
                system = m["content"]
            elif m["role"] == "assistant" and m.get("tool_calls"):
                if m["content"]:
                    turns.append({"from": "gpt", "value": m["content"]})
                calls = [
                    {"name": c["function"]["name"], "arguments": _loads(c["function"]["arguments"])}
                    for c in m["tool_calls"]
                ]
                value = calls[0] if len(calls) == 1 else calls
                turns.append(
                    {"from": "function_call", "value": json.dumps(value, ensure_ascii=False)}
                )
            else:
                turns.append({"from": _ROLE.get(m["role"], m["role"]), "value": m["content"]})
        flush()
        return {
            "conversations": turns,
            "system": system,
            "tools": json.dumps(conversation.tools, ensure_ascii=False),
            "metadata": metadata,
        }


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


BUILTIN_DATASETS: dict[str, Any] = {"openai-chat": OpenAIChat, "sharegpt": ShareGPT}
