"""Running LangGraph graphs while recording them: built from a spec, or built by the user.

A task's user turns run as one conversation: through the graph's checkpointer (one thread) when
it has one, otherwise by carrying the returned state into the next turn. ``mode`` picks how the
graph is driven — ``invoke``/``stream`` (sync) or ``ainvoke``/``astream`` — so every path the user
might take is recorded the same way.

A spec with MCP-bound tools runs inside the MCP context of its run (see ``_mcp``): the servers'
sessions live on the run's event loop, so even ``run(mode="invoke")`` runs one, driving the graph
from a worker thread while the loop serves the tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from langgraph.graph import StateGraph
from langgraph.types import Command

from nex_core._version import __version__ as nex_version
from nex_core.adapter import as_task, run_sync
from nex_core.errors import SpecError, ToolBindingError
from nex_core.models.base import ChatModel
from nex_core.protocol.approval import APPROVAL_STOP_REASON, decisions_value
from nex_core.protocol.spec import AgentSpec, ContextMode, TeamSpec
from nex_core.runtime.loop import provenance_for, spec_digest
from nex_core.runtime.mcp import shared_pool
from nex_core.runtime.tools import resolve_bindings
from nex_core.trajectory.recorder import Recorder, to_jsonable
from nex_core.trajectory.schema import (
    Outcome,
    OutcomeStatus,
    Provenance,
    StepStatus,
    SubAgentStep,
    TaskInfo,
    Trajectory,
)
from nex_core.trajectory.sinks import TrajectorySink
from nex_langgraph import _hooks
from nex_langgraph._approval import PAUSES, Pause, nest_requests
from nex_langgraph._build import build_graph
from nex_langgraph._errors import MaxStepsExceeded
from nex_langgraph._mcp import MCPTools, mcp_for_run, uses_mcp
from nex_langgraph._messages import final_text
from nex_langgraph._session import SessionHandler, output_json, record_input, turn_text
from nex_langgraph._version import __version__

Mode = Literal["invoke", "stream", "ainvoke", "astream"]
RECURSION_LIMIT = 10_000
"""Graph steps allowed per turn; the protocol's limits (``max_steps``) are enforced per agent."""


@functools.cache
def langgraph_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("langgraph")
    except PackageNotFoundError:
        return None


def compiled(graph: Any) -> Any:
    """A runnable graph: ``StateGraph`` builders (as ``create_supervisor`` returns) compiled."""
    return graph.compile() if isinstance(graph, StateGraph) else graph


