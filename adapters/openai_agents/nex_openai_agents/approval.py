"""Tool approval on the Agents SDK, held to nex's contract (``nex_core.protocol.approval``).

A tool with ``approval: required`` is built as a ``FunctionTool`` with ``needs_approval=True``:
the SDK then ends the run with ``result.interruptions`` (``ToolApprovalItem``) instead of running
the call, and ``result.to_state()`` is a ``RunState`` that ``state.approve()/reject()`` and
``Runner.run(agent, state)`` continue.

Two places where the SDK differs from the contract, and what the adapter does:

- **The rest of the batch.** The SDK runs the calls of the same model turn that need no approval
  *before* it pauses (their results are in the paused run). The contract pauses before the whole
  batch. A built agent that has approval tools therefore gives its other tools a
  ``needs_approval`` callable (:class:`HeldWithBatch`) that holds a call back exactly when its
  batch contains a call needing approval; a held call is not pending (the human is not asked),
  and the resume approves it, so the whole batch runs after the decision, in the model's order.
  An app recorded with ``record``/``instrument`` keeps the SDK's own behaviour, and its recording
  shows what really ran.
- **Edited arguments.** The SDK approves or rejects a call; it cannot run it with other
  arguments. A built tool reads the human's arguments for its call id from :class:`Edits` (the
  model's call in the conversation stays as the model wrote it, the tool step records the
  arguments the tool ran with).

A rejected call's text is passed as the SDK's ``rejection_message``, so the model reads exactly
:func:`~nex_core.protocol.approval.rejection_message` as the call's output.

The paused ``RunState`` is kept in the paused trajectory's metadata (``state.to_json()``), not in
process memory: the resume needs only the paused trajectory and the spec, so it works across
processes (``nex run --resume``) as the native runtime's does, at the price of a larger record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agents import FunctionTool, RunContextWrapper
from agents.items import ToolApprovalItem

from nex_core.protocol.approval import ApprovalRequest
from nex_core.trajectory.schema import LLMResponse

METADATA_KEY = "openai_agents"
"""Key of the paused trajectory's metadata that holds ``{"run_state": ..., "turn": N}``."""


@dataclass
class Batch:
    """The tool calls of an agent's latest model answer that its approval tools hold back."""

    approval_tools: frozenset[str]
    held: set[str] = field(default_factory=set)
    """Call ids of that answer when it calls an approval tool (all of them), else empty."""

    def saw(self, answer: LLMResponse) -> None:
        calls = answer.message.tool_calls or []
        if any(c.function.name in self.approval_tools for c in calls):
            self.held = {c.id for c in calls}
        else:
            self.held = set()


class HeldWithBatch:
    """``needs_approval`` of a tool that needs none itself: true while its call shares a model
    turn with a call that does (so the SDK pauses before the whole batch, as nex's contract says).
    A class, not a closure, so the pause can tell held calls from the ones a human decides."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch

    async def __call__(self, ctx: RunContextWrapper[Any], params: Any, call_id: str) -> bool:
        return call_id in self.batch.held


@dataclass
class Edits:
    """The human's arguments for edited calls, by call id (read by the built tools)."""

    arguments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def take(self, call_id: str | None) -> dict[str, Any] | None:
        return self.arguments.pop(call_id, None) if call_id else None


def is_held(item: ToolApprovalItem) -> bool:
    """Whether ``item`` waits only because its batch does (no human decision is asked)."""
    tool = _tool_of(item)
    return tool is not None and isinstance(tool.needs_approval, HeldWithBatch)


def pending_requests(items: Iterable[ToolApprovalItem]) -> list[dict[str, Any]]:
    """The ``Outcome.pending`` of a paused run: one :class:`ApprovalRequest` per call a human
    must decide, in the model's order."""
    out: list[dict[str, Any]] = []
    for item in items:
        if is_held(item):
            continue
        out.append(
            ApprovalRequest(
                agent=item.agent.name,
                tool=item.tool_name or _raw(item, "name") or "",
                tool_call_id=str(_raw(item, "call_id") or ""),
                arguments=_arguments(_raw(item, "arguments")),
            ).model_dump(mode="json")
        )
    return out


def call_id_of(item: ToolApprovalItem) -> str:
    return str(_raw(item, "call_id") or "")


def _tool_of(item: ToolApprovalItem) -> FunctionTool | None:
    name = item.tool_name or _raw(item, "name")
    for tool in getattr(item.agent, "tools", ()):
        if isinstance(tool, FunctionTool) and tool.name == name:
            return tool
    return None


def _raw(item: ToolApprovalItem, key: str) -> Any:
    raw = item.raw_item
    return raw.get(key) if isinstance(raw, dict) else getattr(raw, key, None)


def _arguments(text: Any) -> dict[str, Any]:
    from nex_core.trajectory.recorder import parse_arguments

    if isinstance(text, dict):
        return text
    parsed, _ = parse_arguments(str(text or "{}"))
    return parsed or {}
