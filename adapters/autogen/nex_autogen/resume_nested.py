"""Resuming a run that paused inside an agent used as a tool, from its trajectory alone.

The paused run is read as the native runtime reads it (:func:`nex_core.runtime.paused.rebuild`):
a tree of waiting batches (*frames*), from the agent at the top level down through each call
that paused below to the agent whose calls wait for the human. The resume builds the spec
again and walks the same tree in AutoGen:

- an agent's model context gets its frame's conversation back, as a top-level resume does
  (:mod:`nex_autogen.resume`), and its batch runs: calls that ran in the paused run are not run
  again (the model reads what they returned), a call that paused below is *carried on*, the
  waiting calls run under the human's decisions, calls a sequential batch never started run;
- a carried call is recorded again under its call id, with the calling agent's batch under
  ``metadata.resumed_batch`` (so a second pause inside it resumes from that run alone) and the
  sub-agent step under it (the same task); the child is a fresh copy from the agent-tool's own
  factory, set up the same way one level down, then goes on with ``run()`` (no new task); its
  answer is the tool's result, and the calling agent reads it;
- a child that pauses again closes both steps ``cancelled`` and the calling agent's batch
  pauses (:mod:`nex_autogen.nested`); the run ends paused without another model call.

The top-level agent then goes on as after any resumed batch (``drive``'s turns).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from autogen_core import CancellationToken
from autogen_core.models import FunctionExecutionResult, FunctionExecutionResultMessage

from nex_autogen.agents import ProtocolAssistantAgent
from nex_autogen.messages import to_autogen_messages
from nex_autogen.nested import CHILD_PAUSES, Sink, batch_pause, paused_requests
from nex_autogen.resume import BatchStarts, check_outcome, run_decided
from nex_autogen.tools import ProtocolAgentTool, final_text, stopped_at_max_steps
from nex_core.errors import AdapterError, SpecError
from nex_core.protocol.approval import Decision, decisions_for
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.runtime.approval import PAUSED_TURN_KEY, RESUMED_BATCH_KEY, close_paused
from nex_core.runtime.loop import SubAgentFailed
from nex_core.runtime.paused import Frame, TeamPause, rebuild
from nex_core.runtime.tools import describe_error
from nex_core.trajectory.recorder import Recorder, error_info, parse_arguments
from nex_core.trajectory.schema import ErrorInfo, Message, ToolCall, Trajectory


def is_nested(paused: Trajectory) -> bool:
    """Whether ``paused`` waits inside an agent used as a tool (its requests have a path)."""
    pending = paused.outcome.pending if paused.outcome is not None else None
    return any(isinstance(p, dict) and len(p.get("path") or []) > 1 for p in pending or [])


def check_nested(
    spec: AgentSpec | TeamSpec, paused: Trajectory, decision: Decision | Mapping[str, Decision]
) -> tuple[Frame | TeamPause, int, dict[str, Decision]]:
    """The paused run's top frame (or team pause), the task turn it paused in and one
    decision per pending call; an :class:`AdapterError` (one line) for what does not fit."""
    check_outcome(spec, paused)
    assert paused.outcome is not None
    try:
        state = rebuild(spec, paused)
        decisions = decisions_for(paused.outcome.pending, decision)
    except (ValueError, SpecError) as exc:
        raise AdapterError(f"cannot resume trajectory {paused.id}: {exc}") from None
    turn = paused.metadata.get(PAUSED_TURN_KEY)
    if not isinstance(turn, int):
        turn = max(len(paused.task.turns) - 1, 0)
    return state, turn, decisions


async def continue_frame(
    agent: ProtocolAssistantAgent,
    frame: Frame,
    decisions: Mapping[str, Decision],
    recorder: Recorder,
    starts: BatchStarts,
) -> tuple[list[FunctionExecutionResult], list[dict[str, Any]]]:
    """Put ``frame``'s conversation into ``agent``'s model context and run its batch; returns
    the results (also added to the context) and, when a call paused again, the requests (with
    ``agent`` first in their path; the context is then left as it is)."""
    context = agent.model_context
    await context.clear()
    for message in to_autogen_messages(frame.history, agent.name):
        await context.add_message(message)
    token = CancellationToken()
    events: asyncio.Queue[Any] = asyncio.Queue()  # a sub-agent's streamed events: no caller
    sink: Sink = {}

    async def one(call: ToolCall) -> FunctionExecutionResult:
        if call.id in frame.done:  # ran in the paused run: the model reads what it returned
            text, ok = frame.done[call.id]
            return FunctionExecutionResult(
                content=text, call_id=call.id, name=call.function.name, is_error=not ok
            )
        below = frame.nested.get(call.id)
        if below is not None:
            return await _carry(agent, frame, call, below, decisions, recorder, starts, sink)
        # Decisions are for the asking agent's calls; a frame paused below runs the calls it
        # never started as the model wrote them (as natively).
        decision = None if frame.nested else decisions.get(call.id)
        return await run_decided(agent, call, decision, recorder, token, events)

    reset = CHILD_PAUSES.set(sink)  # the calls' tasks copy it: children that pause say so
    try:
        tasks: list[asyncio.Task[FunctionExecutionResult]] = []
        for call in frame.calls:
            task = asyncio.ensure_future(one(call))
            tasks.append(task)
            if not frame.agent.parallel_tool_calls:
                await task
                if call.id in sink:  # a sequential batch stops at a paused call
                    break
                continue
            # In the model's order, as nex_autogen.resume does (BatchStarts).
            begun = asyncio.ensure_future(starts.event(call.id).wait())
            await asyncio.wait({task, begun}, return_when=asyncio.FIRST_COMPLETED)
            begun.cancel()
        results = list(await asyncio.gather(*tasks))
    finally:
        CHILD_PAUSES.reset(reset)
    paused = batch_pause(sink, results, agent.name)
    if paused is not None:
        return results, list(paused.pending)
    await context.add_message(FunctionExecutionResultMessage(content=results))
    return results, []


async def _carry(
    agent: ProtocolAssistantAgent,
    frame: Frame,
    call: ToolCall,
    below: Frame,
    decisions: Mapping[str, Decision],
    recorder: Recorder,
    starts: BatchStarts,
    sink: Sink,
) -> FunctionExecutionResult:
    """The agent-as-tool call ``call`` carried on: recorded again, its child set where it
    paused (``below``) and run on to its answer (or its next pause, put into ``sink``)."""
    name = call.function.name
    child = await _child(agent, name)
    arguments, _ = parse_arguments(call.function.arguments)
    task = str((arguments or {}).get("task", ""))
    step = recorder.begin_tool(
        agent=agent.name,
        name=name,
        call_id=call.id,
        arguments=call.function.arguments,
        metadata={RESUMED_BATCH_KEY: frame.carry()},
    )
    sub = None
    try:
        with recorder.under(step.id):
            sub = recorder.begin_subagent(
                agent=agent.name,
                child=below.agent.name,
                mode="tool",
                call_id=call.id,
                input=[Message.user(task)],
            )
            with recorder.under(sub.id):
                _, again = await continue_frame(child, below, decisions, recorder, starts)
                result = None if again else await child.run()
        if result is not None:
            again = paused_requests(result) or []
    except Exception as exc:
        info = error_info(exc)
        return _failed(recorder, step, sub, info, call)
    if again:
        close_paused(sub, again)
        close_paused(step, again)
        sink[call.id] = again
        return FunctionExecutionResult(content="", call_id=call.id, name=name, is_error=False)
    assert result is not None
    if stopped_at_max_steps(result):
        reason = SubAgentFailed(f"agent '{below.agent.name}' stopped without an answer (max_steps)")
        return _failed(recorder, step, sub, error_info(reason), call)
    text = final_text(result) or ""
    recorder.end_subagent(sub, text)
    recorder.end_tool(step, text)
    return FunctionExecutionResult(content=text, call_id=call.id, name=name, is_error=False)


def _failed(
    recorder: Recorder, step: Any, sub: Any, info: ErrorInfo, call: ToolCall
) -> FunctionExecutionResult:
    if sub is not None:
        recorder.end_subagent(sub, None, error=info)
    recorder.end_tool(step, error=info)
    return FunctionExecutionResult(
        content=describe_error(info), call_id=call.id, name=call.function.name, is_error=True
    )


async def _child(agent: ProtocolAssistantAgent, tool_name: str) -> ProtocolAssistantAgent:
    """A fresh child of ``agent``'s agent-tool ``tool_name`` (its factory's; the recording
    instruments it, as it does each call's child)."""
    for workbench in agent._workbench:
        for tool in getattr(workbench, "_tools", None) or ():
            inner = getattr(tool, "inner", tool)  # a recording proxy keeps the tool as inner
            if getattr(inner, "name", None) == tool_name and isinstance(inner, ProtocolAgentTool):
                child = await inner._fresh(CancellationToken())
                if isinstance(child, ProtocolAssistantAgent):
                    return child
    raise AdapterError(  # check_spec lets approval tools only into such children
        f"agent '{agent.name}' has no agent-tool '{tool_name}' built as an AssistantAgent to "
        "resume in"
    )
