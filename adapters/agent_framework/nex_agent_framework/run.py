"""Running Agent Framework agents turn by turn while recording them.

An agent built from a spec is driven as the native runtime drives its agents: the conversation is
one message list, each turn appends the user's message and runs the active agent on the whole
list, and a handoff gives the list to the target, who stays active for the next turn. Any other
agent is run the way its documentation runs it: ``agent.run(turn)``, and for a task of several
turns one ``AgentSession`` with each turn ``agent.run(turn, session=session)``.
``mode="stream"`` drives each run with ``stream=True`` (consumed to its final response); both
are recorded the same way. A workflow (sequential, group chat ... orchestrations) runs each turn
as ``workflow.run(turn)``; each run of one of its agents is a ``team_turn`` step.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agent_framework import AgentResponse, BaseAgent, Message, Workflow

from nex_agent_framework.approval import Paused, approval_requests, pending_of
from nex_agent_framework.messages import to_nex_messages
from nex_agent_framework.names import AgentNames, agent_names
from nex_agent_framework.nested import answer_of, carry, paused_children, record_rejected
from nex_agent_framework.record import Instrumentation, model_id, workflow_agents
from nex_agent_framework.structured import check, feedback, structured_value
from nex_agent_framework.team_approval import paused_result, resume_team
from nex_agent_framework.teams import team_state
from nex_agent_framework.tools import MaxStepsReached, ProtocolMiddleware
from nex_core import __version__
from nex_core.adapter import as_task
from nex_core.errors import AdapterError, NexError, StructuredOutputError
from nex_core.protocol.approval import APPROVAL_STOP_REASON, Decision
from nex_core.runtime.loop import MAX_HANDOFF_DEPTH
from nex_core.trajectory._values import to_jsonable
from nex_core.trajectory.recorder import Recorder, current_recorder
from nex_core.trajectory.schema import Outcome, OutcomeStatus, Provenance, TaskInfo, Trajectory
from nex_core.trajectory.sinks import TrajectorySink

Mode = Literal["run", "stream"]
"""How each agent run is driven: ``run`` (awaited) or ``stream`` (``stream=True``)."""


@dataclass
class _Result:
    status: OutcomeStatus
    final_output: str | None
    stop_reason: str
    structured_output: Any = None
    pending: list[Any] | None = None
    paused: Paused | None = None
    """Where a run that paused for approval stands (:mod:`.approval`)."""


async def run_once(agent: Any, messages: Any, mode: Mode, **kw: Any) -> AgentResponse:
    """One ``agent.run`` in ``mode``; a stream is consumed to its final response."""
    if mode == "run":
        response: AgentResponse = await agent.run(messages, **kw)
        return response
    stream = agent.run(messages, stream=True, **kw)
    async for _ in stream:
        pass
    final: AgentResponse = await stream.get_final_response()
    return final


def final_text(response: AgentResponse) -> str | None:
    """The answer of a run: the text of its last message (``response.text`` joins the text of
    every message, the words said beside earlier tool calls included)."""
    for message in reversed(response.messages):
        if str(message.role) == "assistant":
            return message.text
    return response.text or None


def protocol_of(agent: Any) -> ProtocolMiddleware | None:
    for middleware in getattr(agent, "middleware", None) or ():
        if isinstance(middleware, ProtocolMiddleware):
            return middleware
    return None


class _ProtocolDriver:
    """The native runtime's composition (``converse``) over agents built from a spec."""

    def __init__(self, recorder: Recorder | None, mode: Mode) -> None:
        self.recorder = recorder
        """``None`` for an agent-as-tool run outside any recorded run (:func:`run_child`)."""
        self.mode = mode

    async def converse(
        self, agent: Any, history: list[Message], depth: int = 0
    ) -> tuple[_Result, Any]:
        protocol = protocol_of(agent)
        assert protocol is not None
        retries = 0
        while True:
            protocol.state.signal = None
            try:
                response = await run_once(agent, list(history), self.mode)
            except MaxStepsReached:
                return _Result(OutcomeStatus.MAX_STEPS, None, "max_steps"), agent
            history.extend(response.messages)
            requests = approval_requests(response)
            # Else an agent it called as a tool may have paused: so does this run (.nested).
            children = [] if requests else paused_children(protocol.state, response)
            if requests or children:
                paused = Paused(agent, history, requests, depth, children=children)
                pending = (
                    pending_of(agent, requests)
                    if requests
                    else [p for c in children for p in c.pending]
                )
                return _Result(
                    OutcomeStatus.INTERRUPTED,
                    None,
                    APPROVAL_STOP_REASON,
                    pending=pending,
                    paused=paused,
                ), agent
            if protocol.state.signal is not None or protocol.spec.output_schema is None:
                break
            try:
                value = check(response, protocol.spec)
            except StructuredOutputError as exc:  # fed back as natively, then asked again
                if retries >= protocol.spec.limits.max_output_retries:
                    raise
                retries += 1
                history.append(feedback(exc))
                continue
            text = json.dumps(value, ensure_ascii=False)
            return _Result(OutcomeStatus.COMPLETED, text, "final_answer", value), agent
        signal = protocol.state.signal
        if signal is None:
            return _Result(OutcomeStatus.COMPLETED, final_text(response), "final_answer"), agent
        if signal.kind == "stop_tool":
            return _Result(OutcomeStatus.COMPLETED, signal.text, f"stop_tool:{signal.tool}"), agent
        if depth >= MAX_HANDOFF_DEPTH:
            raise NexError(f"more than {MAX_HANDOFF_DEPTH} consecutive handoffs; stopping")
        child = protocol.handoffs[signal.tool]
        if self.recorder is None:
            return await self.converse(child, history, depth + 1)
        with self.recorder.subagent(
            agent=agent.name,
            child=child.name,
            mode="handoff",
            call_id=signal.call_id,
            input=to_nex_messages(history),
        ) as step:
            final, answered_by = await self.converse(child, history, depth + 1)
            step.output = final.final_output
        return final, answered_by

    async def turns(self, agent: Any, task: TaskInfo) -> _Result:
        history: list[Message] = []
        result = _Result(OutcomeStatus.COMPLETED, None, "no_turns")
        for turn in task.turns:
            history.append(Message("user", [turn]))
            result, agent = await self.converse(agent, history)
            if result.status is not OutcomeStatus.COMPLETED:
                break
        return result

    async def resume(self, paused: Paused, decisions: dict[str, Decision]) -> _Result:
        """Go on from where ``paused`` stopped: for the run that asked, its approval responses
        (``paused.answer``) as the next message of the active agent's conversation, as Agent
        Framework's docs resume an approval; for a run whose agent-as-tool calls paused, those
        calls carried on first (:func:`.nested.carry`)."""
        if not paused.children:
            assert paused.answer is not None and self.recorder is not None
            record_rejected(self.recorder, paused, decisions)
            paused.history.append(paused.answer)
        else:
            waiting = []
            for call in paused.children:  # in the model's order, as the batch ran
                still = await carry(self, paused, call, decisions)
                if still is not None:
                    waiting.append(still)
            if waiting:  # paused again inside: so is this run, its conversation as it is
                again = Paused(paused.agent, paused.history, [], paused.depth, children=waiting)
                pending = [p for c in waiting for p in c.pending]
                return _Result(
                    OutcomeStatus.INTERRUPTED,
                    None,
                    APPROVAL_STOP_REASON,
                    pending=pending,
                    paused=again,
                )
        result, _ = await self.converse(paused.agent, paused.history, paused.depth)
        return result


