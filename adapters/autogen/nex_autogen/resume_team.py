"""Resuming a team run (round robin, selector) that paused in a member's turn.

The paused run is read as the native runtime reads it (:func:`nex_core.runtime.paused.rebuild`:
the team's transcript before the paused turn, the turn's index, the member's waiting batch).
The resume builds the team again and:

- records the paused member's turn again as a ``team_turn`` step (the same view as its input;
  no speaker is chosen again, so a selector's model is not asked twice) and carries it on
  under it: the member's batch runs under the decisions (:mod:`nex_autogen.resume_nested`, so
  a pause inside an agent the member uses as a tool resumes too) and the member answers;
- sets the group chat where that turn left it: every member's model context gets its view of
  the transcript with the answer (what AgentChat's broadcast would have put there; a
  ``team_view`` agent keeps only the answers), and the manager, through AgentChat's own
  ``save_state``/``load_state``, its message thread, the turns taken and the next speaker;
- and lets ``drive`` run the team on with no task, then the task's later turns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autogen_agentchat.base import Response
from autogen_agentchat.messages import TextMessage
from autogen_agentchat.teams import BaseGroupChat
from autogen_core import CancellationToken

from nex_autogen.agents import ProtocolAssistantAgent
from nex_autogen.messages import USER_SOURCE, to_autogen_messages
from nex_autogen.nested import paused_requests_of
from nex_autogen.resume import BatchStarts
from nex_autogen.resume_nested import continue_frame
from nex_core.errors import AdapterError
from nex_core.protocol.approval import APPROVAL_STOP_REASON, Decision
from nex_core.runtime.approval import PENDING_KEY, close_paused, nest
from nex_core.runtime.paused import TeamPause, member_view
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import (
    Message,
    Outcome,
    OutcomeStatus,
    SubAgentStep,
    Trajectory,
)


async def continue_team(
    team: BaseGroupChat,
    state: TeamPause,
    paused: Trajectory,
    decisions: Mapping[str, Decision],
    recorder: Recorder,
    starts: BatchStarts,
) -> Outcome | None:
    """Carry the paused member's turn on and set ``team`` where it left off; an outcome when the
    team stops there (the member paused again, or its turn ended the team's run)."""
    agents = {p.name: p for p in team._participants if isinstance(p, ProtocolAssistantAgent)}
    member = agents.get(state.member.name)
    if member is None:
        raise AdapterError(
            f"cannot resume trajectory {paused.id}: member '{state.member.name}' is not an "
            f"AssistantAgent of team '{team.name}'"
        )
    view = next(
        (
            s.input
            for s in reversed(paused.steps)
            if isinstance(s, SubAgentStep) and s.mode == "team_turn" and PENDING_KEY in s.metadata
        ),
        member_view(member.name, state.transcript),
    )
    step = recorder.begin_subagent(
        agent=team.name, child=member.name, mode="team_turn", input=list(view)
    )
    with recorder.under(step.id):
        _, again = await continue_frame(member, state.frame, decisions, recorder, starts)
        answer = None
        if not again:
            # The agent's own turn, not the recording's wrapper of it (this step is the turn).
            turn = ProtocolAssistantAgent.on_messages_stream(member, [], CancellationToken())
            async for item in turn:
                if isinstance(item, Response):
                    answer = item.chat_message
            again = paused_requests_of(answer) or []
    if again:
        close_paused(step, again)
        return Outcome(
            status=OutcomeStatus.INTERRUPTED,
            stop_reason=APPROVAL_STOP_REASON,
            pending=nest(again, team.name),
        )
    assert answer is not None
    text = answer.to_model_text()
    recorder.end_subagent(step, text)
    transcript = [*state.transcript, Message.assistant(text, name=member.name)]
    for name, agent in agents.items():
        await agent.model_context.clear()
        for message in to_autogen_messages(member_view(name, transcript), name):
            await agent.model_context.add_message(message)
    turns, stop = state.turn + 1, state.team.termination
    ended = None
    if stop.text_mention and stop.text_mention in text:
        ended = f"text_mention:{stop.text_mention}"
    elif turns >= stop.max_turns:
        ended = "max_turns"
    # A team that ended with this turn starts its next run afresh, as AgentChat resets it.
    await _set_manager(team, transcript, 0 if ended else turns, member.name)
    if ended is not None:  # the team does not go on: the task's next turn (if any) does
        return Outcome(status=OutcomeStatus.COMPLETED, final_output=text, stop_reason=ended)
    return None


async def _set_manager(
    team: BaseGroupChat, transcript: list[Message], turns: int, speaker: str
) -> None:
    saved = dict(await team.save_state())
    members = dict(saved["agent_states"])
    manager = team._group_chat_manager_name
    thread: list[Mapping[str, Any]] = [
        TextMessage(content=m.text(), source=m.name or USER_SOURCE).dump() for m in transcript
    ]
    update: dict[str, Any] = {"message_thread": thread, "current_turn": turns}
    if "next_speaker_index" in members[manager]:  # round robin: the one after the speaker
        names = [p.name for p in team._participants]
        update["next_speaker_index"] = (names.index(speaker) + 1) % len(names)
    else:  # a selector asks its model, on the thread; only the last speaker is state
        update["previous_speaker"] = speaker
    members[manager] = {**members[manager], **update}
    await team.load_state({**saved, "agent_states": members})
