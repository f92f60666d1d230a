"""Resuming an AutoGen run of a spec that paused for approval, from its trajectory alone.

The native runtime's way (``nex_core.runtime.resume``), not an in-process store: the paused
agent's last model call holds the conversation exactly as AutoGen sent it (its model context,
after the system message) and the answer whose batch waits. The resume builds the spec again
with the given model, puts that conversation back into the new agent's model context (the
answer as the ``AssistantMessage`` AutoGen would have added), runs the batch under the human's
decisions, adds the results as AutoGen's ``FunctionExecutionResultMessage`` and lets the agent
go on (``run()`` with no new task). So ``nex run --resume FILE --backend autogen`` works in
another process, a second resume of the same pause is simply another branch of the session,
and MCP tools get the servers of the resumed run.

In a spec that hands off (built as a ``Swarm``) the paused agent is one of the Swarm's members:
the batch runs in it as above, every other member's model context gets the same conversation
(a handoff shares the conversation: what the protocol's history is at the pause), and the
Swarm's manager is told through AutoGen's own ``save_state``/``load_state`` that the paused
agent speaks next — or, when the batch handed off, that the agent handed to does, with the
``HandoffMessage`` waiting in its buffer (its turn is then the handoff step, as natively).

The batch runs through AutoGen's own ``_execute_tool_call`` on the agent's (recorded)
workbench, as its tool loop runs it: approved calls as the model wrote them, edited calls with
the human's arguments (the tool step records those; the assistant message keeps the model's),
rejected calls not at all — the resume records their ``ToolCallRejected`` tool step and the
model reads :func:`~nex_core.protocol.approval.rejection_message` as the call's result.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from autogen_agentchat.messages import HandoffMessage
from autogen_agentchat.teams import Swarm
from autogen_core import CancellationToken, FunctionCall
from autogen_core.models import FunctionExecutionResult, FunctionExecutionResultMessage

from nex_autogen.agents import ProtocolAssistantAgent
from nex_autogen.messages import to_autogen_messages
from nex_core.errors import AdapterError, SpecError
from nex_core.protocol.approval import (
    APPROVAL_STOP_REASON,
    REJECTED_ERROR_TYPE,
    Decision,
    decisions_for,
    decisions_value,
    paused_for_approval,
    rejection_message,
)
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.runtime.resume import PausedState, paused_state
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import ErrorInfo, ToolCall, ToolStep, Trajectory


class BatchStarts:
    """A recorder listener that sees the tool step of each waiting call begin.

    AutoGen starts a plain tool a loop iteration later than a streaming one (an agent used as
    a tool), so its tool steps would begin out of the model's order. In a first run that is
    harmless (``normalize`` numbers calls by the model's answer), but a resumed trajectory does
    not hold that answer: its tool steps number the calls. So the resume starts each call once
    the one before it has begun its step, which puts the steps in the model's order, as the
    native runtime records them, and the calls still run together."""

    def __init__(self) -> None:
        self.begun: dict[str, asyncio.Event] = {}

    def __call__(self, step: Any) -> None:
        if isinstance(step, ToolStep) and step.ended_at is None and step.call_id is not None:
            self.event(step.call_id).set()

    def event(self, call_id: str) -> asyncio.Event:
        return self.begun.setdefault(call_id, asyncio.Event())


def check_outcome(spec: AgentSpec | TeamSpec, paused: Trajectory) -> None:
    """An :class:`AdapterError` (one line, naming the trajectory) when ``paused`` did not pause
    for approval or ran another spec."""
    from nex_core.runtime.loop import spec_digest

    outcome = paused.outcome
    if outcome is None or not paused_for_approval(paused):
        status = "no outcome" if outcome is None else f"outcome '{outcome.status.value}'"
        raise AdapterError(
            f"trajectory {paused.id} did not pause for approval ({status}); only a run that "
            f"ended interrupted with stop_reason {APPROVAL_STOP_REASON} can be resumed"
        )
    recorded = paused.provenance.spec_digest
    if recorded is not None and spec_digest(spec) != recorded:
        raise AdapterError(
            f"cannot resume trajectory {paused.id}: the spec differs from the one the paused "
            "run ran (its digest does not match)"
        )


def check_paused(
    spec: AgentSpec | TeamSpec, paused: Trajectory, decision: Decision | Mapping[str, Decision]
) -> tuple[PausedState, dict[str, Decision]]:
    """The paused state and one decision per pending call; an :class:`AdapterError` (one line,
    naming the trajectory) for anything that does not fit, before anything runs."""
    check_outcome(spec, paused)
    assert paused.outcome is not None
    try:
        state = paused_state(spec, paused)
        decisions = decisions_for(paused.outcome.pending, decision)
    except (ValueError, SpecError) as exc:
        raise AdapterError(f"cannot resume trajectory {paused.id}: {exc}") from None
    return state, decisions


def paused_member(
    obj: Any, name: str, paused_id: str
) -> tuple[ProtocolAssistantAgent, Swarm | None]:
    """The agent that paused in what the spec built (the agent itself, or a Swarm member) and
    the Swarm it speaks in, if any."""
    if isinstance(obj, Swarm):
        for member in obj._participants:
            if isinstance(member, ProtocolAssistantAgent) and member.name == name:
                return member, obj
    elif isinstance(obj, ProtocolAssistantAgent) and obj.name == name:
        return obj, None
    raise AdapterError(  # check_spec lets approval tools only into such agents
        f"cannot resume trajectory {paused_id}: agent '{name}' is neither the AssistantAgent the "
        "spec builds nor a member of its Swarm"
    )


async def continue_swarm(
    swarm: Swarm, agent: ProtocolAssistantAgent, results: list[FunctionExecutionResult]
) -> str | None:
    """Set the rebuilt ``swarm`` where its run paused, once ``agent``'s batch ran: who speaks
    next and what each member knows. Returns the call id of the handoff the batch made, if it
    made one (the first, as AutoGen takes it)."""
    conversation = list(await agent.model_context.get_messages())
    for member in swarm._participants:
        if member is not agent and isinstance(member, ProtocolAssistantAgent):
            await member.model_context.clear()
            for message in conversation:
                await member.model_context.add_message(message)
    handoffs = {name: h.target for name, h in agent._handoffs.items()}
    done = {r.call_id for r in results if not r.is_error}
    handoff = next((r for r in results if r.name in handoffs and r.call_id in done), None)
    state = dict(await swarm.save_state())
    members = dict(state["agent_states"])
    manager = swarm._group_chat_manager_name
    speaker = agent.name if handoff is None else handoffs[handoff.name]
    members[manager] = {**members[manager], "current_speaker": speaker, "current_turn": 0}
    if handoff is not None:
        # Every member already holds the conversation, so the handoff carries none of it.
        given = HandoffMessage(content=handoff.content, target=speaker, source=agent.name)
        members[speaker] = {**members[speaker], "message_buffer": [given.dump()]}
    await swarm.load_state({**state, "agent_states": members})
    return None if handoff is None else handoff.call_id


async def continue_batch(
    agent: ProtocolAssistantAgent,
    state: PausedState,
    decisions: Mapping[str, Decision],
    recorder: Recorder,
    starts: BatchStarts,
) -> list[FunctionExecutionResult]:
    """Record the resume input, put the paused conversation into ``agent``'s model context and
    run the waiting batch into it (inside the recording: its tool steps are the run's)."""
    name = agent.name
    recorder.input(agent=name, value=decisions_value(decisions), mode="resume")
    context = agent.model_context
    await context.clear()
    for message in to_autogen_messages(state.history, name):
        await context.add_message(message)
    token = CancellationToken()
    # The tool loop streams a sub-agent's events to the agent's caller; a resume has none.
    events: asyncio.Queue[Any] = asyncio.Queue()

    async def one(call: ToolCall) -> FunctionExecutionResult:
        return await run_decided(agent, call, decisions.get(call.id), recorder, token, events)

    # As AutoGen's tool loop: the calls run together (a sequential agent's workbench takes them
    # one at a time), the results in the model's order; each starts once the one before it has
    # begun its tool step (BatchStarts), or ended without one (an unknown tool).
    tasks: list[asyncio.Task[FunctionExecutionResult]] = []
    for call in state.calls:
        task = asyncio.ensure_future(one(call))
        tasks.append(task)
        begun = asyncio.ensure_future(starts.event(call.id).wait())
        await asyncio.wait({task, begun}, return_when=asyncio.FIRST_COMPLETED)
        begun.cancel()
    results = list(await asyncio.gather(*tasks))
    await context.add_message(FunctionExecutionResultMessage(content=results))
    return results


async def run_decided(
    agent: ProtocolAssistantAgent,
    call: ToolCall,
    decision: Decision | None,
    recorder: Recorder,
    token: CancellationToken,
    events: asyncio.Queue[Any],
) -> FunctionExecutionResult:
    """One call of a waiting batch under its decision (``None``: run as the model wrote it),
    through AutoGen's own ``_execute_tool_call`` on the agent's (recorded) workbench."""
    if decision is not None and decision.action == "reject":
        return _rejected(recorder, agent.name, call, decision)
    arguments = call.function.arguments
    if decision is not None and decision.action == "edit":
        arguments = json.dumps(decision.arguments or {}, ensure_ascii=False)
    _, result = await ProtocolAssistantAgent._execute_tool_call(
        tool_call=FunctionCall(id=call.id, arguments=arguments, name=call.function.name),
        workbench=agent._workbench,
        handoff_tools=agent._handoff_tools,
        agent_name=agent.name,
        cancellation_token=token,
        stream=events,
    )
    return result


def _rejected(
    recorder: Recorder, agent: str, call: ToolCall, decision: Decision
) -> FunctionExecutionResult:
    text = rejection_message(call.function.name, decision)
    step = recorder.begin_tool(
        agent=agent, name=call.function.name, call_id=call.id, arguments=call.function.arguments
    )
    recorder.end_tool(step, error=ErrorInfo(type=REJECTED_ERROR_TYPE, message=text))
    return FunctionExecutionResult(
        content=text, call_id=call.id, name=call.function.name, is_error=True
    )


def later_turns(paused: Trajectory, state: PausedState) -> list[Any]:
    """The resumed run's turns: going on from the context (``None``), then the task's turns
    after the one the run paused in."""
    return [None, *paused.task.turns[state.turn + 1 :]]
