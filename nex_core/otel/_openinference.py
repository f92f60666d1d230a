"""OpenInference's flattened attributes (``llm.input_messages.0.message.role`` ...) read back."""

from __future__ import annotations

import json
from typing import Any

from nex_core.otel import semconv as sc
from nex_core.trajectory.schema import Message, ToolCall, ToolSchema


def indexed(attributes: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """``{prefix}.<i>.<rest>`` keys as a list (by index) of ``{rest: value}`` dicts."""
    found: dict[int, dict[str, Any]] = {}
    start = prefix + "."
    for key, value in attributes.items():
        if not key.startswith(start):
            continue
        index, _, rest = key[len(start) :].partition(".")
        if index.isdigit() and rest:
            found.setdefault(int(index), {})[rest] = value
    return [found[i] for i in sorted(found)]


def _message(flat: dict[str, Any]) -> Message | None:
    role = flat.get(sc.OI_MESSAGE_ROLE)
    if not isinstance(role, str):
        return None
    role = {"human": "user", "ai": "assistant", "model": "assistant", "function": "tool"}.get(
        role, role
    )
    if role not in ("system", "user", "assistant", "tool"):
        return None
    role_: Any = role
    content = flat.get(sc.OI_MESSAGE_CONTENT)
    if content is None:
        parts = indexed(flat, sc.OI_MESSAGE_CONTENTS)
        texts = [str(p[sc.OI_CONTENT_TEXT]) for p in parts if sc.OI_CONTENT_TEXT in p]
        content = "".join(texts) if texts else None
    calls = []
    for i, call in enumerate(indexed(flat, sc.OI_MESSAGE_TOOL_CALLS)):
        arguments = call.get(sc.OI_CALL_ARGUMENTS, "{}")
        calls.append(
            ToolCall.make(
                str(call.get(sc.OI_CALL_ID) or f"call_{i + 1}"),
                str(call.get(sc.OI_CALL_NAME, "")),
                arguments if isinstance(arguments, str) else json.dumps(arguments),
            )
        )
    name = flat.get(sc.OI_MESSAGE_NAME)
    call_id = flat.get(sc.OI_MESSAGE_TOOL_CALL_ID)
    return Message(
        role=role_,
        content=None if content is None else str(content),
        name=name if isinstance(name, str) and role != "tool" else None,
        tool_calls=calls or None,
        tool_call_id=str(call_id) if role == "tool" and call_id is not None else None,
    )


def messages(attributes: dict[str, Any], prefix: str) -> list[Message]:
    out = []
    for flat in indexed(attributes, prefix):
        message = _message(flat)
        if message is not None:
            out.append(message)
    return out


def tools(attributes: dict[str, Any]) -> list[ToolSchema]:
    out = []
    for flat in indexed(attributes, sc.OI_TOOLS):
        raw = flat.get(sc.OI_TOOL_JSON_SCHEMA)
        try:
            data = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            continue
        fn: dict[str, Any] = data["function"] if isinstance(data.get("function"), dict) else data
        out.append(
            ToolSchema(
                name=str(fn.get("name", "")),
                description=str(fn.get("description") or ""),
                parameters=fn.get("parameters") or {"type": "object", "properties": {}},
            )
        )
    return out


SAMPLING_KEYS = (
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "seed",
    "stop",
    "frequency_penalty",
    "presence_penalty",
)


def invocation_params(attributes: dict[str, Any]) -> dict[str, Any]:
    raw = attributes.get(sc.OI_INVOCATION_PARAMETERS)
    try:
        data = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: data[k] for k in SAMPLING_KEYS if data.get(k) is not None}


def value_text(value: Any) -> Any:
    """``input.value``/``output.value``: JSON where it parses, else the text."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def tool_message_of(value: Any) -> tuple[str | None, Any]:
    """A tool span's ``output.value`` as (call id, result): instrumentors of LangChain dump the
    ``ToolMessage`` (``{"type": "tool", "data": {"content", "tool_call_id"}}`` or flat)."""
    data = value_text(value)
    if isinstance(data, dict):
        inner: dict[str, Any] = data["data"] if isinstance(data.get("data"), dict) else data
        if inner.get("type") == "tool" or "tool_call_id" in inner:
            call_id = inner.get("tool_call_id")
            return (str(call_id) if call_id else None), inner.get("content")
    return None, data
