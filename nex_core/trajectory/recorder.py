"""The recorder: how adapters write trajectories.

Safe from threads (one lock around the step list) and from asyncio tasks (the current parent step
lives in a context variable, so concurrent tasks each nest under their own parent). Adapters whose
framework reports parents explicitly (LangGraph callbacks) pass ``parent_id`` instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from itertools import compress, count
from operator import is_not, not_
from typing import Any, Literal

from pydantic import BaseModel

from nex_core.trajectory import _build
from nex_core.trajectory._build import assign as _assign
from nex_core.trajectory._build import plain as _plain
from nex_core.trajectory.redact import needs_redaction, redact
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
    _Record,
    utcnow,
)
from nex_core.trajectory.sinks import TrajectorySink

_current_parent: ContextVar[str | None] = ContextVar("nex_current_parent", default=None)
_current_recorder: ContextVar[Recorder | None] = ContextVar("nex_current_recorder", default=None)


class _Unset:
    pass


_ids = random.Random()
"""Step ids: 64 random bits from a generator seeded by the OS. Not ``os.urandom`` per step, which
releases the GIL: in a tool's worker thread that hands the interpreter to another thread while
the recorder's lock is held, and a run's threads then queue behind each other. A private
generator, so a program's ``random.seed`` cannot make ids repeat."""
os.register_at_fork(after_in_child=_ids.seed)  # a forked worker must not repeat its parent's ids


UNSET: Any = _Unset()

class _Under:
    """The context manager of :meth:`Recorder.under`."""

    __slots__ = ("_parent", "_token")

    def __init__(self, parent_id: str | None) -> None:
        self._parent = parent_id

    def __enter__(self) -> None:
        self._token = _current_parent.set(self._parent)

    def __exit__(self, *exc: object) -> None:
        _current_parent.reset(self._token)


def current_recorder() -> Recorder | None:
    """The recorder of the run this code executes in, if any."""
    return _current_recorder.get()


def current_parent_id() -> str | None:
    return _current_parent.get()


def error_info(error: BaseException | ErrorInfo | str) -> ErrorInfo:
    if isinstance(error, ErrorInfo):
        return error
    if isinstance(error, str):
        return ErrorInfo(type="Error", message=error)
    return ErrorInfo(type=type(error).__name__, message=str(error) or type(error).__name__)


