"""The native runtime's side of human approval: where a run may pause, and what it records.

The contract is :mod:`nex_core.protocol.approval`. The loop asks :func:`pending` before it runs
a turn's batch of tool calls; a non-empty answer ends the run ``interrupted`` with those
requests, and :mod:`nex_core.runtime.resume` continues it from the recorded trajectory alone.

A pause may happen in any agent: the root, an agent control was handed to, an agent called as
a tool, a team member. A pause inside an agent-as-tool travels up as :class:`Paused` through the
parent's tool call (its siblings in a parallel batch finish; later calls of a sequential batch
do not start), and a member's pause ends the team's turn; each enclosing tool step and sub-agent
step is closed ``cancelled`` with the waiting call ids under :data:`PENDING_KEY`, so the resume
(:mod:`nex_core.runtime.paused`) finds the way down to the paused agent in the steps.
"""

from __future__ import annotations

from typing import Any

from nex_core.protocol.approval import ApprovalRequest
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.runtime.tools import ToolHandle
from nex_core.trajectory.recorder import Recorder, parse_arguments
from nex_core.trajectory.schema import (
    OutcomeStatus,
    StepStatus,
    SubAgentStep,
    ToolCall,
    ToolStep,
    utcnow,
)

PAUSED_TURN_KEY = "paused_turn"
"""``Trajectory.metadata`` key: the index of the task turn a native run paused in, so a resume
in another process knows which turns are still to come."""

PENDING_KEY = "pending"
"""``metadata`` key of a tool step or sub-agent step left open by a pause below it: the
``tool_call_id``s of the requests waiting inside it."""

RESUMED_BATCH_KEY = "resumed_batch"
"""``metadata`` key of an agent-as-tool call a resumed run carries on: the calling agent's
waiting batch (conversation, calls, results of the calls that had run), so that a second pause
inside it can be resumed from this run alone (its model call is in an earlier run)."""


class Paused(Exception):
    """An agent called as a tool paused for approval; carries the requests (as JSON)."""

    def __init__(self, pending: list[Any]) -> None:
        super().__init__(f"paused for approval of {len(pending)} call(s)")
        self.pending = pending


def needs_approval(handle: ToolHandle | None) -> bool:
    return handle is not None and handle.tool is not None and handle.tool.approval == "required"


def pending(
    agent: AgentSpec, handles: dict[str, ToolHandle], calls: list[ToolCall]
) -> list[dict[str, Any]]:
    """The approval requests (as JSON) of a batch, in the model's order; empty when none of
    its calls needs approval."""
    out = []
    for call in calls:
        if needs_approval(handles.get(call.name)):
            arguments, _ = parse_arguments(call.function.arguments)
            request = ApprovalRequest(
                agent=agent.name, tool=call.name, tool_call_id=call.id, arguments=arguments or {}
            )
            out.append(request.model_dump(mode="json"))
    return out


def nest(pending: list[Any], outer: str) -> list[Any]:
    """``pending`` as seen from the agent (or team) ``outer`` enclosing it: its name first in
    each request's ``path``."""
    out = []
    for p in pending:
        path = p.get("path") or [p["agent"]]
        out.append({**p, "path": [outer, *path]})
    return out


def check_spec(spec: AgentSpec | TeamSpec) -> bool:
    """Whether any tool of ``spec`` needs approval (else the loop never asks)."""
    return any(t.approval == "required" for a in spec.walk() for t in a.tools)


def close_paused(step: ToolStep | SubAgentStep, pending: list[Any]) -> None:
    """Close a step a pause below it leaves unfinished: ``cancelled`` and no error (it neither
    failed nor ended in this run; the resumed run carries it on), with the waiting call ids.
    Set as :meth:`Recorder.finish` closes a step still running, without an error to invent.
    Called again for the same step (a recorder closing it request by request), it adds the
    ids it does not hold yet."""
    waiting: list[str] = step.metadata.setdefault(PENDING_KEY, [])
    waiting += [p["tool_call_id"] for p in pending if p["tool_call_id"] not in waiting]
    step.status = StepStatus.CANCELLED
    step.error = None
    step.ended_at = step.ended_at or utcnow()


def mark_paused(recorder: Recorder, result: Any, turn: int) -> None:
    """Note on a paused run what its resume needs beyond the steps: the turn it paused in, and
    a session id (the paused run's own id when it had none) that the resumed run shares."""
    if result.status is not OutcomeStatus.INTERRUPTED:
        return
    trajectory = recorder.trajectory
    trajectory.metadata[PAUSED_TURN_KEY] = turn
    if trajectory.session_id is None:
        trajectory.session_id = trajectory.id