class _Session:
    """One recorded run of one graph over the turns of one task.

    A turn is user text (sent as a human message, the graph's history carried) or a graph input
    as given: a state dict of a workflow whose state is not messages, a ``Command(resume=...)``
    answering an interrupt. ``config`` is the caller's own (its thread, its callbacks), kept.
    """

    def __init__(
        self,
        graph: Any,
        spec: AgentSpec | TeamSpec,
        task: TaskInfo,
        provenance: Provenance,
        sinks: Sequence[TrajectorySink],
        *,
        inputs: Sequence[Any] | None = None,
        config: dict[str, Any] | None = None,
        names: dict[int, tuple[Any, str]] | None = None,
        plain_nodes: frozenset[str] = frozenset(),
        session_id: str | None = None,
        drive: bool = True,
        resume_value: Any = None,
        resume_agent: str | None = None,
    ) -> None:
        self.graph = compiled(graph)
        self.resume_value = resume_value
        """The resume step's value when nex resumes the run itself (``aresume``)."""
        self.resume_agent = resume_agent
        """Who the resume step answers (the agent that asked, perhaps one used as a tool)."""
        self.task = task
        self.inputs: list[Any] = list(task.turns if inputs is None else inputs)
        self.names = {key: name for key, (_, name) in (names or {}).items()}
        agents = [a.name for a in spec.walk()]
        root = spec.name  # a team's: its members' turns are its team_turn steps, as natively
        self.root = root
        members = [m.name for m in spec.members] if isinstance(spec, TeamSpec) else []
        self.config = with_handler(config or {}, None)
        self.threaded = getattr(self.graph, "checkpointer", None) not in (None, False)
        configurable = dict(self.config.get("configurable") or {})
        if drive:  # nex drives the graph: its own limits and thread (a capture changes nothing)
            self.config.setdefault("recursion_limit", RECURSION_LIMIT)
        if drive and self.threaded and "thread_id" not in configurable:
            configurable["thread_id"] = f"nex-{uuid.uuid4().hex}"
        if configurable:
            self.config["configurable"] = configurable
        thread = configurable.get("thread_id")
        self.recorder = Recorder(
            provenance=provenance,
            task=task,
            root_agent=root,
            sinks=sinks,
            session_id=str(thread) if thread is not None else session_id,
        )
        self.handler = SessionHandler(
            self.recorder,
            root_agent=root,
            agents=agents,
            plain_nodes=plain_nodes,
            team_members=members,
        )
        self.hooked = hookable(spec, plain_nodes, members, self.threaded)
        """Recorded through the model, tool and graph hooks (``_hooks``), not callbacks."""
        if self.hooked:
            # The hooks keep their events and record them when the run next writes a step of
            # its own (a turn's input, the end): see ``_hooks.flush``.
            self.handler.deferred = []
        else:
            self.config = with_handler(self.config, self.handler)
        self.state: dict[str, Any] = {}

    def flush(self) -> None:
        """Record what the hooks deferred (before the run writes or reads its steps)."""
        _hooks.flush(self.handler)

    def next_input(self, turn: Any) -> Any:
        self.flush()
        if not isinstance(turn, str):
            who = self.resume_agent if isinstance(turn, Command) and self.resume_agent else None
            record_input(self.recorder, who or self.root, turn, *self._resume_value(turn))
            return turn
        message = HumanMessage(content=turn)
        if self.threaded:
            return {"messages": [message]}
        carried = {k: v for k, v in self.state.items() if k == "active_agent"}
        return {**carried, "messages": [*self.state.get("messages", []), message]}

    def _resume_value(self, turn: Any) -> tuple[Any, ...]:
        """The resume step's value for a ``Command`` answering a human-in-the-loop pause:
        ``decisions_value`` of the nex decisions it maps to; none (the raw value) otherwise."""
        if not isinstance(turn, Command) or turn.resume is None:
            return ()
        if self.resume_value is not None:
            return (self.resume_value,)
        pause = (
            Pause(approvals=dict(self.handler.approvals))
            if self.handler.approvals
            else PAUSES.get(self.recorder.trajectory.session_id)
        )
        decisions = pause.decisions_of(turn.resume) if pause is not None else None
        if not decisions:
            return ()
        self.handler.forget_calls(i for i, d in decisions.items() if d.action == "edit")
        return (decisions_value(decisions),)

    def check_text_turns(self) -> None:
        """A text turn needs a graph that keeps messages: say so before anything runs."""
        channels = getattr(getattr(self.graph, "builder", None), "channels", None)
        if not isinstance(channels, dict) or not channels or "messages" in channels:
            return
        if any(isinstance(turn, str) for turn in self.inputs):
            raise SpecError(
                f"graph '{self.graph.name}' keeps no 'messages' in its state (its keys: "
                f"{', '.join(sorted(channels))}), so a text turn cannot be sent to it: give "
                "the graph's input itself, as you would to invoke(), e.g. "
                f"record(graph, {{{next(iter(channels))!r}: ...}})"
            )

    def given_input(self, value: Any) -> None:
        """Record a captured call's input as the app gave it."""
        self.flush()
        if isinstance(value, str):
            self.recorder.input(agent=self.root, value=value, parent_id=None)
        else:
            record_input(self.recorder, self.root, value, *self._resume_value(value))

    def keep(self, state: Any) -> None:
        if isinstance(state, dict):
            self.state = state

    @contextlib.contextmanager
    def bound(self) -> Iterator[None]:
        """Graph calls inside the block belong to this session (see ``_capture``)."""
        from nex_langgraph._capture import bound

        with bound(self):
            yield

    def finish(self, error: BaseException | None) -> Trajectory:
        self.flush()
        self.handler.finished = True
        if isinstance(error, MaxStepsExceeded):
            self.handler.close_chains(None)
            return self.recorder.finish(
                Outcome(status=OutcomeStatus.MAX_STEPS, final_output=None, stop_reason="max_steps")
            )
        if error is not None:
            return self.recorder.fail(error)
        if self.handler.interrupts:
            approvals = self.handler.approvals
            session = self.recorder.trajectory.session_id
            if approvals and session is not None:
                checkpointer = getattr(self.graph, "checkpointer", None)
                thread = (self.config.get("configurable") or {}).get("thread_id")
                PAUSES.put(session, Pause(dict(approvals), checkpointer, thread))
            pending = nest_requests(self.recorder.trajectory, self.handler.pending())
            self._end_handoffs_at_pause()
            return self.recorder.finish(
                Outcome(
                    status=OutcomeStatus.INTERRUPTED,
                    stop_reason=APPROVAL_STOP_REASON if approvals else "interrupt",
                    pending=pending,
                )
            )
        output = self.handler.output if self.handler.has_output() else self.state
        return self.recorder.finish(self._outcome(output))

    def _end_handoffs_at_pause(self) -> None:
        """A handoff whose agent paused ends there without an answer, as the native runtime
        ends it (``ok``, output ``None``): the agent handed to is waiting, not cancelled. The
        resumed run goes on inside the agent that paused. Steps enclosing an agent used as a
        tool were closed ``cancelled`` by ``nest_requests``, as native closes those."""
        for step in self.recorder.trajectory.steps:
            if (
                isinstance(step, SubAgentStep)
                and step.mode == "handoff"
                and step.status is StepStatus.RUNNING
            ):
                self.recorder.end_subagent(step, None)

    def _outcome(self, output: Any) -> Outcome:
        """The run's answer, from the graph's output as returned: an agent's structured
        response, its conversation's last answer, or a workflow's whole final state."""
        state = output if isinstance(output, dict) else {}
        structured = state.get("structured_response")
        if structured is not None:
            self.handler.close_chains(None)
            return Outcome(
                status=OutcomeStatus.COMPLETED,
                final_output=output_json(structured),
                structured_output=to_jsonable(structured),
                stop_reason="final_answer",
            )
        if "messages" in state or not output:
            messages: list[BaseMessage] = list(state.get("messages") or [])
            final = final_text(messages)
            self.handler.close_chains(final)
            return Outcome(
                status=OutcomeStatus.COMPLETED,
                final_output=final,
                stop_reason=_stop_reason(messages),
            )
        self.handler.close_chains(None)
        return Outcome(
            status=OutcomeStatus.COMPLETED,
            final_output=output if isinstance(output, str) else output_json(output),
            structured_output=None if isinstance(output, str) else to_jsonable(output),
            stop_reason="final_answer",
        )


