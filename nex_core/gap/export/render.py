"""Rendering a sample in one tool-invocation format, as OpenAI-shaped message dicts.

``native`` keeps tool calls structured and the tools in a separate list; every other format
puts the tool descriptions into the system prompt, the calls into the assistant's text and the
results into a user message, as a model without function calling would see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nex_core.gap.export.formats import TextFormat
from nex_core.gap.export.samples import Sample
from nex_core.toolformats import ToolCallFormat
from nex_core.trajectory.schema import Message


@dataclass
class Conversation:
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]


def _structured(fmt: ToolCallFormat) -> bool:
    return bool(getattr(fmt, "structured", False))


def render(sample: Sample, fmt: ToolCallFormat) -> Conversation:
    """The sample as this format's messages (raises ToolFormatError if it cannot be expressed)."""
    if _structured(fmt):
        return Conversation(
            [_native_message(m) for m in sample.messages], [t.openai() for t in sample.tools]
        )
    messages: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    pending: list[tuple[str, str, str]] = []

    def flush() -> None:
        if pending:
            messages.append({"role": "user", "content": fmt.result_message(pending).text()})
            pending.clear()

    system_done = False
    for m in sample.messages:
        if m.role == "tool":
            call_id = m.tool_call_id or ""
            pending.append((names.get(call_id, "tool"), call_id, m.text()))
            continue
        flush()
        if m.role == "system" and not system_done:
            extra = fmt.render_tools(sample.tools) if sample.tools else ""
            messages.append(
                {"role": "system", "content": "\n\n".join(p for p in (m.text(), extra) if p)}
            )
            system_done = True
        elif m.role == "assistant" and m.tool_calls:
            for c in m.tool_calls:
                names[c.id] = c.function.name
            messages.append(
                {"role": "assistant", "content": fmt.render_calls(m.text() or None, m.tool_calls)}
            )
        elif m.role == "assistant":
            text = m.text()
            answer = fmt.render_answer(text) if isinstance(fmt, TextFormat) else text
            messages.append({"role": "assistant", "content": answer})
        else:
            messages.append({"role": m.role, "content": m.text()})
    flush()
    if not system_done and sample.tools:
        messages.insert(0, {"role": "system", "content": fmt.render_tools(sample.tools)})
    return Conversation(messages, [])


def _native_message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.text()}
    if m.tool_calls:
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.function.name, "arguments": c.function.arguments},
            }
            for c in m.tool_calls
        ]
    if m.tool_call_id:
        out["tool_call_id"] = m.tool_call_id
    return out