_DRIVER: contextvars.ContextVar[_ProtocolDriver | None] = contextvars.ContextVar(
    "nex_af_driver", default=None
)
"""The driver of the recorded run in progress, for the agents it calls as tools."""


async def run_child(child: Any, task: str) -> str:
    """One call of an agent used as a tool that may pause (:mod:`.nested`): the agent runs on
    a conversation of its own, as the driver runs any agent; a run that paused raises
    ``ChildPaused`` with where it stands."""
    from nex_agent_framework.approval import ChildPaused

    driver = _DRIVER.get()
    result, _ = await (driver or _ProtocolDriver(current_recorder(), "run")).converse(
        child, [Message("user", [task])]
    )
    if result.paused is not None and driver is None:
        # Run outside nex's driver (``agent.run`` on a built agent): nothing could resume it,
        # so the call fails, as the framework's ``as_tool`` fails it.
        tools = ", ".join(sorted({str(p.get("tool")) for p in result.pending or []}))
        raise NexError(
            f"agent '{child.name}' asked for approval of {tools} inside an agent used as a "
            "tool; only a run of the adapter (arun / aresume) can pause there"
        )
    if result.paused is not None:
        raise ChildPaused(result.paused, result.pending or [])
    return answer_of(child.name, result)


def given_turns(task: Any) -> tuple[TaskInfo, list[Any]]:
    """A task as its text turns and the input of every turn: a task of text as it is; anything
    else (a workflow's state mapping, a message) is one turn's input as the app gives it."""
    if isinstance(task, TaskInfo | str):
        info = as_task(task)
        return info, list(info.turns)
    return TaskInfo(), [task]