def hookable(
    spec: AgentSpec | TeamSpec, plain_nodes: frozenset[str], members: list[str], threaded: bool
) -> bool:
    """Whether the hooks see everything a run of this graph records: agents, agents used as
    tools and their tools. Handoffs (supervisor, swarm), teams and a workflow's plain nodes are
    known only from node runs, and interrupts only from a checkpointed graph's node runs: those
    graphs are recorded through callbacks (see docs/decisions.md)."""
    if threaded or plain_nodes or members or not isinstance(spec, AgentSpec):
        return False
    return all(sub.mode is ContextMode.TOOL for agent in spec.walk() for sub in agent.sub_agents)


def with_handler(config: dict[str, Any], handler: Any) -> dict[str, Any]:
    """A copy of a run config with ``handler`` among its callbacks (a list, a manager or none,
    as the caller gave them)."""
    out = dict(config)
    if handler is None:
        return out
    callbacks = out.get("callbacks")
    if callbacks is None:
        out["callbacks"] = [handler]
    elif isinstance(callbacks, list | tuple):
        out["callbacks"] = [*callbacks, handler]
    else:  # a callback manager
        manager = callbacks.copy()
        manager.add_handler(handler, inherit=True)
        out["callbacks"] = manager
    return out


def _stop_reason(messages: list[BaseMessage]) -> str:
    if messages and isinstance(messages[-1], ToolMessage):
        return f"stop_tool:{messages[-1].name}"
    return "final_answer" if messages else "no_turns"


def _last_values(chunk: Any) -> Any:
    mode, data = chunk if isinstance(chunk, tuple) and len(chunk) == 2 else ("values", chunk)
    return data if mode == "values" else None


def record_sync(session: _Session, mode: Mode) -> Trajectory:
    try:
        with session.bound():
            _turns_sync(session, mode)
    except KeyboardInterrupt as exc:  # Ctrl-C in a sync run: record what finished, go on
        session.finish(exc)
        raise
    except Exception as exc:
        return session.finish(exc)
    return session.finish(None)


def _turns_sync(session: _Session, mode: Mode) -> None:
    for turn in session.inputs:
        inputs = session.next_input(turn)
        if mode == "stream":
            for chunk in session.graph.stream(
                inputs, session.config, stream_mode=["messages", "values"]
            ):
                values = _last_values(chunk)
                if values is not None:
                    session.keep(values)
        else:
            session.keep(session.graph.invoke(inputs, session.config))


async def record_async(session: _Session, mode: Mode) -> Trajectory:
    try:
        with session.bound():
            await _turns_async(session, mode)
    except asyncio.CancelledError as exc:  # Ctrl-C, a timeout: record what finished, go on
        session.finish(exc)
        raise
    except Exception as exc:
        return session.finish(exc)
    return session.finish(None)


