"""Sample messages as chat templates read them.

Input is OpenAI-shaped messages (what the exporter writes). Templates are written against the
Hugging Face/TRL shape, so:
- tool-call ``arguments`` become JSON objects (a JSON string is parsed: templates that expect an
  object double-encode a string); arguments that are not a JSON object fail the sample, since a
  template would render them as something the model never wrote;
- ``content`` is always a string (``None`` and lists of text parts are joined), because templates
  concatenate it;
- reasoning is offered under both names templates read: ``reasoning_content`` (Qwen3-style) and
  ``thinking`` (gpt-oss).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from nex_core.errors import ChatTemplateError


def _text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            else:
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise ChatTemplateError(f"{where}: content part of type '{kind}' is not text")
        return "".join(parts)
    raise ChatTemplateError(f"{where}: content must be text, got {type(content).__name__}")


def _arguments(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError:
            raise ChatTemplateError(f"{where}: arguments are not valid JSON") from None
    if not isinstance(value, dict):
        raise ChatTemplateError(f"{where}: arguments are not a JSON object")
    return value


def template_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``messages`` in the shape chat templates read (see the module docstring)."""
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        where = f"message {i}"
        role = message.get("role")
        if not isinstance(role, str):
            raise ChatTemplateError(f"{where}: no role")
        m: dict[str, Any] = {k: v for k, v in message.items() if v is not None}
        m["content"] = _text(message.get("content"), f"{where} ({role})")
        calls = message.get("tool_calls") or []
        if calls:
            m["tool_calls"] = []
            for j, call in enumerate(calls):
                fn = call.get("function") if isinstance(call, Mapping) else None
                if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
                    raise ChatTemplateError(f"{where}, tool call {j}: no function name")
                args = _arguments(fn.get("arguments"), f"{where}, tool call '{fn['name']}'")
                m["tool_calls"].append(
                    {
                        "id": call.get("id") or f"call_{i}_{j}",
                        "type": "function",
                        "function": {"name": fn["name"], "arguments": args},
                    }
                )
        else:
            m.pop("tool_calls", None)
        reasoning = message.get("reasoning_content") or message.get("thinking")
        if role == "assistant" and reasoning:
            m["reasoning_content"] = m["thinking"] = _text(reasoning, f"{where} reasoning")
        out.append(m)
    names = tool_names(out)
    for m in out:
        if m["role"] == "tool" and "name" not in m and m.get("tool_call_id") in names:
            m["name"] = names[m["tool_call_id"]]
    return out


def tool_definitions(tools: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Tools as ``{"type": "function", "function": {...}}`` (bare function dicts are wrapped)."""
    out = []
    for i, tool in enumerate(tools or []):
        if not isinstance(tool, Mapping):
            raise ChatTemplateError(f"tool {i}: not an object")
        if "function" in tool:
            out.append(dict(tool))
        elif "name" in tool:
            out.append({"type": "function", "function": dict(tool)})
        else:
            raise ChatTemplateError(f"tool {i}: neither a function definition nor a function")
    return out


def tool_names(messages: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Call id → function name, for tool results that do not name their function."""
    names: dict[str, str] = {}
    for m in messages:
        for call in m.get("tool_calls") or []:
            names[str(call.get("id"))] = call["function"]["name"]
    return names