def _given(recorder: Recorder, turn: Any) -> None:
    """A turn that is not text is recorded as given (an ``input`` step), as nothing else
    records what the run was asked."""
    if not isinstance(turn, str):
        recorder.input(
            agent=recorder.trajectory.root_agent, value=to_jsonable(turn), parent_id=None
        )


def _structured(output: Any) -> Any:
    """A workflow output that is data, not text or messages (its final state), as JSON data."""
    if output is None or isinstance(output, str | AgentResponse | Message):
        return None
    if isinstance(output, list) and any(isinstance(m, Message) for m in output):
        return None
    return to_jsonable(output)


async def _session_turns(agent: Any, turns: list[Any], mode: Mode, recorder: Recorder) -> _Result:
    """The documented way: ``agent.run(turn)`` for one turn; for several, one ``AgentSession``
    that carries the conversation from turn to turn."""
    session = agent.create_session() if len(turns) > 1 else None
    result = _Result(OutcomeStatus.COMPLETED, None, "no_turns")
    for turn in turns:
        _given(recorder, turn)
        kw = {"session": session} if session is not None else {}
        response = await run_once(agent, turn, mode, **kw)
        requests = approval_requests(response)
        if requests:  # paused for the user's approval: the app resumes it its own way
            pending = pending_of(agent, requests, every=True)
            return _Result(OutcomeStatus.INTERRUPTED, None, APPROVAL_STOP_REASON, pending=pending)
        value = structured_value(response)
        text = final_text(response) if value is None else json.dumps(value, ensure_ascii=False)
        result = _Result(OutcomeStatus.COMPLETED, text, "final_answer", value)
    return result


def _output_text(output: Any) -> str | None:
    if isinstance(output, AgentResponse):
        return final_text(output)
    if isinstance(output, Message):
        return output.text
    if isinstance(output, list) and output and isinstance(output[-1], Message):
        return str(output[-1].text)
    return None if output is None else str(output)


async def _workflow_turns(
    workflow: Any, turns: list[Any], mode: Mode, recorder: Recorder
) -> _Result:
    """Each turn one ``workflow.run(turn)``; the answer is the workflow's last output, kept as
    structured output (and its JSON as the answer) when it is data."""
    if mode != "run":
        raise AdapterError("workflows are recorded with mode='run' (their own event stream)")
    result = _Result(OutcomeStatus.COMPLETED, None, "no_turns")
    waiting: list[Any] = []
    for turn in turns:
        _given(recorder, turn)
        if waiting:
            # A handoff workflow waits for the user after an agent answers: the next turn is
            # the answer to that request, as its documentation resumes it.
            from agent_framework.orchestrations import HandoffAgentUserRequest

            reply = HandoffAgentUserRequest.create_response(turn)
            run = await workflow.run(responses={e.request_id: reply for e in waiting})
        else:
            run = await workflow.run(turn)
        waiting = list(run.get_request_info_events())
        outputs = run.get_outputs()
        text, value = _member_answer(workflow, outputs), None
        if text is None and outputs:
            value = _structured(outputs[-1])
            text = (
                _output_text(outputs[-1])
                if value is None
                else json.dumps(value, ensure_ascii=False)
            )
        stop = "final_answer" if outputs else "no_output"
        result = _Result(OutcomeStatus.COMPLETED, text, stop, value)
    return result


def _member_answer(workflow: Any, outputs: list[Any]) -> str | None:
    """The last answer a participant gave among a group chat's outputs: the orchestrator adds a
    notice of its own when ``max_rounds`` is reached ("The group chat has reached the maximum
    number of rounds."), which is not the team's answer."""
    names = {a.name for a in workflow_agents(workflow) if a.name}
    messages: list[Any] = []
    for output in outputs:
        if isinstance(output, AgentResponse):
            messages.extend(output.messages)
        elif isinstance(output, Message):
            messages.append(output)
        elif isinstance(output, list):
            messages.extend(m for m in output if isinstance(m, Message))
    last_output = messages[-1] if messages else None
    if last_output is None or last_output.author_name in names:
        return None  # the last output is a member's (or none): the general rule applies
    answers = [m.text for m in messages if m.author_name in names and m.text]
    return answers[-1] if answers else None


async def _team_turns(workflow: Any, task: TaskInfo, mode: Mode) -> _Result:
    """A team this adapter built: each turn one ``workflow.run(turn)``; the outcome is the last
    member answer and the protocol's stop reason, as natively (see :mod:`.teams`)."""
    state = team_state(workflow)
    assert state is not None
    if mode != "run":
        # A streamed workflow returns each member's run as a lazy stream that the workflow
        # consumes after the member's middleware has returned, so its calls would not nest
        # under the turn.
        raise AdapterError("teams are run with mode='run' (a workflow streams its own events)")
    result = _Result(OutcomeStatus.COMPLETED, None, "no_turns")
    for turn in task.turns:
        state.reset(turn)
        await workflow.run(turn)
        paused = paused_result(workflow, state)  # a member's turn paused for approval
        if paused is not None:
            return paused
        result = _Result(OutcomeStatus.COMPLETED, state.last_answer, state.stop_reason)
    return result