async def _turns_async(session: _Session, mode: Mode) -> None:
    for turn in session.inputs:
        inputs = session.next_input(turn)
        if mode == "astream":
            stream = session.graph.astream(
                inputs, session.config, stream_mode=["messages", "values"]
            )
            async for chunk in stream:
                values = _last_values(chunk)
                if values is not None:
                    session.keep(values)
        else:
            session.keep(await session.graph.ainvoke(inputs, session.config))


def _foreign_provenance(spec: AgentSpec | TeamSpec, digest: str, task: TaskInfo) -> Provenance:
    root = spec if isinstance(spec, AgentSpec) else spec.members[0]
    return Provenance(
        framework="langgraph",
        framework_version=langgraph_version(),
        adapter="langgraph",
        adapter_version=__version__,
        nex_version=nex_version,
        spec_digest=digest,
        model=root.model.id,
        sampling=root.model.sampling(),
        task_id=task.id,
    )


class _Found(tuple[AgentSpec | TeamSpec, str, dict[int, tuple[Any, str]], frozenset[str]]):
    """A graph's spec, its digest, the names given to its unnamed graphs, its plain nodes."""


_SPECS: weakref.WeakKeyDictionary[Any, _Found] = weakref.WeakKeyDictionary()
"""Conversions of graphs already recorded: a compiled graph does not change, and users record the
same graph for many tasks, so it is introspected once."""


def _spec_of(graph: Any) -> _Found:
    """The graph's spec and its digest (for provenance), converted once per graph."""
    from nex_langgraph._convert import converted

    try:
        return _SPECS[graph]
    except (KeyError, TypeError):
        pass
    conversion, names, plain = converted(graph)
    spec = conversion.spec
    found = _Found((spec, spec_digest(spec), names, plain))
    with contextlib.suppress(TypeError):
        _SPECS[graph] = found
    return found


def task_and_inputs(task: Any) -> tuple[TaskInfo, list[Any] | None]:
    """A task as its text turns and, when any turn is a graph input as given (a state dict, a
    ``Command``), every turn's input. A list or tuple is a sequence of turns."""
    if isinstance(task, TaskInfo | str):
        return as_task(task), None
    turns = list(task) if isinstance(task, list | tuple) else [task]
    texts = [text for text in map(turn_text, turns) if text is not None]
    return TaskInfo(turns=texts), turns


def session_for_graph(
    graph: Any,
    task: Any,
    sinks: Sequence[TrajectorySink],
    spec: AgentSpec | TeamSpec | None,
    *,
    config: dict[str, Any] | None = None,
    session_id: str | None = None,
    drive: bool = True,
) -> _Session:
    info, inputs = task_and_inputs(task)
    graph = compiled(graph)
    names: dict[int, tuple[Any, str]] = {}
    plain: frozenset[str] = frozenset()
    if spec is not None:
        digest = spec_digest(spec)
    else:
        spec, digest, names, plain = _spec_of(graph)
    session = _Session(
        graph,
        spec,
        info,
        _foreign_provenance(spec, digest, info),
        sinks,
        inputs=inputs,
        config=config,
        names=names,
        plain_nodes=plain,
        session_id=session_id,
        drive=drive,
    )
    if drive:
        session.check_text_turns()
    return session


def _spec_provenance(spec: AgentSpec | TeamSpec, model: ChatModel, task: TaskInfo) -> Provenance:
    return provenance_for(
        spec,
        model,
        task,
        framework="langgraph",
        framework_version=langgraph_version(),
        adapter="langgraph",
        adapter_version=__version__,
    )


def session_for_spec(
    spec: AgentSpec | TeamSpec,
    task: TaskInfo | str,
    model: ChatModel,
    sinks: Sequence[TrajectorySink],
    mcp: MCPTools | None = None,
) -> _Session:
    task = as_task(task)
    graph = build_graph(spec, model, mcp=mcp)
    return _Session(graph, spec, task, _spec_provenance(spec, model, task), sinks)


async def _drive(session: _Session, mode: Mode) -> Trajectory:
    if mode in ("invoke", "stream"):
        import asyncio

        return await asyncio.to_thread(record_sync, session, mode)
    return await record_async(session, mode)


