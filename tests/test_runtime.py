"""The native runtime's ReAct loop: concurrency, limits, errors fed back, retries, XML, turns."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from native_helpers import agent, call, params, run, tool

from nex_core.errors import ScriptExhausted
from nex_core.models.scripted import ScriptedModel
from nex_core.protocol.spec import Limits, ToolFormat
from nex_core.runtime.loop import run_native
from nex_core.trajectory import MemorySink, TaskInfo
from nex_core.trajectory.schema import LLMStep, OutcomeStatus, StepStatus, ToolStep


def tools_of(traj: Any) -> list[ToolStep]:
    return [s for s in traj.steps if isinstance(s, ToolStep)]


def llms_of(traj: Any) -> list[LLMStep]:
    return [s for s in traj.steps if isinstance(s, LLMStep)]


def tool_messages(model: ScriptedModel, index: int) -> dict[str, str]:
    """call id → text of the tool results the model saw in its ``index``-th call."""
    msgs = model.calls[index].request.messages
    return {m.tool_call_id or "": m.text() for m in msgs if m.role == "tool"}


# --------------------------------------------------------------------------- concurrency


def test_parallel_sync_tools_run_concurrently_in_threads() -> None:
    # A barrier of three opens only when all three calls are inside it at once: run one after
    # another, the first would wait out the timeout and fail. No wall-clock bound to flake.
    barrier = threading.Barrier(3, timeout=30)
    threads: dict[str, int] = {}

    def meet(label: str) -> str:
        barrier.wait()
        threads[label] = threading.get_ident()
        return label

    spec = agent("a", tool(meet, params(label="string")))
    script = [
        {"tool_calls": [call("meet", {"label": x}) for x in "abc"]},
        {"text": "done"},
    ]
    traj, _ = run(spec, script)
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.COMPLETED
    assert sorted(s.result for s in tools_of(traj)) == ["a", "b", "c"]
    assert all(s.error is None for s in tools_of(traj))
    assert len(set(threads.values())) == 3  # three worker threads
    assert threading.get_ident() not in set(threads.values())


def test_parallel_async_tools_run_natively_on_the_loop() -> None:
    threads: list[int] = []
    arrived = 0
    all_in: asyncio.Event | None = None

    async def meet(n: int) -> int:
        # Every call waits until all four have started: sequential calls would never return.
        nonlocal arrived, all_in
        if all_in is None:
            all_in = asyncio.Event()
        arrived += 1
        if arrived == 4:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), timeout=30)
        threads.append(threading.get_ident())
        return n

    spec = agent("a", tool(meet, params(n="integer")))
    script = [{"tool_calls": [call("meet", {"n": i}) for i in range(4)]}, {"text": "ok"}]
    traj, _ = run(spec, script)
    assert all(s.error is None for s in tools_of(traj))
    assert sorted(s.result for s in tools_of(traj)) == [0, 1, 2, 3]
    assert len(set(threads)) == 1  # all on the event loop's thread


def test_parallel_tool_calls_off_runs_them_one_by_one() -> None:
    spans: list[tuple[float, float]] = []

    def slow() -> str:
        start = time.perf_counter()
        time.sleep(0.05)
        spans.append((start, time.perf_counter()))
        return "x"

    spec = agent("a", tool(slow), parallel_tool_calls=False)
    _, model = run(spec, [{"tool_calls": [call("slow"), call("slow")]}, {"text": "ok"}])
    (first, second) = sorted(spans)
    assert first[1] <= second[0]
    assert model.calls[0].request.params["parallel_tool_calls"] is False


# --------------------------------------------------------------------------- limits and stopping


def test_max_steps_stops_the_run() -> None:
    def ping() -> str:
        return "pong"

    spec = agent("a", tool(ping), limits=Limits(max_steps=3))
    traj, model = run(spec, [{"tool_calls": [call("ping")]}] * 5)
    assert traj.outcome is not None
    assert traj.outcome.status is OutcomeStatus.MAX_STEPS
    assert traj.outcome.stop_reason == "max_steps"
    assert len(llms_of(traj)) == 3 and model.remaining() == 2


def test_stop_tool_ends_the_turn_with_its_result() -> None:
    def answer(text: str) -> str:
        return f"FINAL: {text}"

    def note() -> str:
        return "noted"

    spec = agent("a", tool(answer, params(text="string")), tool(note), stop_tools=["answer"])
    traj, model = run(spec, [{"tool_calls": [call("note"), call("answer", {"text": "42"})]}])
    assert traj.outcome is not None
    assert traj.outcome.final_output == "FINAL: 42"
    assert traj.outcome.stop_reason == "stop_tool:answer"
    assert len(model.calls) == 1


def test_per_tool_timeout_is_an_error_result() -> None:
    async def hang() -> str:
        await asyncio.sleep(5)
        return "never"

    def slow_sync() -> str:
        time.sleep(0.3)
        return "late"

    spec = agent(
        "a",
        tool(hang, timeout_s=0.05),
        tool(slow_sync),
        limits=Limits(tool_timeout_s=0.05),
    )
    t0 = time.perf_counter()
    traj, model = run(
        spec,
        [{"tool_calls": [call("hang", id="h"), call("slow_sync", id="s")]}, {"text": "gave up"}],
    )
    assert time.perf_counter() - t0 < 2
    hang_step, sync_step = sorted(tools_of(traj), key=lambda s: s.name)
    for step in (hang_step, sync_step):
        assert step.status is StepStatus.ERROR
        assert step.error is not None and step.error.type == "TimeoutError"
        assert "timed out after 0.05 s" in step.error.message
    seen = tool_messages(model, 1)
    assert seen["h"].startswith("Error: TimeoutError: tool 'hang' timed out")
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.COMPLETED


def test_cancelling_the_run_writes_a_cancelled_trajectory() -> None:
    started = asyncio.Event()

    async def forever() -> str:
        started.set()
        await asyncio.sleep(30)
        return "never"

    spec = agent("a", tool(forever))
    sink = MemorySink()
    model = ScriptedModel([{"tool_calls": [call("forever")]}, {"text": "unreachable"}])

    async def main() -> None:
        task = asyncio.create_task(
            run_native(spec, TaskInfo(turns=["go"]), model=model, sinks=[sink])
        )
        await asyncio.wait_for(started.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    (traj,) = sink.trajectories
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.CANCELLED
    (step,) = tools_of(traj)
    assert step.status is StepStatus.CANCELLED


# ------------------------------------------------------ errors go back to the model


def test_tool_errors_are_fed_back_and_recorded() -> None:
    def boom(x: int) -> int:
        raise ZeroDivisionError(f"cannot divide {x} by zero")

    def fine(x: int) -> int:
        return x

    spec = agent("a", tool(boom, params(x="integer")), tool(fine, params(x="integer")))
    script = [
        {
            "tool_calls": [
                call("boom", {"x": 1}, id="c1"),
                call("nope", {}, id="c2"),
                call("fine", '{"x": 1', id="c3"),
                call("fine", {"x": "one"}, id="c4"),
                call("fine", "[1, 2]", id="c5"),
                call("fine", {"x": 2}, id="c6"),
            ]
        },
        {"text": "recovered"},
    ]
    traj, model = run(spec, script)
    steps = {s.call_id: s for s in tools_of(traj)}
    seen = tool_messages(model, 1)
    expected = {
        "c1": ("ZeroDivisionError", "cannot divide 1 by zero"),
        "c2": ("UnknownTool", "unknown tool 'nope'; available tools: boom, fine"),
        "c3": ("InvalidArguments", "arguments are not a JSON object"),
        "c4": ("InvalidArguments", "x: 'one' is not of type 'integer'"),
        "c5": ("InvalidArguments", "arguments are not a JSON object"),
    }
    for cid, (etype, fragment) in expected.items():
        step = steps[cid]
        assert step.status is StepStatus.ERROR, cid
        assert step.error is not None and step.error.type == etype, cid
        assert fragment in step.error.message, cid
        assert seen[cid] == f"Error: {etype}: {step.error.message}"
    assert steps["c3"].raw_arguments == '{"x": 1' and steps["c3"].arguments is None
    assert steps["c6"].status is StepStatus.OK and seen["c6"] == "2"
    assert traj.outcome is not None and traj.outcome.final_output == "recovered"


def test_results_are_sent_as_text() -> None:
    def data() -> dict[str, Any]:
        return {"a": [1, 2], "é": None}

    traj, model = run(
        agent("a", tool(data)), [{"tool_calls": [call("data", id="d")]}, {"text": "k"}]
    )
    assert tool_messages(model, 1)["d"] == '{"a": [1, 2], "é": null}'
    assert tools_of(traj)[0].result == {"a": [1, 2], "é": None}


# --------------------------------------------------------------------------- model errors


def test_retryable_model_error_is_retried_and_recorded() -> None:
    spec = agent("a", limits=Limits(max_model_retries=2))
    script = [
        {"error": {"message": "overloaded", "retryable": True, "status": 529}},
        {"error": {"message": "overloaded", "retryable": True}},
        {"text": "third time lucky"},
    ]
    traj, _ = run(spec, script)
    first, second, third = llms_of(traj)
    assert first.status is StepStatus.ERROR and first.error is not None
    assert first.error.type == "ModelError" and first.error.message == "overloaded"
    assert second.status is StepStatus.ERROR and third.status is StepStatus.OK
    assert traj.outcome is not None and traj.outcome.final_output == "third time lucky"


def test_retries_run_out() -> None:
    spec = agent("a", limits=Limits(max_model_retries=1))
    err = {"error": {"message": "rate limited", "retryable": True}}
    traj, model = run(spec, [err, err, {"text": "too late"}])
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR
    assert traj.outcome.error is not None and traj.outcome.error.message == "rate limited"
    assert len(llms_of(traj)) == 2 and model.remaining() == 1


def test_non_retryable_model_error_is_not_retried() -> None:
    spec = agent("a", limits=Limits(max_model_retries=3))
    traj, _ = run(spec, [{"error": "bad request"}, {"text": "unused"}])
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR
    assert len(llms_of(traj)) == 1


def test_exhausted_script_ends_in_error() -> None:
    traj, _ = run(agent("a"), [])
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR
    assert traj.outcome.error is not None and traj.outcome.error.type == ScriptExhausted.__name__


# --------------------------------------------------------------------------- XML tool format


def test_xml_tool_format() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    spec = agent("a", tool(add, params(a="integer", b="integer")), tool_format=ToolFormat.XML)
    script = [
        {
            "text": "Adding.",
            "tool_calls": [call("add", {"a": 1, "b": 2}), call("add", {"a": 3, "b": 4})],
        },
        {"tool_calls": [call("add", "{broken")]},
        {"text": '<tool_call name="add">{"a": 1}'},  # unclosed: a format error goes back
        {"text": "3 and 7"},
    ]
    traj, model = run(spec, script)
    first = model.calls[0].request
    assert first.tools == []  # no native tool schemas in XML mode
    system = first.messages[0].text()
    assert "<tool_call" in system and "add" in system
    llm0 = llms_of(traj)[0]
    assert llm0.response is not None and llm0.response.message.tool_calls is None
    assert '<tool_call name="add">' in llm0.response.message.text()
    ok_steps = [s for s in tools_of(traj) if s.status is StepStatus.OK]
    assert sorted(s.result for s in ok_steps) == [3, 7]
    results = model.calls[1].request.messages[-1]
    assert results.role == "user" and results.text().count("<tool_result") == 2
    bad = [s for s in tools_of(traj) if s.status is StepStatus.ERROR]
    assert len(bad) == 1 and bad[0].raw_arguments == "{broken"
    format_error = model.calls[3].request.messages[-1]
    assert format_error.text().startswith("Error: ToolFormatError: unclosed <tool_call> tag")
    assert traj.outcome is not None and traj.outcome.final_output == "3 and 7"


# --------------------------------------------------------------------------- multi-turn


def test_multi_turn_keeps_the_history() -> None:
    def remember(fact: str) -> str:
        return f"stored {fact}"

    spec = agent("a", tool(remember, params(fact="string")))
    script = [
        {"tool_calls": [call("remember", {"fact": "blue"})]},
        {"text": "Noted."},
        {"text": "Your colour is blue."},
    ]
    traj, model = run(spec, script, "My colour is blue.", "What is my colour?")
    assert traj.task.turns == ["My colour is blue.", "What is my colour?"]
    last = model.calls[2].request.messages
    assert [m.role for m in last] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert last[-1].text() == "What is my colour?"
    assert traj.outcome is not None and traj.outcome.final_output == "Your colour is blue."


def test_trajectory_provenance_and_agent_names() -> None:
    def ping() -> str:
        return "pong"

    spec = agent("calc", tool(ping))
    traj, _ = run(
        spec, {"model": "m-1", "replies": [{"tool_calls": [call("ping")]}, {"text": "ok"}]}
    )
    p = traj.provenance
    assert (p.framework, p.adapter, p.model, p.task_id) == ("nex", "native", "m-1", "t1")
    assert p.spec_digest and len(p.spec_digest) == 64
    assert {s.agent for s in traj.steps} == {"calc"}
    assert traj.root_agent == "calc"
