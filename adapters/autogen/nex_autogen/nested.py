"""A pause for approval inside an agent used as a tool, carried out to the whole run.

AutoGen's ``AgentTool`` returns the child's run as the tool's value and its tool loop goes on,
so nothing of a child's pause (its turn ended with an
:class:`~nex_autogen.approval.ApprovalPauseMessage`) would reach the parent's run. nex builds
these tools (:class:`~nex_autogen.tools.ProtocolAgentTool`), so the pause is carried by hand:

- each turn of a :class:`~nex_autogen.agents.ProtocolAssistantAgent` opens a *sink* (a context
  variable: the tasks AutoGen starts for the turn's tool calls copy it);
- an agent-tool whose child paused puts the child's requests into the sink of the agent that
  called it, under the call's id (taken when the call starts, before the child opens its own);
- when the batch's results come back (AutoGen's ``ToolCallExecutionEvent``), a non-empty sink
  ends the calling agent's turn with an ``ApprovalPauseMessage`` of its own, holding those
  requests with its name put first in their ``path`` — so a pause travels up any number of
  levels, and the calls beside it in a parallel batch have finished (as natively).

The recording closes the paused call's tool step and sub-agent step ``cancelled`` with
``metadata.pending`` (:func:`nex_core.runtime.approval.close_paused`); the resume is
:mod:`nex_autogen.resume_nested`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import BaseChatMessage
from autogen_core.models import FunctionExecutionResult

from nex_autogen.approval import ApprovalPauseMessage
from nex_core.runtime.approval import nest

Sink = dict[str, list[dict[str, Any]]]
"""Requests of the paused children of one agent's turn, by the id of the call that ran each."""

CHILD_PAUSES: ContextVar[Sink | None] = ContextVar("nex_autogen_child_pauses", default=None)


def paused_requests(result: Any) -> list[dict[str, Any]] | None:
    """The requests a child's run paused with, ``None`` when it did not pause."""
    if not isinstance(result, TaskResult):
        return None
    chats = [m for m in result.messages if isinstance(m, BaseChatMessage)]
    if chats and isinstance(chats[-1], ApprovalPauseMessage):
        return list(chats[-1].pending)
    return None


def paused_requests_of(message: Any) -> list[dict[str, Any]] | None:
    """The requests an agent's answer paused with, ``None`` when it is no pause."""
    return list(message.pending) if isinstance(message, ApprovalPauseMessage) else None


def note_pause(sink: Sink | None, call_id: str | None, result: Any) -> None:
    """Tell the calling agent's turn that the child run by ``call_id`` paused, if it did."""
    requests = paused_requests(result)
    if requests is not None and sink is not None:
        sink[call_id or f"call-{len(sink)}"] = requests


def batch_pause(
    sink: Sink, results: Sequence[FunctionExecutionResult], agent: str
) -> ApprovalPauseMessage | None:
    """The calling agent's own pause once its batch ran: its children's requests in the
    model's order of the calls, nested under ``agent``; ``None`` when no child paused."""
    if not sink:
        return None
    order = [r.call_id for r in results if r.call_id in sink]
    order += [k for k in sink if k not in order]
    pending = nest([p for call_id in order for p in sink[call_id]], agent)
    names = ", ".join(str(p.get("tool")) for p in pending)
    return ApprovalPauseMessage(
        content=f"waiting for approval: {names}", source=agent, pending=pending
    )
