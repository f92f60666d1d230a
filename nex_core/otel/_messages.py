"""Chat messages between nex's OpenAI shape and the GenAI conventions' message JSON.

The conventions write a message as ``{"role", "parts": [...], "name"?}`` (output messages add
``finish_reason``), with parts ``text``, ``reasoning``, ``tool_call`` and
``tool_call_response``. System messages stay in ``gen_ai.input.messages`` in their place:
a chat request carries them inline, and moving them to ``gen_ai.system_instructions`` would
lose where they stood.
"""

from __future__ import annotations

import json
from typing import Any

from nex_core.trajectory.schema import Message, ToolCall, ToolSchema


def _arguments_value(raw: str) -> Any:
    """Arguments as an object where they parse, else the text the model wrote."""
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        return raw


def message_to_genai(message: Message) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if message.reasoning:
        parts.append({"type": "reasoning", "content": message.reasoning})
    if message.role == "tool":
        parts.append(
            {"type": "tool_call_response", "id": message.tool_call_id, "response": message.text()}
        )
    elif isinstance(message.content, list):
        for part in message.content:
            if part.get("type") == "text":
                parts.append({"type": "text", "content": str(part.get("text", ""))})
            else:  # images and the like: kept as the provider wrote them
                parts.append(dict(part))
    elif message.content:
        parts.append({"type": "text", "content": message.content})
    for call in message.tool_calls or []:
        parts.append(
            {
                "type": "tool_call",
                "id": call.id,
                "name": call.function.name,
                "arguments": _arguments_value(call.function.arguments),
            }
        )
    out: dict[str, Any] = {"role": message.role, "parts": parts}
    if message.name:
        out["name"] = message.name
    return out


def messages_to_genai(messages: list[Message]) -> str:
    return json.dumps([message_to_genai(m) for m in messages], ensure_ascii=False)


def tools_to_genai(tools: list[ToolSchema]) -> str:
    return json.dumps(
        [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
            }
            for t in tools
        ],
        ensure_ascii=False,
    )


class MessageShapeError(ValueError):
    """A message in a span attribute does not have the shape the conventions give it."""


def _text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def message_from_genai(data: Any) -> Message:
    if not isinstance(data, dict) or not isinstance(data.get("role"), str):
        raise MessageShapeError("a message must be an object with a 'role'")
    role = data["role"]
    if role not in ("system", "user", "assistant", "tool"):
        role = "user" if role == "human" else "assistant" if role in ("ai", "model") else role
    if role not in ("system", "user", "assistant", "tool"):
        raise MessageShapeError(f"unknown message role '{data['role']}'")
    texts: list[str] = []
    calls: list[ToolCall] = []
    reasoning: list[str] = []
    call_id: str | None = None
    parts = data.get("parts")
    if parts is None and "content" in data:  # the older event-style shape: {"role", "content"}
        parts = [{"type": "text", "content": data["content"]}] if data["content"] else []
    if not isinstance(parts, list):
        raise MessageShapeError("a message's 'parts' must be a list")
    for part in parts:
        if not isinstance(part, dict):
            raise MessageShapeError("a message part must be an object")
        kind = part.get("type")
        if kind == "text":
            texts.append(_text_of(part.get("content", "")))
        elif kind == "reasoning":
            reasoning.append(_text_of(part.get("content", "")))
        elif kind == "tool_call":
            arguments = part.get("arguments", {})
            calls.append(
                ToolCall.make(
                    str(part.get("id") or f"call_{len(calls) + 1}"),
                    str(part.get("name", "")),
                    arguments if isinstance(arguments, str | dict) else json.dumps(arguments),
                )
            )
        elif kind == "tool_call_response":
            call_id = None if part.get("id") is None else str(part["id"])
            texts.append(_text_of(part.get("response", "")))
    return Message(
        role=role,
        content="".join(texts) if texts else None,
        name=data.get("name") if isinstance(data.get("name"), str) else None,
        tool_calls=calls or None,
        tool_call_id=call_id if role == "tool" else None,
        reasoning="".join(reasoning) if reasoning else None,
    )


def messages_from_genai(text: str) -> list[Message]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MessageShapeError(f"not JSON ({exc})") from None
    if not isinstance(data, list):
        raise MessageShapeError("messages must be a JSON array")
    return [message_from_genai(m) for m in data]


def tools_from_genai(text: str) -> list[ToolSchema]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MessageShapeError(f"not JSON ({exc})") from None
    if not isinstance(data, list):
        raise MessageShapeError("tool definitions must be a JSON array")
    tools = []
    for item in data:
        if not isinstance(item, dict):
            raise MessageShapeError("a tool definition must be an object")
        fn: dict[str, Any] = item["function"] if isinstance(item.get("function"), dict) else item
        tools.append(
            ToolSchema(
                name=str(fn.get("name", "")),
                description=str(fn.get("description") or ""),
                parameters=fn.get("parameters") or {"type": "object", "properties": {}},
            )
        )
    return tools


class PrefixParser:
    """``messages_from_genai`` for the model calls of one trace, in O(total size).

    Each model call's ``gen_ai.input.messages`` repeats the conversation so far, so parsing every
    one whole is quadratic in the run's length. A JSON array whose text begins with an earlier
    array's text (less its closing bracket) and goes on with ``,`` holds that array's messages
    first: only the rest is parsed, and the earlier ``Message`` objects are shared, as the
    trajectory's own requests share theirs.
    """

    def __init__(self, keep: int = 8) -> None:
        self._recent: list[tuple[str, list[Message]]] = []
        self._keep = keep

    def parse(self, text: str) -> list[Message]:
        stripped = text.rstrip()
        messages: list[Message] | None = None
        for earlier, parsed in self._recent:
            head = earlier.rstrip()[:-1].rstrip()  # "[m1, m2" of "[m1, m2]"
            if len(head) > 1 and stripped.startswith(head):
                rest = stripped[len(head) :].lstrip()
                if rest.startswith(","):
                    try:
                        messages = parsed + messages_from_genai("[" + rest[1:])
                    except MessageShapeError:
                        messages = None
                    break
                if rest == "]":
                    messages = list(parsed)
                    break
        if messages is None:
            messages = messages_from_genai(text)
        self._recent.insert(0, (stripped, messages))
        del self._recent[self._keep :]
        return messages
