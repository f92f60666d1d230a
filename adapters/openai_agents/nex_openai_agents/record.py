"""Recording apps the user built: ``record`` runs an agent for you, ``instrument`` records
whatever the app runs itself, with no change to its code.

Inside ``with instrument(sinks=[...]):`` every top-level ``Runner.run`` / ``run_sync`` /
``run_streamed`` is one trajectory: it begins when the SDK starts the run's trace and is written
to the sinks when that trace ends. The SDK's tracing must be enabled (it is by default); a run
with ``RunConfig(tracing_disabled=True)`` is not seen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any

from nex_core.adapter import run_sync
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import (
    LLMStep,
    Outcome,
    OutcomeStatus,
    Provenance,
    StepStatus,
    TaskInfo,
    Trajectory,
)
from nex_core.trajectory.sinks import TrajectorySink


def record(agent: Any, task: TaskInfo | str, **kw: Any) -> Trajectory:
    """Run the user's ``agent`` on ``task`` and return the trajectory (synchronous
    :meth:`OpenAIAgentsAdapter.arecord`; works inside a running event loop too)."""
    from nex_openai_agents.plugin import OpenAIAgentsAdapter

    return run_sync(OpenAIAgentsAdapter().arecord(agent, task, **kw))


_instrumented: ContextVar[_Instrument | None] = ContextVar(
    "nex_openai_agents_instrument", default=None
)


class _Instrument:
    def __init__(self, sinks: Sequence[TrajectorySink]) -> None:
        self.sinks = list(sinks)
        self.trajectories: list[Trajectory] = []


@contextlib.contextmanager
def instrument(sinks: Sequence[TrajectorySink] = ()) -> Iterator[list[Trajectory]]:
    """Record every Agents SDK run the block starts; yields the list the finished trajectories
    are appended to (each is also written to ``sinks``)."""
    from nex_openai_agents._recording import _install

    _install()
    _ensure_trace_hooks()
    state = _Instrument(sinks)
    token = _instrumented.set(state)
    try:
        yield state.trajectories
    finally:
        _instrumented.reset(token)


_TRACE_HOOKS = False


def _ensure_trace_hooks() -> None:
    global _TRACE_HOOKS
    from nex_openai_agents import _recording

    if _TRACE_HOOKS:
        return
    _TRACE_HOOKS = True
    processor = _recording.PROCESSOR
    original_start = processor.on_trace_start
    original_end = processor.on_trace_end
    runs: dict[str, tuple[Recorder, Any, Any]] = {}

    def on_trace_start(trace: Any) -> None:
        state = _instrumented.get()
        if state is not None and _recording._active.get() is None:
            recorder = Recorder(provenance=_provenance(), task=TaskInfo(), sinks=state.sinks)
            run = _recording.RunRecording(recorder)
            token = _recording._active.set(run)  # stays set in the runner's task
            active = recorder.active()
            active.__enter__()
            runs[trace.trace_id] = (recorder, token, active)
        original_start(trace)

    def on_trace_end(trace: Any) -> None:
        original_end(trace)
        entry = runs.pop(trace.trace_id, None)
        state = _instrumented.get()
        if entry is None:
            return
        recorder, token, active = entry
        run = _recording._active.get()
        with contextlib.suppress(ValueError):  # ended in another context than it began
            active.__exit__(None, None, None)
            _recording._active.reset(token)
        trajectory = _finish(recorder, run)
        if state is not None:
            state.trajectories.append(trajectory)

    processor.on_trace_start = on_trace_start  # type: ignore[method-assign]
    processor.on_trace_end = on_trace_end  # type: ignore[method-assign]


def _finish(recorder: Recorder, run: Any) -> Trajectory:
    """The run's outcome from its steps: the last answer of an agent at the top of the run
    (not inside a tool call), or the error of the last model call that failed."""
    steps = recorder.trajectory.steps
    tools = {s.id for s in steps if s.kind == "tool"}
    top = [s for s in steps if isinstance(s, LLMStep) and not _under(s, tools, steps)]
    if top:
        recorder.trajectory.root_agent = top[0].agent
        last = top[-1]
        if last.status is StepStatus.ERROR and last.error is not None:
            if run is not None:
                run.close_handoffs(None)
            return recorder.finish(
                Outcome(status=OutcomeStatus.ERROR, stop_reason=last.error.type, error=last.error)
            )
        if last.response is not None and not last.response.message.tool_calls:
            output = last.response.message.text()
            if run is not None:
                run.close_handoffs(output)
            return recorder.finish(
                Outcome(
                    status=OutcomeStatus.COMPLETED, final_output=output, stop_reason="final_output"
                )
            )
    if run is not None:
        run.close_handoffs(None)
    return recorder.finish(Outcome(status=OutcomeStatus.CANCELLED, stop_reason="no_final_output"))


def _under(step: Any, tools: set[str], steps: list[Any]) -> bool:
    by_id = {s.id: s for s in steps}
    parent = step.parent_id
    while parent is not None:
        if parent in tools:
            return True
        parent = getattr(by_id.get(parent), "parent_id", None)
    return False


def _provenance() -> Provenance:
    from nex_core import __version__
    from nex_openai_agents.plugin import _versions

    adapter_version, framework_version = _versions()
    return Provenance(
        framework="openai-agents",
        framework_version=framework_version,
        adapter="openai-agents",
        adapter_version=adapter_version,
        nex_version=__version__,
    )
