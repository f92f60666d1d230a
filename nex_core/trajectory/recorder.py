"""The recorder: how adapters write trajectories.

Safe from threads (a step is appended in one atomic ``list.append``, and one lock orders the
ends of steps against ``finish``) and from asyncio tasks (the current parent step
lives in a context variable, so concurrent tasks each nest under their own parent). Adapters whose
framework reports parents explicitly (LangGraph callbacks) pass ``parent_id`` instead.

The parts it stands on live beside it, one job each, and are re-exported here under the names
they always had: the run's context (``_context``: current recorder and parent, step ids), stored
values (``_values``: errors, tool results, arguments), the end-of-run secret scrub (``scrub``),
and records built without revalidation (``_build``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

from nex_core.trajectory import _build
from nex_core.trajectory._build import assign as _assign
from nex_core.trajectory._context import (
    UNSET,
    _current_parent,
    _current_recorder,
    _Under,
    current_parent_id,
    current_recorder,
)
from nex_core.trajectory._context import new_id as _new_id
from nex_core.trajectory._context import new_trajectory_id as _new_trajectory_id
from nex_core.trajectory._values import error_info, is_cancellation, parse_arguments, to_jsonable
from nex_core.trajectory.schema import (
    ErrorInfo,
    InputStep,
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    StepStatus,
    SubAgentStep,
    TaskInfo,
    ToolStep,
    Trajectory,
    utcnow,
)
from nex_core.trajectory.scrub import scrub
from nex_core.trajectory.sinks import TrajectorySink

__all__ = [
    "UNSET",
    "Recorder",
    "current_parent_id",
    "current_recorder",
    "error_info",
    "parse_arguments",
    "scrub",
    "to_jsonable",
]


_ENDED_OK_LLM = ("response", "ended_at", "status")
_ENDED_OK_TOOL = ("result", "latency_ms", "ended_at", "status")
_now = datetime.now  # schema.utcnow, inlined where it runs once per step
_perf = time.perf_counter
_OK = StepStatus.OK  # an enum member read through its class costs a lookup per step
_parent_of = _current_parent.get
_SUBAGENT_MODES = frozenset({"tool", "handoff", "team_turn"})


class Recorder:
    """Builds one :class:`Trajectory` while a run executes, then hands it to sinks."""

    def __init__(
        self,
        *,
        provenance: Provenance,
        task: TaskInfo | None = None,
        root_agent: str | None = None,
        sinks: Sequence[TrajectorySink] = (),
        trajectory_id: str | None = None,
        listeners: Sequence[Callable[[Any], None]] = (),
        session_id: str | None = None,
    ) -> None:
        if (
            type(provenance) is Provenance
            and (task is None or type(task) is TaskInfo)
            and (trajectory_id is None or type(trajectory_id) is str)
            and (root_agent is None or type(root_agent) is str)
            and (session_id is None or type(session_id) is str)
        ):
            # What validation would make of these (it keeps the given records as they are),
            # built without it: a recorder starts once per run, and per GAP episode.
            self.trajectory = _build.trajectory(
                trajectory_id or _new_trajectory_id(),
                provenance,
                _build.empty_task() if task is None else task,
                root_agent,
                session_id,
                _now(UTC),
            )
        else:
            self.trajectory = Trajectory(
                id=trajectory_id or _new_trajectory_id(),
                provenance=provenance,
                task=task or TaskInfo(),
                root_agent=root_agent,
                session_id=session_id,
                started_at=utcnow(),
            )
        self._sinks = list(sinks)
        self._lock = threading.Lock()
        self._t0: dict[int, float] = {}
        """A running tool step's start (``perf_counter``), by ``id(step)``: the step is in
        ``trajectory.steps`` until the run ends, so its id is not reused meanwhile."""
        self._finished = False
        self._listeners = list(listeners)

    # ------------------------------------------------------------------ activation

    @contextmanager
    def active(self) -> Iterator[Recorder]:
        """Make this the current recorder for code running inside the block."""
        token = _current_recorder.set(self)
        try:
            yield self
        finally:
            _current_recorder.reset(token)

    def under(self, parent_id: str | None) -> _Under:
        """Nest steps begun inside the block under ``parent_id``."""
        # A small class, not a generator context manager: the runtime enters one per tool call.
        return _Under(parent_id)

    # ------------------------------------------------------------------ low-level API

    def _add(self, step: Any) -> Any:
        with self._lock:
            self.trajectory.steps.append(step)
            if step.kind == "tool":  # only a tool step's latency is measured
                self._t0[id(step)] = _perf()
        if self._listeners:
            for listener in self._listeners:
                listener(step)
        return step

    def _parent(self, parent_id: Any) -> str | None:
        return _current_parent.get() if parent_id is UNSET else parent_id

    new_id = staticmethod(_new_id)

    def begin_llm(
        self,
        *,
        agent: str | None,
        request: LLMRequest,
        model: str | None = None,
        parent_id: str | None = UNSET,
        step_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> LLMStep:
        parent = _parent_of() if parent_id is UNSET else parent_id
        if (
            type(request) is LLMRequest
            and (agent is None or type(agent) is str)
            and (model is None or type(model) is str)
            and (parent is None or type(parent) is str)
            and (step_id is None or type(step_id) is str)
            and (metadata is None or _build.string_keys(metadata))
        ):
            # Every value is already what validation would keep (the common case, the native
            # runtime's every call): built without running the validator again. The checks are
            # written out (not ``_plain``): this runs once per model call of every adapter.
            step = _build.llm_step(
                step_id or _new_id(),
                parent,
                agent,
                _now(UTC),
                model,
                request,
                None if metadata is None else dict(metadata),  # a copy, as validation makes
            )
            # _add, inlined (once per model call): a model call's latency is not measured. The
            # append is atomic (with or without the GIL); the lock orders ends against finish.
            self.trajectory.steps.append(step)
            if self._listeners:
                for listener in self._listeners:
                    listener(step)
            return step
        else:
            step = LLMStep(
                id=step_id or self.new_id(),
                parent_id=parent,
                agent=agent,
                started_at=utcnow(),
                model=model,
                request=request,
                metadata=metadata or {},
            )
        return self._add(step)

    def end_llm(
        self,
        step: LLMStep,
        response: LLMResponse | None = None,
        *,
        error: BaseException | ErrorInfo | str | None = None,
    ) -> None:
        with self._lock:
            fields = step.__dict__  # _build.assign, inlined: once per model call
            fields["response"] = response
            fields["ended_at"] = _now(UTC)
            if error is None:
                fields["status"] = _OK
                step.__pydantic_fields_set__.update(_ENDED_OK_LLM)
                if self._listeners:  # under the lock, as _close calls them
                    for listener in self._listeners:
                        listener(step)
            else:
                step.__pydantic_fields_set__.add("response")
                self._close(step, error)

    def begin_tool(
        self,
        *,
        agent: str | None,
        name: str,
        call_id: str | None,
        arguments: dict[str, Any] | str | None,
        parent_id: str | None = UNSET,
        step_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ToolStep:
        parsed, raw = parse_arguments(arguments)
        parent = _parent_of() if parent_id is UNSET else parent_id
        if (
            metadata is None
            and type(name) is str
            and (agent is None or type(agent) is str)
            and (call_id is None or type(call_id) is str)
            and (parent is None or type(parent) is str)
            and (step_id is None or type(step_id) is str)
        ):
            # As in begin_llm: the parsed arguments are a new dict of JSON values already.
            step = _build.tool_step(
                step_id or _new_id(),
                parent,
                agent,
                _now(UTC),
                call_id,
                name,
                parsed,
                raw,
            )
            # _add, inlined (once per tool call): the start time is set before the step is
            # returned, so its end always finds it; both operations are atomic.
            self._t0[id(step)] = _perf()
            self.trajectory.steps.append(step)
            if self._listeners:
                for listener in self._listeners:
                    listener(step)
            return step
        else:
            step = ToolStep(
                id=step_id or self.new_id(),
                parent_id=parent,
                agent=agent,
                started_at=utcnow(),
                call_id=call_id,
                name=name,
                arguments=parsed,
                raw_arguments=raw,
                metadata=metadata or {},
            )
        return self._add(step)

    def end_tool(
        self,
        step: ToolStep,
        result: Any = None,
        *,
        error: BaseException | ErrorInfo | str | None = None,
    ) -> None:
        with self._lock:
            t0 = self._t0.pop(id(step), None)
            latency = (_perf() - t0) * 1e3 if t0 is not None else 0.0
            if error is None:
                fields = step.__dict__  # _build.assign, inlined: once per tool call
                fields["result"] = to_jsonable(result)
                fields["latency_ms"] = latency
                fields["ended_at"] = _now(UTC)
                fields["status"] = _OK
                step.__pydantic_fields_set__.update(_ENDED_OK_TOOL)
                if self._listeners:  # under the lock, as _close calls them
                    for listener in self._listeners:
                        listener(step)
            else:
                _assign(step, "latency_ms", latency)
                self._close(step, error)

    def begin_subagent(
        self,
        *,
        agent: str | None,
        child: str,
        mode: Literal["tool", "handoff", "team_turn"],
        input: list[Message],
        call_id: str | None = None,
        parent_id: str | None = UNSET,
        step_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> SubAgentStep:
        parent = _parent_of() if parent_id is UNSET else parent_id
        if (
            metadata is None
            and type(child) is str
            and type(mode) is str
            and mode in _SUBAGENT_MODES
            and type(input) is list
            and all(type(message) is Message for message in input)
            and (agent is None or type(agent) is str)
            and (call_id is None or type(call_id) is str)
            and (parent is None or type(parent) is str)
            and (step_id is None or type(step_id) is str)
        ):
            step = _build.subagent_step(
                step_id or _new_id(), parent, agent, _now(UTC), child, mode, call_id, list(input)
            )
        else:
            step = SubAgentStep(
                id=step_id or _new_id(),
                parent_id=parent,
                agent=agent,
                started_at=utcnow(),
                child=child,
                mode=mode,
                call_id=call_id,
                input=list(input),
                metadata=metadata or {},
            )
        return self._add(step)

    def end_subagent(
        self,
        step: SubAgentStep,
        output: str | None = None,
        *,
        error: BaseException | ErrorInfo | str | None = None,
    ) -> None:
        with self._lock:
            _assign(step, "output", output)  # the schema validates no assignment
            self._close(step, error)

    def input(
        self,
        *,
        agent: str | None,
        value: Any,
        mode: Literal["input", "resume"] = "input",
        parent_id: str | None = UNSET,
        metadata: dict[str, Any] | None = None,
    ) -> InputStep:
        """Record input that reached the run (a resume value, a structured turn input)."""
        now = utcnow()
        step = InputStep(
            id=self.new_id(),
            parent_id=self._parent(parent_id),
            agent=agent,
            started_at=now,
            ended_at=now,
            status=StepStatus.OK,
            mode=mode,
            value=to_jsonable(value),
            metadata=metadata or {},
        )
        self._add(step)
        self._t0.pop(id(step), None)
        return step

    def _close(self, step: Any, error: BaseException | ErrorInfo | str | None) -> None:
        _assign(step, "ended_at", _now(UTC))
        if error is None:
            _assign(step, "status", StepStatus.OK)
        else:
            cancelled = isinstance(error, BaseException) and is_cancellation(error)
            step.status = StepStatus.CANCELLED if cancelled else StepStatus.ERROR
            step.error = error_info(error)
        self._t0.pop(id(step), None)
        if self._listeners:
            for listener in self._listeners:
                listener(step)

    # ------------------------------------------------------------------ context managers

    @contextmanager
    def llm_call(self, **kw: Any) -> Iterator[LLMStep]:
        """Record an LLM call; set ``step.response`` inside the block or call ``end_llm``."""
        step = self.begin_llm(**kw)
        try:
            yield step
        except BaseException as exc:
            self.end_llm(step, step.response, error=exc)
            raise
        if step.status is StepStatus.RUNNING:
            self.end_llm(step, step.response)

    @contextmanager
    def subagent(self, **kw: Any) -> Iterator[SubAgentStep]:
        """Record a sub-agent invocation; steps begun inside the block nest under it."""
        step = self.begin_subagent(**kw)
        token = _current_parent.set(step.id)
        try:
            yield step
        except BaseException as exc:
            self.end_subagent(step, step.output, error=exc)
            raise
        finally:
            _current_parent.reset(token)
        if step.status is StepStatus.RUNNING:
            self.end_subagent(step, step.output)

    # ------------------------------------------------------------------ finishing

    def finish(self, outcome: Outcome) -> Trajectory:
        """Close the run, scrub secrets, and write the trajectory to every sink (once)."""
        with self._lock:
            if self._finished:
                return self.trajectory
            self._finished = True
            now = utcnow()
            for step in self.trajectory.steps:
                if step.status is StepStatus.RUNNING:
                    step.status = StepStatus.CANCELLED
                    step.ended_at = now
            _assign(self.trajectory, "outcome", outcome)
            _assign(self.trajectory, "ended_at", now)
            self.trajectory = scrub(self.trajectory)
        for sink in self._sinks:
            sink.write(self.trajectory)
        return self.trajectory

    def fail(self, error: BaseException) -> Trajectory:
        status = OutcomeStatus.CANCELLED if is_cancellation(error) else OutcomeStatus.ERROR
        return self.finish(
            Outcome(status=status, stop_reason=type(error).__name__, error=error_info(error))
        )
