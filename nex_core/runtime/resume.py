"""Resuming a native run paused for approval, from its trajectory alone.

Nothing of the paused run is kept in memory: its last model call of the paused agent holds the
conversation exactly as sent (the request's messages, the system prompt first) and the reply
whose batch waits, so the resume works in another process (``nex run --resume``). The resumed
run records the resume :class:`InputStep`, runs the whole batch under the human's decisions, and
goes on with the ordinary loop (contract: :mod:`nex_core.protocol.approval`). A pause inside an
agent-as-tool or a team member is rebuilt level by level (:mod:`nex_core.runtime.paused`) and
carried on from the inside out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nex_core._version import __version__
from nex_core.errors import SpecError
from nex_core.models.base import ChatModel
from nex_core.protocol.approval import (
    APPROVAL_STOP_REASON,
    REJECTED_ERROR_TYPE,
    Decision,
    decisions_for,
    decisions_value,
    rejection_message,
)
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.runtime import approval
from nex_core.runtime import paused as paused_frames
from nex_core.runtime.mcp import MCPPool, shared_pool
from nex_core.runtime.native import NativeRun
from nex_core.runtime.provenance import provenance_for
from nex_core.runtime.results import AgentResult, CarriedCall, _CallResult
from nex_core.runtime.tools import ToolHandle, resolve_bindings
from nex_core.trajectory import _build
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import (
    ErrorInfo,
    LLMStep,
    Message,
    OutcomeStatus,
    StepStatus,
    ToolCall,
    Trajectory,
)
from nex_core.trajectory.sinks import TrajectorySink


@dataclass
class PausedState:
    """What a resume continues: the paused agent, its conversation and the waiting batch."""

    agent: AgentSpec
    history: list[Message]
    calls: list[ToolCall]
    turn: int


def paused_state(spec: AgentSpec | TeamSpec, paused: Trajectory) -> PausedState:
    """Rebuild the state of a pause at the top level (the root or an agent it handed off to),
    for adapters that resume only those; raises ``ValueError`` saying what does not fit."""
    pending = paused_frames.waiting_requests(paused)
    name = str(pending[0].get("agent")) if isinstance(pending[0], dict) else ""
    agents = {a.name: a for a in spec.walk()}
    if name not in agents:
        raise SpecError(f"the paused agent '{name}' is not in spec '{spec.name}'")
    agent = agents[name]
    step = next(
        (
            s
            for s in reversed(paused.steps)
            if isinstance(s, LLMStep)
            and s.agent == name
            and s.status is StepStatus.OK
            and s.response is not None
        ),
        None,
    )
    if step is None or step.response is None:
        raise ValueError(f"trajectory {paused.id} has no model call of agent '{name}' to resume")
    messages = list(step.request.messages)
    if messages and messages[0].role == "system":  # the loop puts the system prompt back
        messages = messages[1:]
    history = [*messages, step.response.message]
    calls = paused_frames.calls_of(agent, step)
    ids = {c.id for c in calls}
    missing = [str(p.get("tool_call_id")) for p in pending if p.get("tool_call_id") not in ids]
    if missing:
        raise ValueError(
            f"trajectory {paused.id}: pending call {', '.join(missing)} is not in the last "
            f"reply of agent '{name}'"
        )
    turn = paused.metadata.get(approval.PAUSED_TURN_KEY)
    if not isinstance(turn, int):
        turn = max(len(paused.task.turns) - 1, 0)
    return PausedState(agent, history, calls, turn)


async def resume_native(
    spec: AgentSpec | TeamSpec,
    paused: Trajectory,
    decision: Decision | Mapping[str, Decision],
    *,
    model: ChatModel,
    sinks: Sequence[TrajectorySink] = (),
    listeners: Sequence[Callable[[Any], None]] = (),
    mcp_pool: MCPPool | None = None,
) -> Trajectory:
    """Continue ``paused`` (a native run of ``spec`` paused for approval) with ``decision``.

    Bad input (not a paused run, a decision for a call that is not pending, an agent not in
    ``spec``) raises ``ValueError``/``SpecError`` before anything runs; a failure once running
    is recorded as the resumed run's outcome, as :func:`run_native` does. A pause inside an
    agent-as-tool or a team member's turn is carried on in place: the resumed run records the
    enclosing tool call and sub-agent step again (same call id), the sub-agent's steps under
    them, and the parent goes on with the sub-agent's answer (:mod:`nex_core.runtime.paused`).
    """
    state = paused_frames.rebuild(spec, paused)
    assert paused.outcome is not None
    decisions = decisions_for(paused.outcome.pending, decision)
    turn = paused.metadata.get(approval.PAUSED_TURN_KEY)
    if not isinstance(turn, int):
        turn = max(len(paused.task.turns) - 1, 0)
    provenance = provenance_for(
        spec,
        model,
        paused.task,
        framework="nex",
        framework_version=__version__,
        adapter="native",
        adapter_version=__version__,
    )
    recorder = Recorder(
        provenance=provenance,
        task=paused.task,
        root_agent=spec.name,
        sinks=sinks,
        listeners=listeners,
        session_id=paused.session_id or paused.id,
    )
    given = mcp_pool or shared_pool()
    pool = given if given is not None else MCPPool({})
    for agent in spec.walk():
        pool.add(agent.mcp_servers)
    runner = NativeRun(model, recorder, pool)
    result = AgentResult(OutcomeStatus.COMPLETED, None, "no_turns")
    try:
        resolve_bindings(spec, check_mcp_servers=given is None)
        runner.approvals = approval.check_spec(spec)
        with recorder.active():
            asker = str(paused.outcome.pending[0].get("agent"))  # type: ignore[index]
            recorder.input(agent=asker, value=decisions_value(decisions), mode="resume")
            active: AgentSpec | TeamSpec
            if isinstance(state, paused_frames.TeamPause):
                history, active = state.transcript, state.team
                result = await _continue_team(runner, state, decisions)
            else:
                history = state.history
                result, active = await _continue(runner, state, decisions)
            number = turn
            approval.mark_paused(recorder, result, number)
            for number, text in enumerate(paused.task.turns[turn + 1 :], turn + 1):
                if result.status is not OutcomeStatus.COMPLETED:
                    break
                history.append(Message.user(text))
                if isinstance(active, TeamSpec):
                    result = await runner.run_team(active, history)
                else:
                    result, active = await runner.converse(active, history)
                approval.mark_paused(recorder, result, number)
    except asyncio.CancelledError as exc:
        recorder.fail(exc)
        raise
    except Exception as exc:
        return recorder.fail(exc)
    finally:
        if given is None:
            await pool.aclose()
    return recorder.finish(result.outcome())


async def _continue_team(
    runner: NativeRun, state: paused_frames.TeamPause, decisions: Mapping[str, Decision]
) -> AgentResult:
    """The paused member's turn carried on (under a team-turn step again), then the team."""

    async def member() -> tuple[AgentResult, AgentSpec]:
        return await _continue(runner, state.frame, decisions)

    return await runner.run_team(
        state.team, state.transcript, start=state.turn, carried=(state.member, member)
    )


