"""Rendering a sample in one tool-invocation format: a target-neutral :class:`Conversation`.

``native`` (any format whose ``structured`` attribute is true) keeps tool calls structured and
the tools in a separate list; every other format puts the tool descriptions into the system
prompt (``system_prompt``, as the native runtime does), the calls into the assistant's text and
each batch of results into the turns ``result_messages`` gives (one user turn holding the
wrapped batch, or one tool turn per result for families whose template wraps results), as a
model without function calling would see them. Reasoning the provider returned separately
stays beside the content in every format; each export target decides whether and how to write it.

A format that cannot express a sample (one call per turn given a parallel batch, a tool name it
cannot spell ...) raises :class:`~nex_core.errors.ToolFormatError` from ``render_calls``; the
exporter counts the sample as skipped under that message. Nothing else is asked of a format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nex_core.gap.export.samples import Sample
from nex_core.toolformats import ToolCallFormat
from nex_core.trajectory.schema import Message, ToolCall, ToolSchema


@dataclass(frozen=True)
class Turn:
    """One message of a rendered conversation."""

    role: str
    """``system``, ``user``, ``assistant``, ``tool`` (or a role a format's results use)."""
    content: str
    name: str | None = None
    """The speaker's name; on a tool turn, the name of the tool that answered."""
    tool_calls: tuple[ToolCall, ...] = ()
    """Structured formats only: the calls, arguments exactly as recorded (raw text)."""
    tool_call_id: str | None = None
    reasoning: str | None = None
    """Assistant only: reasoning the provider returned beside the content."""


@dataclass(frozen=True)
class Conversation:
    """A sample as one format renders it; export targets turn it into rows."""

    turns: list[Turn]
    tools: list[ToolSchema]
    """Tools offered as a separate list (structured formats); text formats describe them in
    the system prompt and leave this empty."""
    format: str
    params: dict[str, Any] = field(default_factory=dict)
    """Request parameters of the sample's model call (``parallel_tool_calls`` ...)."""


def render(sample: Sample, fmt: ToolCallFormat) -> Conversation:
    """The sample in this format (raises ToolFormatError if the format cannot express it)."""
    if fmt.structured:
        return _render_structured(sample, fmt)
    turns: list[Turn] = []
    names: dict[str, str] = {}
    pending: list[tuple[str, str, str]] = []

    def flush() -> None:
        # A family whose template wraps results itself (result_role "tool": Llama's ipython,
        # GLM's observation, Mistral's [TOOL_RESULTS] ...) gets one tool turn per result, so
        # the chat template writes its own delimiters; the others get the one user turn the
        # format renders.
        if pending:
            tool_names = {call_id: name for name, call_id, _ in pending}
            for message in fmt.result_messages(pending):
                if message.role == "tool":
                    call_id = message.tool_call_id or ""
                    name = tool_names.get(call_id)
                    turns.append(Turn("tool", message.text(), name=name, tool_call_id=call_id))
                else:
                    turns.append(Turn(message.role, message.text(), name=message.name))
            pending.clear()

    system_done = False
    for m in sample.messages:
        if m.role == "tool":
            call_id = m.tool_call_id or ""
            pending.append((names.get(call_id, "tool"), call_id, m.text()))
            continue
        flush()
        if m.role == "system" and not system_done:
            turns.append(Turn("system", fmt.system_prompt(m.text(), sample.tools), name=m.name))
            system_done = True
        elif m.role == "assistant" and m.tool_calls:
            for c in m.tool_calls:
                names[c.id] = c.function.name
            text = fmt.render_calls(m.text() or None, m.tool_calls, sample.tools)
            turns.append(Turn("assistant", text, name=m.name, reasoning=m.reasoning or None))
        elif m.role == "assistant":
            text = fmt.render_answer(m.text())
            turns.append(Turn("assistant", text, name=m.name, reasoning=m.reasoning or None))
        else:
            turns.append(Turn(m.role, m.text(), name=m.name))
    flush()
    if not system_done and sample.tools:
        turns.insert(0, Turn("system", fmt.system_prompt("", sample.tools)))
    return Conversation(turns, [], fmt.name, dict(sample.params))


def _render_structured(sample: Sample, fmt: ToolCallFormat) -> Conversation:
    names: dict[str, str] = {}
    turns = []
    for m in sample.messages:
        for c in m.tool_calls or ():
            names[c.id] = c.function.name
        turns.append(_structured_turn(m, names))
    return Conversation(turns, list(sample.tools), fmt.name, dict(sample.params))


def _structured_turn(m: Message, names: dict[str, str]) -> Turn:
    if m.role == "tool":
        call_id = m.tool_call_id or ""
        return Turn("tool", m.text(), name=names.get(call_id), tool_call_id=call_id)
    return Turn(
        m.role,
        m.text(),
        name=m.name,
        tool_calls=tuple(m.tool_calls or ()),
        reasoning=(m.reasoning or None) if m.role == "assistant" else None,
    )