async def _spec_built(
    obj: Any,
    task: TaskInfo,
    recorder: Recorder,
    mode: Mode,
    resume: tuple[Paused, dict[str, Decision]] | None,
) -> _Result:
    """A run (or resume) of an agent or team built from a spec, under one driver that the
    agents it calls as tools run under too (:func:`run_child`)."""
    driver = _ProtocolDriver(recorder, mode)
    token = _DRIVER.set(driver)
    try:
        if isinstance(obj, Workflow):
            if resume is not None:
                return await resume_team(driver, obj, *resume)
            return await _team_turns(obj, task, mode)
        if resume is not None:
            return await driver.resume(*resume)
        return await driver.turns(obj, task)
    finally:
        _DRIVER.reset(token)


async def drive(
    obj: Any,
    task: TaskInfo,
    recorder: Recorder,
    mode: Mode = "run",
    *,
    resume: tuple[Paused, dict[str, Decision]] | None = None,
    on_pause: Callable[[Paused], None] | None = None,
    turns: list[Any] | None = None,
    names: AgentNames | None = None,
) -> Trajectory:
    """Run every turn of ``task`` on ``obj`` with the recording middleware in place, then take
    it out. ``resume`` continues a paused run of ``obj`` instead (with the approval responses);
    ``on_pause`` is given the state of a run of ``obj`` that paused for approval. ``turns``
    are the turns' inputs as the app gave them (:func:`given_turns`), if not ``task``'s text;
    ``names`` the agent names of ``obj`` if the caller has them already."""
    given = list(task.turns) if turns is None else turns
    instrumentation = Instrumentation(recorder, names)
    instrumentation.instrument(obj)
    if resume is not None:  # an edited call is recorded with the arguments it runs with
        for leaf in resume[0].leaves():
            instrumentation.shared.raw_arguments.update(leaf.edits)
    try:
        with recorder.active(), instrumentation.active():
            if protocol_of(obj) is not None or (
                isinstance(obj, Workflow) and hasattr(obj, "nex_team")
            ):
                result = await _spec_built(obj, task, recorder, mode, resume)
                if result.paused is not None and on_pause is not None:
                    on_pause(result.paused)
            elif isinstance(obj, Workflow):
                result = await _workflow_turns(obj, given, mode, recorder)
            else:
                result = await _session_turns(obj, given, mode, recorder)
    except asyncio.CancelledError as exc:
        instrumentation.close_open(exc)
        recorder.fail(exc)
        raise
    except Exception as exc:
        instrumentation.close_open(exc)
        return recorder.fail(exc)
    finally:
        instrumentation.restore()
    return recorder.finish(
        Outcome(
            status=result.status,
            final_output=result.final_output,
            stop_reason=result.stop_reason,
            structured_output=result.structured_output,
            pending=result.pending,
        )
    )


async def record_given(
    adapter: Any,
    obj: Any,
    task: Any,
    sinks: Sequence[TrajectorySink],
    mode: str,
    check_mode: Callable[[str], Mode],
) -> Trajectory:
    """:meth:`AgentFrameworkAdapter.arecord` (``check_mode`` validates ``mode``). Here, not in
    the plugin module, so the names it uses are imported once: the plugin imports Agent
    Framework only when it is used, and an import statement in the method ran every recorded
    run (5 to 9 k instructions each, loaded or not)."""
    if not isinstance(obj, BaseAgent | Workflow):
        raise AdapterError(
            "the agent-framework adapter records Agent Framework agents and workflows, "
            f"not {type(obj).__name__}"
        )
    agents = workflow_agents(obj) if isinstance(obj, Workflow) else [obj]
    info, turns = given_turns(task)
    provenance = Provenance(
        framework=adapter.framework,
        framework_version=adapter.framework_version,
        adapter=adapter.name,
        adapter_version=adapter.version,
        nex_version=__version__,
        model=model_id(getattr(agents[0], "client", None)) if agents else None,
        task_id=info.id,
    )
    # Named once: the instrumentation records the run under these names.
    names = agent_names(obj)
    recorder = Recorder(provenance=provenance, task=info, root_agent=names.of(obj), sinks=sinks)
    return await drive(obj, info, recorder, check_mode(mode), turns=turns, names=names)