async def _continue(
    runner: NativeRun, frame: paused_frames.Frame, decisions: Mapping[str, Decision]
) -> tuple[AgentResult, AgentSpec]:
    """Run the waiting batch, then go on as :meth:`NativeRun.run_agent` would after it."""
    agent, history = frame.agent, frame.history
    handles = await runner.handles(agent)
    results = await _run_batch(runner, agent, handles, frame, decisions)
    pending = [p for r in results if r.pending for p in r.pending]
    if pending:  # paused again below: the whole run pauses, as the loop's batch would
        return AgentResult(
            OutcomeStatus.INTERRUPTED, None, APPROVAL_STOP_REASON, pending=pending
        ), agent
    fmt = runner._text_format(agent)
    if fmt is not None:
        history.extend(fmt.result_messages([(r.call.name, r.call.id, r.text) for r in results]))
    else:
        history.extend(_build.tool_message(r.call.id, r.text) for r in results)
    for r in results:
        if r.ok and r.handle is not None and r.handle.kind == "handoff":
            assert r.handle.sub_agent is not None
            child = r.handle.sub_agent.child
            with runner.recorder.subagent(
                agent=agent.name,
                child=child.name,
                mode="handoff",
                call_id=r.call.id,
                input=list(history),
            ) as step:
                final, answered_by = await runner.converse(child, history, 1)
                step.output = final.final_output
            return final, answered_by
    for r in results:
        if r.ok and r.call.name in agent.stop_tools:
            return AgentResult(OutcomeStatus.COMPLETED, r.text, f"stop_tool:{r.call.name}"), agent
    # The step budget starts afresh, as a resumed LangGraph run's recursion limit does.
    return await runner.converse(agent, history)


async def _run_batch(
    runner: NativeRun,
    agent: AgentSpec,
    handles: dict[str, ToolHandle],
    frame: paused_frames.Frame,
    decisions: Mapping[str, Decision],
) -> list[_CallResult]:
    async def one(call: ToolCall) -> _CallResult:
        if call.id in frame.done:  # ran in the paused run: the model reads what it returned
            text, ok = frame.done[call.id]
            return _CallResult(call, text, ok, handles.get(call.name))
        below = frame.nested.get(call.id)
        if below is not None:

            async def child() -> tuple[AgentResult, AgentSpec]:
                assert below is not None
                return await _continue(runner, below, decisions)

            carried = CarriedCall(child, {approval.RESUMED_BATCH_KEY: frame.carry()})
            return await runner._run_call(agent, handles, call, carried)
        # Decisions are for a leaf's calls; a frame paused below runs its unstarted calls as asked.
        decision = None if frame.nested else decisions.get(call.id)
        if decision is None or decision.action == "approve":
            return await runner._run_call(agent, handles, call)
        if decision.action == "edit":
            edited = ToolCall.make(call.id, call.name, decision.arguments or {})
            return await runner._run_call(agent, handles, edited)
        text = rejection_message(call.name, decision)
        rec = runner.recorder
        step = rec.begin_tool(
            agent=agent.name, name=call.name, call_id=call.id, arguments=call.function.arguments
        )
        rec.end_tool(step, error=ErrorInfo(type=REJECTED_ERROR_TYPE, message=text))
        return _CallResult(call, text, False, handles.get(call.name))

    calls = frame.calls
    if agent.parallel_tool_calls and len(calls) > 1:
        return list(await asyncio.gather(*(one(c) for c in calls)))
    results = []
    for c in calls:
        results.append(r := await one(c))
        if r.pending:  # paused again: the rest of the batch waits for the next resume
            break
    return results
