"""The hooked recording path (``_hooks``) records what the callback path records."""

from __future__ import annotations

import asyncio
from typing import Any

import nex_langgraph._run as run_module
import pytest
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from nex_langgraph import arecord, bridge_model, record, recording
from nex_langgraph._run import Mode

from nex_core import ScriptedModel, normalize

SCRIPT: dict[str, Any] = {
    "agents": {
        "lead": [
            {
                "tool_calls": [
                    {"name": "add", "arguments": {"a": 2, "b": 3}},
                    {"name": "add", "arguments": {"a": 1, "b": 1}},
                ]
            },
            {"tool_calls": [{"name": "checker", "arguments": {"query": "check 5"}}]},
            {"text": "5, checked."},
        ],
        "checker": [
            {"tool_calls": [{"name": "add", "arguments": {"a": 5, "b": 0}}]},
            {"text": "ok"},
        ],
    }
}


def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def make_graph(checkpointer: Any = None) -> Any:
    model = ScriptedModel(SCRIPT)
    checker_agent = create_agent(
        bridge_model(model, agent="checker"), [add], system_prompt="You check.", name="checker"
    )

    @tool("checker", description="Checks sums.")
    def checker(query: str) -> str:
        result = checker_agent.invoke({"messages": [{"role": "user", "content": query}]})
        return str(result["messages"][-1].content)

    return create_agent(
        bridge_model(model, agent="lead"),
        [add, checker],
        system_prompt="Compute, then check.",
        name="lead",
        checkpointer=checkpointer,
    )


