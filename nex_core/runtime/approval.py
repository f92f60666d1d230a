"""The native runtime's side of human approval: where a run may pause, and what it records.

The contract is :mod:`nex_core.protocol.approval`. The loop asks :func:`pending` before it runs
a turn's batch of tool calls; a non-empty answer ends the run ``interrupted`` with those
requests, and :mod:`nex_core.runtime.resume` continues it from the recorded trajectory alone.

Where a pause can be resumed faithfully: in the root agent and in any agent control was handed
to (a handoff shares the root's conversation, so the resumed run carries it on from the paused
agent's last model call). An agent called as a tool, or a team member, runs inside a parent's
tool call or a team's turn whose own state (sibling calls of the parent's batch, the team's turn
order) the trajectory does not hold in a form a resume could continue without re-running or
skipping work, so :func:`check_spec` refuses approval tools there with a :class:`SpecError`
instead of pausing in a way no resume could honour.
"""

from __future__ import annotations

from typing import Any

from nex_core.errors import SpecError
from nex_core.protocol.approval import ApprovalRequest
from nex_core.protocol.spec import AgentSpec, ContextMode, TeamSpec
from nex_core.runtime.tools import ToolHandle
from nex_core.trajectory.recorder import Recorder, parse_arguments
from nex_core.trajectory.schema import OutcomeStatus, ToolCall

PAUSED_TURN_KEY = "paused_turn"
"""``Trajectory.metadata`` key: the index of the task turn a native run paused in, so a resume
in another process knows which turns are still to come."""


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


def check_spec(spec: AgentSpec | TeamSpec) -> bool:
    """Whether any tool of ``spec`` needs approval; raises :class:`SpecError` when one sits
    where the native runtime cannot resume a pause (see the module docstring)."""
    resumable: set[int] = set()
    if isinstance(spec, AgentSpec):
        stack = [spec]
        while stack:  # the root and everything reachable from it by handoffs (cycles too)
            agent = stack.pop()
            if id(agent) in resumable:
                continue
            resumable.add(id(agent))
            stack += [
                s.child for s in agent.sub_agents if s.mode is ContextMode.HANDOFF and s.agent
            ]
    found = False
    problems = []
    for agent in spec.walk():
        for tool in agent.tools:
            if tool.approval != "required":
                continue
            found = True
            if id(agent) not in resumable:
                where = "a team member" if isinstance(spec, TeamSpec) else "an agent-as-tool"
                problems.append(
                    f"agent '{agent.name}', tool '{tool.name}': approval: required is supported "
                    f"by the native runtime in the root agent and agents it hands off to, not "
                    f"in {where} (its pause could not be resumed faithfully)"
                )
    if problems:
        raise SpecError("; ".join(problems))
    return found


def mark_paused(recorder: Recorder, result: Any, turn: int) -> None:
    """Note on a paused run what its resume needs beyond the steps: the turn it paused in, and
    a session id (the paused run's own id when it had none) that the resumed run shares."""
    if result.status is not OutcomeStatus.INTERRUPTED:
        return
    trajectory = recorder.trajectory
    trajectory.metadata[PAUSED_TURN_KEY] = turn
    if trajectory.session_id is None:
        trajectory.session_id = trajectory.id
