"""``parallel_tool_calls: false`` through the real ``create_agent``: the calls of one reply run one
at a time, in the model's order, in every drive mode, as the native runtime runs them.

The tool is stateful (it appends to a notebook and returns what the notebook holds) and keeps a
log of when each call started and ended; a pause inside it leaves concurrent calls every chance
to interleave, so a run that is concurrent shows it in the log and in the results.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any

import pytest
from nex_langgraph import LangGraphAdapter, arun, run

from nex_core import AgentSpec, ScriptedModel, TaskInfo, ToolSpec, normalize, run_native
from nex_core.protocol.spec import CallableBinding
from nex_core.trajectory.schema import ToolStep, Trajectory

MODES = ["invoke", "stream", "ainvoke", "astream"]
NOTES = ["first", "second", "third"]


class Notebook:
    """A stateful tool that logs its own execution: start, pause, read-modify-write, end."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.log: list[str] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def append_note(self, note: str) -> str:
        with self._lock:
            self.log.append(f"start {note}")
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            seen = list(self.notes)
        time.sleep(0.1)  # concurrent calls overlap here
        with self._lock:
            self.notes = [*seen, note]
            self.active -= 1
            self.log.append(f"end {note}")
        return ", ".join(self.notes)


def spec(book: Notebook, *, parallel: bool) -> AgentSpec:
    return AgentSpec(
        name="scribe",
        system_prompt="Write notes.",
        parallel_tool_calls=parallel,
        tools=[
            ToolSpec(
                name="append_note",
                description="Append a note; returns the notebook.",
                parameters={
                    "type": "object",
                    "properties": {"note": {"type": "string"}},
                    "required": ["note"],
                },
                binding=CallableBinding(ref="append_note", func=book.append_note),
            )
        ],
    )


def script() -> list[dict[str, Any]]:
    calls = [{"name": "append_note", "arguments": {"note": n}} for n in NOTES]
    return [{"tool_calls": calls}, {"text": "Noted."}]


TASK = TaskInfo(id="order", turns=["Take three notes."])


def check_sequential(traj: Trajectory, book: Notebook) -> None:
    assert book.log == [f"{edge} {n}" for n in NOTES for edge in ("start", "end")]
    assert book.max_active == 1
    steps = [s for s in traj.steps if isinstance(s, ToolStep)]
    assert [s.arguments for s in steps] == [{"note": n} for n in NOTES]
    assert [s.result for s in steps] == ["first", "first, second", "first, second, third"]
    for earlier, later in itertools.pairwise(steps):
        assert earlier.ended_at is not None and earlier.ended_at <= later.started_at
    assert traj.outcome is not None and traj.outcome.final_output == "Noted."


@pytest.mark.parametrize("mode", MODES)
def test_sequential_calls_run_in_order_in_every_sync_entry(mode: str) -> None:
    book = Notebook()
    traj = run(spec(book, parallel=False), TASK, model=ScriptedModel(script()), mode=mode)  # type: ignore[arg-type]
    check_sequential(traj, book)


@pytest.mark.parametrize("mode", MODES)
def test_sequential_calls_run_in_order_through_arun(mode: str) -> None:
    book = Notebook()
    traj = asyncio.run(
        arun(spec(book, parallel=False), TASK, model=ScriptedModel(script()), mode=mode)  # type: ignore[arg-type]
    )
    check_sequential(traj, book)


def test_sequential_run_equals_the_native_reference() -> None:
    native_book, graph_book = Notebook(), Notebook()
    native = asyncio.run(
        run_native(spec(native_book, parallel=False), TASK, model=ScriptedModel(script()))
    )
    graph = LangGraphAdapter().run(
        spec(graph_book, parallel=False), TASK, model=ScriptedModel(script())
    )
    assert normalize(graph) == normalize(native)
    assert graph_book.log == native_book.log


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_parallel_calls_still_run_concurrently(mode: str) -> None:
    """The control: with parallel calls allowed the same tool overlaps, so the log above would
    show concurrency if the sequential path let it through."""
    book = Notebook()
    traj = run(spec(book, parallel=True), TASK, model=ScriptedModel(script()), mode=mode)  # type: ignore[arg-type]
    assert book.max_active > 1
    assert traj.outcome is not None and traj.outcome.final_output == "Noted."


def supervisor_spec(book: Notebook, *, parallel: bool) -> AgentSpec:
    """The scribe as a supervisor (``create_supervisor``, whose tool node nex's middleware does
    not reach) with one worker it could hand off to."""
    from nex_core.protocol.spec import SubAgentSpec

    scribe = spec(book, parallel=parallel)
    worker = AgentSpec(name="helper", system_prompt="Help.")
    return scribe.model_copy(
        update={
            "sub_agents": [SubAgentSpec(agent=worker, mode="handoff")],
            "extensions": {"langgraph": {"pattern": "supervisor"}},
        }
    )


@pytest.mark.parametrize("mode", MODES)
def test_a_supervisors_own_calls_run_in_order(mode: str) -> None:
    book = Notebook()
    spec_ = supervisor_spec(book, parallel=False)
    traj = run(spec_, TASK, model=ScriptedModel(script()), mode=mode)  # type: ignore[arg-type]
    check_sequential(traj, book)


def test_a_supervisors_parallel_calls_still_overlap() -> None:
    book = Notebook()
    traj = run(supervisor_spec(book, parallel=True), TASK, model=ScriptedModel(script()))
    assert book.max_active > 1
    assert traj.outcome is not None and traj.outcome.final_output == "Noted."
