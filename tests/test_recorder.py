"""The recorder from many threads and many asyncio tasks, and the sinks it writes to."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

import pytest

from nex_core.trajectory import (
    JSONLSink,
    LLMRequest,
    LLMResponse,
    MemorySink,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    Recorder,
    current_parent_id,
    current_recorder,
    iter_trajectories,
)
from nex_core.trajectory.schema import StepStatus

PROV = Provenance(framework="test", adapter="test", nex_version="0")


def done() -> Outcome:
    return Outcome(status=OutcomeStatus.COMPLETED, final_output="ok")


def test_many_threads_record_under_one_parent() -> None:
    rec = Recorder(provenance=PROV)
    parent = rec.begin_subagent(agent="boss", child="pool", mode="tool", input=[])
    barrier = threading.Barrier(16)

    def worker(i: int) -> None:
        barrier.wait()
        for j in range(25):
            step = rec.begin_tool(
                agent="w", name=f"t{i}", call_id=f"{i}-{j}", arguments={"j": j}, parent_id=parent.id
            )
            rec.end_tool(step, j)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rec.end_subagent(parent, "all done")
    traj = rec.finish(done())
    children = traj.children(parent.id)
    assert len(children) == 16 * 25
    assert len({s.id for s in traj.steps}) == len(traj.steps)
    assert all(s.status is StepStatus.OK for s in children)
    assert sorted(s.call_id for s in children) == sorted(
        f"{i}-{j}" for i in range(16) for j in range(25)
    )


def test_asyncio_tasks_nest_through_context_variables() -> None:
    rec = Recorder(provenance=PROV)

    async def leaf(name: str) -> None:
        with rec.llm_call(agent=name, request=LLMRequest(messages=[])) as step:
            await asyncio.sleep(0.001)
            step.response = LLMResponse(message=Message.assistant(name))

    async def agent(name: str, depth: int) -> None:
        with rec.subagent(agent="parent", child=name, mode="tool", input=[Message.user(name)]) as s:
            await leaf(name)
            if depth:
                # children of this agent run concurrently, each nests under its own parent
                await asyncio.gather(*(agent(f"{name}.{k}", depth - 1) for k in range(3)))
            s.output = name

    async def main() -> None:
        with rec.active():
            assert current_recorder() is rec
            await asyncio.gather(agent("a", 2), agent("b", 1))
            assert current_parent_id() is None

    asyncio.run(main())
    traj = rec.finish(done())
    by_id = {s.id: s for s in traj.steps}
    for step in traj.steps:
        if step.kind == "llm":
            parent = by_id[step.parent_id]  # type: ignore[index]
            assert parent.child == step.agent  # type: ignore[union-attr]
        elif step.parent_id is not None:
            parent = by_id[step.parent_id]
            assert step.child.rsplit(".", 1)[0] == parent.child  # type: ignore[union-attr]
    assert sum(1 for s in traj.steps if s.kind == "subagent") == (1 + 3 + 9) + (1 + 3)


def test_parallel_calls_under_one_parent_in_asyncio() -> None:
    rec = Recorder(provenance=PROV)

    async def call(i: int) -> None:
        step = rec.begin_tool(agent="a", name="t", call_id=str(i), arguments={})
        await asyncio.sleep(0.001 * (5 - i))
        rec.end_tool(step, i)

    async def main() -> None:
        with rec.subagent(agent="root", child="a", mode="tool", input=[]) as parent:
            await asyncio.gather(*(call(i) for i in range(5)))
        return parent.id

    parent_id = asyncio.run(main())
    traj = rec.finish(done())
    assert {s.call_id for s in traj.children(parent_id)} == {str(i) for i in range(5)}


def test_finish_closes_running_steps_once_and_fail_records_errors() -> None:
    sink = MemorySink()
    rec = Recorder(provenance=PROV, sinks=[sink])
    step = rec.begin_tool(agent="a", name="t", call_id="1", arguments=None)
    traj = rec.fail(RuntimeError("boom"))
    assert step.status is StepStatus.CANCELLED
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR
    assert traj.outcome.error is not None and traj.outcome.error.type == "RuntimeError"
    rec.finish(done())
    assert len(sink.trajectories) == 1  # written once
    cancelled = Recorder(provenance=PROV).fail(asyncio.CancelledError())
    assert cancelled.outcome is not None and cancelled.outcome.status is OutcomeStatus.CANCELLED


def test_listeners_see_begin_and_end() -> None:
    seen: list[tuple[str, bool]] = []
    rec = Recorder(provenance=PROV, listeners=[lambda s: seen.append((s.kind, s.ended_at is None))])
    step = rec.begin_tool(agent="a", name="t", call_id="1", arguments={})
    rec.end_tool(step, 1)
    assert seen == [("tool", True), ("tool", False)]


def test_registered_secrets_are_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    from nex_core.trajectory import redact

    monkeypatch.setattr(redact, "_secrets", set())
    redact.register_secret("hunter2-very-secret")
    rec = Recorder(provenance=PROV)
    step = rec.begin_tool(agent="a", name="t", call_id="1", arguments={"k": "hunter2-very-secret"})
    rec.end_tool(step, "Bearer abcdefghijklmnop")
    text = rec.finish(done()).to_json()
    assert "hunter2-very-secret" not in text and "abcdefghijklmnop" not in text
    assert "[REDACTED]" in text


# --------------------------------------------------------------------------- sinks


def small(i: int) -> Recorder:
    rec = Recorder(provenance=PROV, trajectory_id=f"traj-{i}")
    step = rec.begin_tool(
        agent="a", name="t", call_id="1", arguments={"i": i, "text": "line\nbreak"}
    )
    rec.end_tool(step, "multi\nline result")
    return rec


def test_jsonl_sink_appends_one_per_line_and_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "deep" / "out.jsonl"
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    with JSONLSink(path) as sink:
        for i in range(3):
            sink.write(small(i).finish(done()))
    assert len(synced) == 3
    with JSONLSink(path, fsync=False) as sink:  # reopening appends, never truncates
        sink.write(small(3).finish(done()))
    assert len(synced) == 3
    lines = path.read_text().splitlines()
    assert len(lines) == 4
    assert [json.loads(x)["id"] for x in lines] == [f"traj-{i}" for i in range(4)]
    with pytest.raises(ValueError, match="closed"):
        sink.write(small(9).finish(done()))


def test_jsonl_sink_from_many_threads(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    sink = JSONLSink(path, fsync=False)
    threads = [
        threading.Thread(
            target=lambda i=i: [sink.write(small(i * 100 + k).finish(done())) for k in range(20)]
        )
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.close()
    ids = [t.id for t in iter_trajectories(path, strict=True)]
    assert sorted(ids) == sorted(f"traj-{i * 100 + k}" for i in range(8) for k in range(20))


def test_jsonl_sink_starts_a_fresh_line_after_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with JSONLSink(path) as sink:
        sink.write(small(0).finish(done()))
    with path.open("a") as f:
        f.write('{"schema_version": 1, "id": "torn", "provenance": {"fra')
    with JSONLSink(path) as sink:
        sink.write(small(1).finish(done()))
    bad: list = []
    ids = [t.id for t in iter_trajectories(path, on_error=bad.append)]
    assert ids == ["traj-0", "traj-1"]
    assert [b.line for b in bad] == [2]


def test_memory_sink() -> None:
    sink = MemorySink()
    rec = small(0)
    rec._sinks.append(sink)
    traj = rec.finish(done())
    assert sink.trajectories == [traj]
    sink.close()
