"""The ``processes`` executor: the same episodes and report as the local one, a worker that
dies recorded and reported, and an endpoint's limit held across all worker processes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from gap_helpers import write_config

from nex_core.errors import ExecutorError
from nex_core.gap import load_config, run_gap
from nex_core.trajectory.reader import iter_trajectories
from tests.chat_server import ChatServer, Reply

WAITER = (
    "name: waiter\ntools:\n"
    "  - name: wait\n    parameters: {type: object, properties: {ms: {type: integer}}}\n"
    "    binding: gap_tools:wait\n"
    "  - name: die\n    parameters: {type: object, properties: {}}\n    binding: gap_tools:die\n"
)


def _tasks(folder: Path, expected: dict[str, str]) -> None:
    (folder / "tasks.jsonl").write_text("".join(
        json.dumps({"id": t, "prompt": f"do {t}", "expected": e}) + "\n"
        for t, e in expected.items()))


def _script(folder: Path, task: str, first: dict[str, Any]) -> None:
    replies = [{"tool_calls": [first]}, {"text": "found it"}]
    (folder / f"script-{task}.yaml").write_text(json.dumps({"replies": replies}))


def _scripted_config(folder: Path, **extra: Any) -> Path:
    (folder / "agent.yaml").write_text(WAITER)
    return write_config(folder, {
        "name": "procs", "tasks": ["tasks.jsonl"], "agents": [{"spec": "agent.yaml"}],
        "models": [{"name": "scripted", "ref": "scripted:script-{task}.yaml", "concurrency": 4}],
        "output": "out", **extra,
    })


def _outcomes(config_path: Path) -> dict[str, tuple[Any, ...]]:
    out = {}
    for traj in iter_trajectories(config_path.parent / "out" / "trajectories.jsonl"):
        gap = traj.metadata["gap"]
        assert traj.outcome is not None
        out[gap["key"]["task"]] = (traj.outcome.status.value, gap["accepted"],
                                   gap.get("rejected_by"), traj.outcome.final_output)
    return out


def test_the_same_episodes_and_report_as_the_local_executor(tmp_path: Path) -> None:
    expected = {f"t{i}": ("found" if i % 3 else "lost") for i in range(9)}
    reports, outcomes = [], []
    for executor in ("local", "processes"):
        folder = tmp_path / executor
        folder.mkdir()
        _tasks(folder, expected)
        for task in expected:
            _script(folder, task, {"name": "wait", "arguments": {"ms": 5}})
        path = _scripted_config(folder, executor=executor, workers=2)
        reports.append(asyncio.run(run_gap(load_config(path))).report)
        outcomes.append(_outcomes(path))
    local, procs = reports
    assert procs["executor"]["name"] == "processes" and procs["executor"]["workers"] == 2
    assert outcomes[0] == outcomes[1] and len(outcomes[1]) == 9
    assert sorted(t for t, o in outcomes[1].items() if not o[1]) == ["t0", "t3", "t6"]
    for key in ("episodes", "accepted", "rejected", "rejections", "by_backend", "tool_calls"):
        assert procs[key] == local[key], key


def test_a_worker_that_dies_is_an_executor_error_and_its_episodes_errors(tmp_path: Path) -> None:
    tasks = {f"t{i}": "found" for i in range(6)}
    _tasks(tmp_path, tasks)
    for task in tasks:
        call = ({"name": "die", "arguments": {}} if task == "t3"
                else {"name": "wait", "arguments": {"ms": 600}})
        _script(tmp_path, task, call)
    path = _scripted_config(tmp_path, executor="processes", workers=2)
    with pytest.raises(ExecutorError, match=r"worker \d \(pid \d+\) was killed by signal 9 "
                                            r"holding 3 episode"):
        asyncio.run(run_gap(load_config(path)))
    outcomes = _outcomes(path)
    assert len(outcomes) == 6  # nothing lost: the dead worker's episodes are recorded
    died = {t for t, o in outcomes.items() if o[0] == "error"}
    assert "t3" in died and len(died) == 3
    assert not any(outcomes[t][1] for t in died)  # never accepted
    assert all(outcomes[t][1] for t in set(tasks) - died)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert "ExecutorError" in report["aborted"]
    errors = [traj.outcome.error for traj in iter_trajectories(
        tmp_path / "out" / "trajectories.jsonl") if traj.outcome and traj.outcome.error]
    assert all(e.type == "ExecutorError" and "worker" in e.message for e in errors)


def test_an_endpoints_limit_holds_across_worker_processes(tmp_path: Path) -> None:
    with ChatServer(default=Reply(text="found"), latency_s=0.15) as server:
        (tmp_path / "agent.yaml").write_text("name: plain\nsystem_prompt: Answer.\n")
        _tasks(tmp_path, {f"t{i}": "found" for i in range(16)})
        path = write_config(tmp_path, {
            "name": "limit", "tasks": ["tasks.jsonl"], "agents": [{"spec": "agent.yaml"}],
            "models": [{"name": "m", "ref": "openai:m", "base_url": server.base_url,
                        "api_key_env": "NEX_TEST_NO_KEY", "concurrency": 3}],
            "output": "out", "executor": "processes", "workers": 2,
        })
        report = asyncio.run(run_gap(load_config(path))).report
    assert report["accepted"] == 16
    assert report["executor"]["lanes"] == 6  # 3 per worker: 6 could reach the server at once
    assert server.max_in_flight == 3


def test_a_worker_writes_the_lines_of_one_loop_pass_at_once() -> None:
    """The lines of the episodes that finish in one pass of the worker's loop go out in one
    write (one system call, one wake-up of the driver), in the order they were written."""
    import io

    from nex_core.gap.proc_worker import _Lines

    class Out(io.BytesIO):
        writes = 0

        def write(self, data: Any) -> int:
            self.writes += 1
            return super().write(data)

    async def main() -> Out:
        out = Out()
        lines = _Lines(asyncio.get_running_loop(), out)
        lines(b"1 a\n")
        lines(b"2 b\n")
        assert out.writes == 0  # not before the pass ends
        await asyncio.sleep(0)
        lines(b"3 c\n")
        lines.flush()
        return out

    out = asyncio.run(main())
    assert out.getvalue() == b"1 a\n2 b\n3 c\n" and out.writes == 2
