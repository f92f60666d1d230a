"""Approval in a team member's turn: the whole run pauses, the resume carries the turn on.

Agent Framework's group chat has no way for a member's function-approval request to leave the
chat (it dropped it: an empty turn, and the chat went on). So the team's view of a member
(:class:`~nex_agent_framework.teams.TeamView`) notices the member's run paused, keeps where it
stands (:class:`~nex_agent_framework.approval.TeamPause`) and the chat's termination condition
ends the chat there; the run ends ``interrupted`` with the member's requests (``path`` from the
team), the turn's ``team_turn`` step closed ``cancelled`` with ``metadata.pending``, as natively.

The resume (:func:`resume_team`) records the turn again (same input), resumes the member inside
it on its own conversation (the team's view and turn recorder stood aside: the turn is already
open), records its answer as the turn's, and — unless that ended the team — the team goes on
from the next turn in a new group chat of the same members, given the transcript so far (no
speaker is chosen for the carried turn again; round robin counts on from it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from nex_agent_framework.approval import Paused, TeamPause
from nex_agent_framework.messages import to_nex_messages
from nex_core.protocol.approval import APPROVAL_STOP_REASON, Decision
from nex_core.runtime.approval import close_paused, nest
from nex_core.trajectory.schema import OutcomeStatus

if TYPE_CHECKING:
    from nex_agent_framework.run import _ProtocolDriver, _Result
    from nex_agent_framework.teams import TeamState


def paused_result(workflow: Any, state: TeamState) -> _Result | None:
    """The outcome of a team's chat that stopped at a paused member turn, else ``None``."""
    from nex_agent_framework.run import _Result

    pause, state.paused = state.paused, None
    if pause is None:
        return None
    return _Result(
        OutcomeStatus.INTERRUPTED,
        None,
        APPROVAL_STOP_REASON,
        pending=pause.pending,
        paused=Paused(workflow, [], [], team=pause),
    )


@contextlib.contextmanager
def _bare(agent: Any) -> Iterator[None]:
    """``agent`` without its team view and turn recorder for the carried turn's runs."""
    from nex_agent_framework.record import TurnRecorder
    from nex_agent_framework.teams import TeamView

    kept = agent.middleware
    agent.middleware = [m for m in kept or [] if not isinstance(m, TeamView | TurnRecorder)]
    try:
        yield
    finally:
        agent.middleware = kept


async def resume_team(
    driver: _ProtocolDriver, workflow: Any, paused: Paused, decisions: dict[str, Decision]
) -> _Result:
    """Carry the paused member turn of a team on, then the team (see the module doc)."""
    from nex_agent_framework.record import workflow_agents
    from nex_agent_framework.run import _Result
    from nex_agent_framework.teams import group_chat, team_state

    state, pause = team_state(workflow), paused.team
    assert state is not None and pause is not None and driver.recorder is not None
    team = state.spec
    member = pause.paused.agent
    with driver.recorder.subagent(
        agent=team.name, child=pause.member, mode="team_turn", input=to_nex_messages(pause.view)
    ) as step:
        with _bare(member):
            result = await driver.resume(pause.paused, decisions)
        if result.paused is not None:  # paused again in the same turn
            close_paused(step, result.pending or [])
            state.paused = TeamPause(
                pause.member,
                pause.turn,
                pause.view,
                result.paused,
                nest(result.pending or [], team.name),
            )
            again = paused_result(workflow, state)
            assert again is not None
            return again
        step.output = result.final_output
    state.turns = pause.turn
    state.answered(pause.member, result.final_output)
    ended = state.stop_reason != "max_turns"  # a text mention
    if ended or state.turns >= team.termination.max_turns:
        return _Result(OutcomeStatus.COMPLETED, state.last_answer, state.stop_reason)
    state.views.clear()  # each member's view is rebuilt from the transcript it is given
    state.offset = state.turns
    chat = group_chat(state, workflow_agents(workflow), team.termination.max_turns - state.turns)
    await chat.run(list(state.transcript))
    return paused_result(workflow, state) or _Result(
        OutcomeStatus.COMPLETED, state.last_answer, state.stop_reason
    )


__all__ = ["paused_result", "resume_team"]