def to_jsonable(value: Any) -> Any:
    """A JSON-compatible form of a tool result (strings, numbers, lists, dicts stay as they are)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    return str(value)


def parse_arguments(
    arguments: dict[str, Any] | str | None,
) -> tuple[dict[str, Any] | None, str | None]:
    """(parsed, raw): raw is kept only when parsing fails."""
    if arguments is None:
        return {}, None
    if isinstance(arguments, dict):
        return to_jsonable(arguments), None
    if arguments == "{}":  # a tool without arguments, called as models call it
        return {}, None
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return None, arguments
    if not isinstance(value, dict):
        return None, arguments
    return value, None


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
        self.trajectory = Trajectory(
            id=trajectory_id or uuid.uuid4().hex,
            provenance=provenance,
            task=task or TaskInfo(),
            root_agent=root_agent,
            session_id=session_id,
            started_at=utcnow(),
        )
        self._sinks = list(sinks)
        self._lock = threading.Lock()
        self._t0: dict[str, float] = {}
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
            self._t0[step.id] = time.perf_counter()
        if self._listeners:
            for listener in self._listeners:
                listener(step)
        return step

    def _parent(self, parent_id: Any) -> str | None:
        return _current_parent.get() if parent_id is UNSET else parent_id

    @staticmethod
    def new_id() -> str:
        return f"{_ids.getrandbits(64):016x}"

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
        parent = self._parent(parent_id)
        if (
            (metadata is None or _build.string_keys(metadata))
            and type(request) is LLMRequest
            and _plain(agent)
            and _plain(model)
            and _plain(parent)
            and _plain(step_id)
        ):
            # Every value is already what validation would keep (the common case, the native
            # runtime's every call): built without running the validator again.
            step = _build.llm_step(
                step_id or self.new_id(),
                parent,
                agent,
                utcnow(),
                model,
                request,
                None if metadata is None else dict(metadata),  # a copy, as validation makes
            )
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
            _assign(step, "response", response)
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
        parent = self._parent(parent_id)
        if (
            metadata is None
            and type(name) is str
            and _plain(agent)
            and _plain(call_id)
            and _plain(parent)
            and _plain(step_id)
        ):
            # As in begin_llm: the parsed arguments are a new dict of JSON values already.
            step = _build.tool_step(
                step_id or self.new_id(), parent, agent, utcnow(), call_id, name, parsed, raw
            )
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
            if error is None:
                _assign(step, "result", to_jsonable(result))
            _assign(
                step,
                "latency_ms",
                (time.perf_counter() - self._t0.get(step.id, time.perf_counter())) * 1e3,
            )
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
        step = SubAgentStep(
            id=step_id or self.new_id(),
            parent_id=self._parent(parent_id),
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
            step.output = output
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
        self._t0.pop(step.id, None)
        return step

    def _close(self, step: Any, error: BaseException | ErrorInfo | str | None) -> None:
        _assign(step, "ended_at", utcnow())
        if error is None:
            _assign(step, "status", StepStatus.OK)
        else:
            cancelled = isinstance(error, BaseException) and _is_cancellation(error)
            step.status = StepStatus.CANCELLED if cancelled else StepStatus.ERROR
            step.error = error_info(error)
        self._t0.pop(step.id, None)
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
            self.trajectory.outcome = outcome
            self.trajectory.ended_at = now
            self.trajectory = scrub(self.trajectory)
        for sink in self._sinks:
            sink.write(self.trajectory)
        return self.trajectory

    def fail(self, error: BaseException) -> Trajectory:
        status = OutcomeStatus.CANCELLED if _is_cancellation(error) else OutcomeStatus.ERROR
        return self.finish(
            Outcome(status=status, stop_reason=type(error).__name__, error=error_info(error))
        )


def _is_cancellation(error: BaseException) -> bool:
    import asyncio

    return isinstance(error, asyncio.CancelledError | KeyboardInterrupt)


def scrub(trajectory: Trajectory) -> Trajectory:
    """The trajectory with every registered secret replaced by ``[REDACTED]``.

    Every recorded run passes through here, so the common case (nothing to redact) must be cheap:
    the strings of the trajectory (each shared message object visited once) are searched without
    serialising the trajectory. Only a run that holds a secret is rebuilt, copying just the
    records on the way to a redacted string. Values whose JSON form the walk cannot predict (an
    adapter's unusual metadata) fall back to scrubbing the serialised text.
    """
    strings = _strings(trajectory)
    if strings is None:
        return _scrub_text(trajectory)
    try:
        # NUL never occurs in a token or a secret, and it keeps neighbouring strings apart.
        text = "\0".join(strings)
    except TypeError:  # a dict key that is not a string
        return _scrub_text(trajectory)
    if not needs_redaction(text):
        return trajectory
    return _redacted(trajectory, {})


def _scrub_text(trajectory: Trajectory) -> Trajectory:
    text = trajectory.to_json()
    if not needs_redaction(text):
        return trajectory
    return Trajectory.model_validate_json(redact(text))


_OPAQUE = (int, float, datetime, type(None))
"""Values that carry no text a secret could hide in (``bool`` is an ``int``)."""
_OPAQUE_TYPES = frozenset({int, float, bool, datetime, type(None)})


def _strings(root: _Record) -> list[Any] | None:
    """Every string in ``root`` (dict keys included, in no particular order); ``None`` when it
    holds a value of a kind this walk does not know (other pydantic models among them: their
    JSON may hold more than their fields). Records shared by several requests (the messages of a
    conversation) are visited once."""
    out: list[Any] = []
    add = out.append
    seen: set[int] = set()
    stack: list[Any] = [root]
    push, pop = stack.append, stack.pop
    previous: list[Any] | tuple[Any, ...] = ()
    while stack:
        container = pop()
        kind = type(container)
        if kind is dict:
            out.extend(container)  # the keys; one that is not a string makes the join fail
            items = container.values()
        elif kind is list or kind is tuple:
            # Every request's message list repeats the run's earlier (shared) messages, and
            # requests are visited one after another: skip the leading items that are the very
            # objects of the list visited before (visited, so nothing new), then drop the
            # records already seen, both in C. Strings and numbers are never in ``seen``.
            rest = container
            if len(container) > 4:  # a short list (tools, content parts) costs little anyway
                rest = container[_shared_prefix(container, previous) :]
                previous = container
            items = compress(rest, map(not_, map(seen.__contains__, map(id, rest))))
        else:  # a record, pushed once
            items = container.__dict__.values()
        for item in items:
            kind = type(item)
            if kind is str:
                add(item)
            elif kind in _OPAQUE_TYPES:
                pass
            elif kind is dict or kind is list or kind is tuple:
                push(item)
            elif isinstance(item, _Record):
                # Shared between requests (messages): marked at push, so pushed once.
                if id(item) not in seen:
                    seen.add(id(item))
                    push(item)
            elif isinstance(item, str):  # the schema's enums
                add(item)
            elif not isinstance(item, _OPAQUE):
                return None
    return out


def _shared_prefix(items: list[Any] | tuple[Any, ...], other: list[Any] | tuple[Any, ...]) -> int:
    """How many leading items of ``items`` are equal to ``other``'s (their strings are then
    the same ones). Sequence equality runs in C and takes identical objects as equal without
    calling their ``__eq__``: the common case (a request that repeats or extends the previous
    one) costs a few nanoseconds an item, not a Python step."""
    n = min(len(items), len(other))
    if n == 0:
        return 0
    if len(items) <= len(other):
        if items == other[:n]:
            return n
    elif items[:n] == other:
        return n
    return next(compress(count(), map(is_not, items, other)), n)


def _redacted(value: Any, memo: dict[int, Any]) -> Any:
    """``value`` with its strings redacted; unchanged parts (and shared records) are reused."""
    if isinstance(value, str):
        return _redacted_text(value)
    if isinstance(value, _Record):
        done = memo.get(id(value))
        if done is None:
            changes = {}
            for name, item in value.__dict__.items():
                new = _redacted(item, memo)
                if new is not item:
                    changes[name] = new
            done = value
            if changes:
                done = value.model_copy()
                done.__dict__.update(changes)
            memo[id(value)] = done
        return done
    if isinstance(value, list | tuple):
        items = [_redacted(item, memo) for item in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        pairs = [
            (_redacted_text(k) if isinstance(k, str) else k, _redacted(v, memo))
            for k, v in value.items()
        ]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    return value


def _redacted_text(text: str) -> str:
    if not needs_redaction(text):  # most strings: no secret, no marker
        return text
    return redact(text)
