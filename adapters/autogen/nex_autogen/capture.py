"""Zero-change capture: every AutoGen run of a block of code, or of a whole process, recorded.

An app runs an agent or a team with ``run(task=...)`` or ``run_stream(task=...)`` (often inside
``Console(...)``), and resumes a paused Swarm the same way with a ``HandoffMessage``. While a
capture is on, ``BaseChatAgent.run``, ``BaseChatAgent.run_stream`` and
``BaseGroupChat.run_stream`` (which ``BaseGroupChat.run`` calls) are wrapped: a call made outside
any recorded run is recorded as one trajectory — the object tree instrumented for the length of
the call (see :class:`nex_autogen.record.Instrumentation`), put back after — while calls made
inside one (an ``AgentTool``, a ``TeamTool``) belong to it. What the app gets back is unchanged.

Runs of one agent or team share a ``session_id`` (AutoGen objects keep their conversation
between runs), so a paused and resumed Swarm reads back as one conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

from autogen_agentchat.agents import BaseChatAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.teams import BaseGroupChat

from nex_autogen.record import Instrumentation
from nex_autogen.run import (
    outcome_of,
    record_task_input,
    session_of,
    task_and_turns,
    turn_output,
)
from nex_autogen.tools import NEW_RUNNER_HOOK
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import Outcome, OutcomeStatus, Trajectory
from nex_core.trajectory.sinks import TrajectorySink

_inside: ContextVar[bool] = ContextVar("nex_autogen_inside_run", default=False)
_scoped: ContextVar[Recording | None] = ContextVar("nex_autogen_recording", default=None)
_process: Recording | None = None
_lock = threading.Lock()
_users = 0
_PATCHED = (
    (BaseChatAgent, "run"),
    (BaseChatAgent, "run_stream"),
    (BaseGroupChat, "run_stream"),
)
_originals: dict[tuple[type, str], Callable[..., Any]] = {}


class Recording:
    """What a capture records: one trajectory per top-level ``run``/``run_stream`` call,
    written to ``sinks`` when it ends (and kept in :attr:`trajectories` when ``keep``)."""

    def __init__(self, sinks: Sequence[TrajectorySink] = (), *, keep: bool) -> None:
        self.sinks = list(sinks)
        self.keep = keep
        self.trajectories: list[Trajectory] = []

    def _done(self, trajectory: Trajectory) -> None:
        if self.keep:
            self.trajectories.append(trajectory)


@contextlib.contextmanager
def recording(sinks: Sequence[TrajectorySink] = ()) -> Iterator[Recording]:
    """Record every AutoGen run the block makes, however it makes it::

    with nex_autogen.recording([JSONLSink("runs/app.jsonl")]) as rec:
        await Console(team.run_stream(task="Plan a trip."))
    rec.trajectories  # one per run
    """
    capture = Recording(sinks, keep=True)
    _install()
    token = _scoped.set(capture)
    try:
        yield capture
    finally:
        _scoped.reset(token)
        _uninstall()


def instrument(sinks: Sequence[TrajectorySink] = (), *, keep: bool = False) -> Recording:
    """Record every AutoGen run of this process until :func:`uninstrument` (trajectories kept
    in memory too only when ``keep``). Calling it again replaces the previous recording."""
    global _process
    capture = Recording(sinks, keep=keep)
    with _lock:
        previous, _process = _process, capture
    if previous is None:
        _install()
    return capture


def uninstrument() -> None:
    """Stop the process-wide recording :func:`instrument` started."""
    global _process
    with _lock:
        previous, _process = _process, None
    if previous is not None:
        _uninstall()


# --------------------------------------------------------------------------- the wrappers


def _install() -> None:
    global _users
    with _lock:
        _users += 1
        if _originals:
            return
        for cls, name in _PATCHED:
            original = cls.__dict__[name]
            _originals[(cls, name)] = original
            wrapper = _wrap_stream(original) if name == "run_stream" else _wrap_run(original)
            setattr(cls, name, functools.wraps(original)(wrapper))


def _uninstall() -> None:
    global _users
    with _lock:
        _users -= 1
        if _users == 0:
            for (cls, name), original in _originals.items():
                setattr(cls, name, original)
            _originals.clear()


def _task_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return kwargs.get("task", args[0] if args else None)


class _Run:
    """One recorded top-level run: the recorder, and the wrappers swapped in for it."""

    def __init__(self, capture: Recording, obj: Any, task: Any) -> None:
        from nex_autogen.plugin import AutogenAdapter

        info, _ = task_and_turns(task if task is not None else [])
        self.capture, self.obj = capture, obj
        self.recorder = Recorder(
            provenance=AutogenAdapter().foreign_provenance(obj, info),
            task=info,
            root_agent=obj.name,
            sinks=capture.sinks,
            session_id=session_of(obj),
        )
        self.instrumentation = Instrumentation(self.recorder)
        self.instrumentation.instrument(obj)
        record_task_input(self.recorder, obj, task)

    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        """Set while the run computes: nested runs belong to it, new runners are recorded."""
        inside, hook = _inside.set(True), NEW_RUNNER_HOOK.set(self.instrumentation.instrument)
        try:
            with self.recorder.active():
                yield
        finally:
            NEW_RUNNER_HOOK.reset(hook)
            _inside.reset(inside)

    def finish(self, result: TaskResult | None, error: BaseException | None) -> None:
        self.instrumentation.restore()
        if error is not None:
            trajectory = self.recorder.fail(error)
        elif result is None:
            trajectory = self.recorder.finish(
                Outcome(status=OutcomeStatus.CANCELLED, stop_reason="stream_closed")
            )
        else:
            outcome = outcome_of(result, self.obj)
            self.instrumentation.end_turn(turn_output(outcome))
            trajectory = self.recorder.finish(outcome)
        self.capture._done(trajectory)


def _capture() -> Recording | None:
    return None if _inside.get() else (_scoped.get() or _process)


def _wrap_run(original: Callable[..., Any]) -> Callable[..., Any]:
    async def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        capture = _capture()
        if capture is None:
            return await original(self, *args, **kwargs)
        recorded = _Run(capture, self, _task_of(args, kwargs))
        try:
            with recorded.inside():
                result = await original(self, *args, **kwargs)
        except (Exception, asyncio.CancelledError) as exc:
            recorded.finish(None, exc)
            raise
        recorded.finish(result, None)
        return result

    return run


def _wrap_stream(original: Callable[..., Any]) -> Callable[..., Any]:
    def run_stream(self: Any, *args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        capture = _capture()
        if capture is None:
            return original(self, *args, **kwargs)
        return _recorded_stream(capture, original, self, args, kwargs)

    return run_stream


async def _recorded_stream(
    capture: Recording,
    original: Callable[..., Any],
    obj: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> AsyncGenerator[Any, None]:
    recorded = _Run(capture, obj, _task_of(args, kwargs))
    result: TaskResult | None = None
    with recorded.inside():
        inner = original(obj, *args, **kwargs)
    try:
        while True:
            with recorded.inside():  # only while the run computes, not while the app reads
                try:
                    item = await inner.__anext__()
                except StopAsyncIteration:
                    break
            if isinstance(item, TaskResult):
                result = item
            yield item
    except GeneratorExit:
        await inner.aclose()
        recorded.finish(result, None)
        raise
    except (Exception, asyncio.CancelledError) as exc:
        recorded.finish(None, exc)
        raise
    recorded.finish(result, None)