def _callbacks_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "hookable", lambda *args: False)


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
def test_hooked_record_equals_callback_record(mode: Mode, monkeypatch: pytest.MonkeyPatch) -> None:
    hooked = record(make_graph(), "Go.", mode=mode)
    with monkeypatch.context() as patch:
        _callbacks_only(patch)
        called = record(make_graph(), "Go.", mode=mode)
    assert [s.kind for s in hooked.steps].count("subagent") == 1
    assert normalize(hooked) == normalize(called)
    llm = [s for s in hooked.steps if s.kind == "llm"]
    assert [t.name for t in llm[0].request.tools] == ["add", "checker"]
    assert llm[0].request.messages[0].content == "Compute, then check."


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_invoke_sets_the_hooked_context_once_not_per_chunk(
    mode: Mode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``invoke``/``ainvoke`` (the graph's and the agent's called from a tool) are hooked
    around the whole call: no per-chunk wrapper, and the same record as the callbacks make."""
    from nex_langgraph import _hooks

    def unused(*args: Any) -> Any:
        raise AssertionError("an invoke's own stream went through the per-chunk wrapper")

    with monkeypatch.context() as patch:
        patch.setattr(_hooks, "stream", unused)
        patch.setattr(_hooks, "astream", unused)
        hooked = record(make_graph(), "Go.", mode=mode)
    with monkeypatch.context() as patch:
        _callbacks_only(patch)
        called = record(make_graph(), "Go.", mode=mode)
    assert normalize(hooked) == normalize(called)
    sub = next(s for s in hooked.steps if s.kind == "subagent")
    assert [s.kind for s in hooked.steps if s.parent_id == sub.id] == ["llm", "tool", "llm"]


def test_capture_is_hooked_and_equals_callbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = make_graph()
    seen = _spied(monkeypatch)
    with recording() as rec:
        asyncio.run(graph.ainvoke({"messages": [{"role": "user", "content": "Go."}]}))
    _callbacks_only(monkeypatch)
    with recording() as plain:
        asyncio.run(make_graph().ainvoke({"messages": [{"role": "user", "content": "Go."}]}))
    assert seen == [True]
    assert normalize(rec.trajectories[0]) == normalize(plain.trajectories[0])


def _spied(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What ``hookable`` answers for each session opened."""
    seen: list[bool] = []
    real = run_module.hookable

    def spy(*args: Any) -> bool:
        seen.append(real(*args))
        return seen[-1]

    monkeypatch.setattr(run_module, "hookable", spy)
    return seen


def test_checkpointed_graphs_keep_callbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _spied(monkeypatch)
    traj = asyncio.run(arecord(make_graph(InMemorySaver()), "Go."))
    assert seen == [False]
    assert traj.outcome is not None and traj.outcome.final_output == "5, checked."


def test_hooks_stay_inert_after_the_capture_and_restore_puts_the_originals_back() -> None:
    """The hooks stay installed once a capture ended (putting them back costs every run type
    cache misses), doing nothing outside a session; ``restore`` removes them when idle."""
    from nex_langgraph import _capture, _hooks

    assert _capture.restore()
    before = (BaseChatModel.agenerate, BaseTool.arun)
    with recording() as rec:
        assert BaseChatModel.agenerate is not before[0] and BaseTool.arun is not before[1]
        assert not _capture.restore()  # in use: left in place
    assert BaseChatModel.agenerate is not before[0]
    result = asyncio.run(make_graph().ainvoke({"messages": [("user", "Go.")]}))
    assert result["messages"][-1].content == "5, checked."
    assert rec.trajectories == [] and _hooks.active.get() is None
    assert _capture.restore()
    assert (BaseChatModel.agenerate, BaseTool.arun) == before


IMAGE = {"type": "image", "base64": "aGVsbG8=", "mime_type": "image/png"}


def test_hooked_image_turn_is_recorded_as_the_callbacks_see_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hooks format each message for tracing once (when first converted), not per call:
    the recorded request is still the one ``on_chat_model_start`` gets, image block included."""
    from langchain_core.messages import HumanMessage

    turn = {"messages": [HumanMessage(content=[{"type": "text", "text": "Go."}, IMAGE])]}
    hooked = record(make_graph(), turn)
    with monkeypatch.context() as patch:
        _callbacks_only(patch)
        called = record(make_graph(), turn)
    assert normalize(hooked) == normalize(called)
    lead = [s for s in hooked.steps if s.kind == "llm" and s.agent == "lead"]
    assert len(lead) == 3
    for step in lead:  # every call of the lead resends the image turn
        content = step.request.messages[1].content
        assert isinstance(content, list) and content[1]["type"] == "image_url"


def test_deferred_steps_keep_the_times_of_their_events() -> None:
    """A hooked run's steps are recorded at the end of the turn, with the times the events had:
    in start order, each ending after it starts, a tool's latency its own span."""
    traj = asyncio.run(arecord(make_graph(), "Go."))
    timed = [s for s in traj.steps if s.kind != "input"]
    assert len(timed) == 10
    starts = [s.started_at for s in timed]
    assert starts == sorted(starts)
    assert all(s.ended_at is not None and s.ended_at >= s.started_at for s in timed)
    assert traj.ended_at is not None and all(s.ended_at <= traj.ended_at for s in timed)
    subagent = next(s for s in timed if s.kind == "subagent")
    outer = next(s for s in timed if s.kind == "tool" and s.name == "checker")
    assert outer.started_at <= subagent.started_at and subagent.ended_at <= outer.ended_at
    for step in timed:
        if step.kind == "tool":
            span = (step.ended_at - step.started_at).total_seconds() * 1e3
            assert step.latency_ms is not None and abs(step.latency_ms - span) < 1.0


def test_a_call_after_the_run_from_a_task_it_started_is_not_recorded() -> None:
    asyncio.run(_late_call_after_the_run())


async def _late_call_after_the_run() -> None:
    # The hooks stay installed after a run, so a background task the run started (which copies
    # the run's context) still reaches them later: it must not record into the ended session,
    # nor change the trajectory already returned.
    model = ScriptedModel({"agents": {"solo": [
        {"tool_calls": [{"name": "spawn", "arguments": {}}]},
        {"text": "spawned"},
    ]}})
    late = ScriptedModel([{"text": "late answer"}])
    chat = bridge_model(late)
    release, done = asyncio.Event(), asyncio.Event()
    answers: list[str] = []

    async def later() -> None:
        await release.wait()
        answers.append(str((await chat.ainvoke("hello")).content))
        done.set()

    background: list[asyncio.Task[None]] = []

    @tool("spawn", description="Starts background work.")
    async def spawn() -> str:
        background.append(asyncio.create_task(later()))
        return "started"

    graph = create_agent(bridge_model(model, agent="solo"), [spawn], name="solo")
    traj = await arecord(graph, "Go.")
    steps = normalize(traj)
    import nex_langgraph._hooks as hooks

    starts: list[Any] = []
    original = hooks._model_starts
    hooks._model_starts = lambda *a: starts.append(a) or original(*a)  # type: ignore[assignment]
    try:
        release.set()
        await asyncio.wait_for(done.wait(), 5)
    finally:
        hooks._model_starts = original  # type: ignore[assignment]
    assert answers == ["late answer"] and starts == []  # the late call ran, unhooked
    assert normalize(traj) == steps and len(traj.steps) == 3