async def _arun_mcp(
    spec: AgentSpec | TeamSpec,
    task: TaskInfo,
    model: ChatModel,
    sinks: Sequence[TrajectorySink],
    mode: Mode,
) -> Trajectory:
    """A run whose tools include MCP tools: schemas asked of the servers first (a failure there
    fails the run, as natively), then the graph built and driven while the sessions are open."""
    async with mcp_for_run(spec) as mcp:
        try:
            await mcp.discover(spec)
        except Exception as exc:
            root = spec.name if isinstance(spec, AgentSpec) else spec.members[0].name
            provenance = _spec_provenance(spec, model, task)
            recorder = Recorder(provenance=provenance, task=task, root_agent=root, sinks=sinks)
            return recorder.fail(exc)
        return await _drive(session_for_spec(spec, task, model, sinks, mcp), mode)


def _unbound(
    spec: AgentSpec | TeamSpec,
    task: TaskInfo,
    model: ChatModel,
    sinks: Sequence[TrajectorySink],
) -> Trajectory | None:
    """The failed run of a spec whose tool bindings cannot be resolved, else ``None``.

    Resolved once, before the graph is built and the first model call, as every backend does:
    an unresolvable binding is a configuration error recorded as the run's outcome, and no tool
    call pays for importing its module.
    """
    try:
        resolve_bindings(spec, check_mcp_servers=shared_pool() is None)
    except ToolBindingError as exc:
        root = spec.name if isinstance(spec, AgentSpec) else spec.members[0].name
        provenance = _spec_provenance(spec, model, task)
        return Recorder(provenance=provenance, task=task, root_agent=root, sinks=sinks).fail(exc)
    return None


async def arun(
    spec: AgentSpec | TeamSpec,
    task: TaskInfo | str,
    *,
    model: ChatModel,
    sinks: Sequence[TrajectorySink] = (),
    mode: Mode = "ainvoke",
) -> Trajectory:
    """Build ``spec`` in LangGraph, run ``task`` with ``model`` and return the trajectory.

    MCP servers come from the pool set by :func:`nex_core.runtime.mcp.use_shared_pool`, else
    from a pool of this run's own (closed when the run ends). A tool binding that cannot be
    resolved fails the run (outcome ``error``) before the first model call.
    """
    task = as_task(task)
    failed = _unbound(spec, task, model, sinks)
    if failed is not None:
        return failed
    if uses_mcp(spec):
        return await _arun_mcp(spec, task, model, sinks, mode)
    return await _drive(session_for_spec(spec, task, model, sinks), mode)


def run(
    spec: AgentSpec | TeamSpec,
    task: TaskInfo | str,
    *,
    model: ChatModel,
    sinks: Sequence[TrajectorySink] = (),
    mode: Mode = "invoke",
) -> Trajectory:
    """Synchronous :func:`arun` (``graph.invoke`` or ``graph.stream``); works inside a running
    event loop too (see :func:`nex_core.adapter.run_sync`)."""
    task = as_task(task)
    failed = _unbound(spec, task, model, sinks)
    if failed is not None:
        return failed
    if uses_mcp(spec):
        return run_sync(arun(spec, task, model=model, sinks=sinks, mode=mode))
    session = session_for_spec(spec, task, model, sinks)
    if mode in ("ainvoke", "astream"):
        return run_sync(record_async(session, mode))
    return record_sync(session, mode)


async def arecord(
    graph: Any,
    task: Any,
    *,
    sinks: Sequence[TrajectorySink] = (),
    mode: Mode = "ainvoke",
    spec: AgentSpec | TeamSpec | None = None,
    config: dict[str, Any] | None = None,
) -> Trajectory:
    """Run a graph the user built, recording it (its agents are found by converting it).

    ``task`` is user text, a :class:`TaskInfo` of text turns, a graph input as given (a state
    dict, ``Command(resume=...)``), or a list of such turns. ``config`` is passed to the graph
    (its ``thread_id`` names the checkpointer thread, so a later call can resume it)."""
    session = session_for_graph(graph, task, sinks, spec, config=config)
    if mode in ("invoke", "stream"):
        import asyncio

        return await asyncio.to_thread(record_sync, session, mode)
    return await record_async(session, mode)


def record(
    graph: Any,
    task: Any,
    *,
    sinks: Sequence[TrajectorySink] = (),
    mode: Mode = "invoke",
    spec: AgentSpec | TeamSpec | None = None,
    config: dict[str, Any] | None = None,
) -> Trajectory:
    """Synchronous :func:`arecord`; works inside a running event loop too."""
    session = session_for_graph(graph, task, sinks, spec, config=config)
    if mode in ("ainvoke", "astream"):
        return run_sync(record_async(session, mode))
    return record_sync(session, mode)
