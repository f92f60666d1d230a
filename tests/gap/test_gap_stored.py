"""An episode verified where it ran and sent as its stored line (``nex_core.gap.stored``) ends as
the very line the local executor writes, whichever check decides it, and a driver-only check, a
check that raises in the worker, and a worker that cannot build the checks fall back to the
driver's verification."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gap_helpers import write_config

from nex_core.gap import load_config, run_gap
from nex_core.gap.checks import Check, Verdict
from nex_core.gap.config import GapConfig
from nex_core.gap.plan import applicable_pairs, iter_episodes, load_specs
from nex_core.gap.stored import StoredResult, complete, decode, encode
from nex_core.gap.tasks import Task
from nex_core.gap.verify import build_checks, checks_for_worker, verify, worker_checks
from nex_core.gap.worker import EpisodeResult, Worker
from nex_core.hookspecs import hookimpl
from nex_core.plugins import get_plugin_manager
from nex_core.trajectory.compact import dumps_bytes
from nex_core.trajectory.schema import Trajectory

AGENT = "name: plain\nsystem_prompt: Answer.\n"


def _config(folder: Path, tasks: dict[str, tuple[str, str]], **extra: Any) -> GapConfig:
    """Tasks ``id -> (prompt, expected)``; the scripted model answers ``found it``."""
    (folder / "agent.yaml").write_text(AGENT)
    (folder / "tasks.jsonl").write_text("".join(
        json.dumps({"id": t, "prompt": p, "expected": e}) + "\n" for t, (p, e) in tasks.items()))
    (folder / "script.yaml").write_text(json.dumps({"replies": [{"text": "found it"}]}))
    return load_config(write_config(folder, {
        "name": "stored", "tasks": ["tasks.jsonl"], "agents": [{"spec": "agent.yaml"}],
        "models": [{"name": "scripted", "ref": "scripted:script.yaml", "concurrency": 4}],
        "output": "out", **extra,
    }))


def _results(config: GapConfig) -> list[EpisodeResult]:
    async def run() -> list[EpisodeResult]:
        worker = Worker(config)
        try:
            pairs, _ = applicable_pairs(config, load_specs(config))
            return [await worker.run(e) for e in iter_episodes(config, pairs)]
        finally:
            await worker.aclose()

    return asyncio.run(run())


def _copy(result: EpisodeResult) -> EpisodeResult:
    return EpisodeResult(result.episode, result.trajectory.model_copy(deep=True), result.seconds)


async def _both(config: GapConfig, results: list[EpisodeResult]) -> list[tuple[bytes, bytes]]:
    """Each episode's line as the local executor writes it and as the worker-then-driver path
    writes it, with each path's own checks (dedup keeps its state across the episodes)."""
    local, driver = build_checks(config), build_checks(config)
    worker, here = checks_for_worker(config, worker_checks(driver))
    lines = []
    for result in results:
        a = _copy(result)
        await verify(local, a)
        wire = await encode(worker, here, _copy(result))
        got = decode(result.episode, result.seconds, wire)
        assert isinstance(got, StoredResult)
        line, _, parsed = await complete(driver, got)
        lines.append((dumps_bytes(a.trajectory), line))
        assert parsed is None  # the driver never parsed it
    return lines


def test_the_driver_writes_the_line_the_local_executor_writes(tmp_path: Path) -> None:
    # t0 accepted, t1 rejected in the worker (wrong answer), t2 a duplicate of t0 (dedup, in the
    # driver), t3 accepted (another prompt).
    config = _config(tmp_path, {"t0": ("same", "found"), "t1": ("other", "lost"),
                                "t2": ("same", "found"), "t3": ("third", "found")})
    pairs = asyncio.run(_both(config, _results(config)))
    gaps = []
    for local, stored in pairs:
        assert stored == local
        assert Trajectory.model_validate_json(stored).to_json().encode() == stored  # stored form
        gaps.append(json.loads(stored)["metadata"]["gap"])
    assert [g["accepted"] for g in gaps] == [True, False, False, True]
    assert gaps[1]["rejected_by"] == "task:wrong_answer" and "dedup" not in gaps[1]["checks"]
    assert gaps[2]["rejected_by"] == "dedup:duplicate"
    assert gaps[0]["checks"]["task"]["rewards"] == {"task": 1.0}


class _Seen(Check):
    """A check with state, so the driver runs it: it remembers every trajectory it judged."""

    name = "seen"
    judged: list[str] = []

    async def check(self, trajectory: Trajectory, task: Task) -> Verdict:
        self.judged.append(trajectory.id)
        return Verdict.accept(rewards={"seen": float(len(self.judged))})


class _Raises(Check):
    name = "raises"
    worker_safe = True

    async def check(self, trajectory: Trajectory, task: Task) -> Verdict:
        raise RuntimeError("the verifier broke")


class _Plugin:
    @hookimpl
    def nex_verifiers(self) -> dict[str, Any]:
        return {"seen": _Seen, "raises": _Raises}


@pytest.fixture
def extra_checks() -> Iterator[None]:
    pm = get_plugin_manager()
    plugin = _Plugin()
    pm.register(plugin, name="stored-test-checks")
    _Seen.judged = []
    try:
        yield
    finally:
        pm.unregister(plugin)


def test_a_check_with_state_runs_in_the_driver_on_the_parsed_line(
    tmp_path: Path, extra_checks: None
) -> None:
    config = _config(tmp_path, {"t0": ("a", "found"), "t1": ("b", "found")}, checks=[
        {"name": "status"}, {"name": "task"}, {"name": "seen"}, {"name": "dedup"}])
    driver = build_checks(config)
    assert worker_checks(driver) == 2

    results = _results(config)

    async def run() -> list[tuple[bytes, Trajectory | None]]:
        out = []
        for result in results:
            got = decode(result.episode, result.seconds, await encode(driver, 2, result))
            assert isinstance(got, StoredResult)
            line, _, parsed = await complete(driver, got)
            out.append((line, parsed))
        return out

    lines = asyncio.run(run())
    assert len(_Seen.judged) == 2 and all(parsed is not None for _, parsed in lines)
    for line, parsed in lines:
        assert parsed is not None and dumps_bytes(parsed) == line
        gap = json.loads(line)["metadata"]["gap"]
        assert list(gap["checks"]) == ["status", "task", "seen", "dedup"] and gap["accepted"]
    assert json.loads(lines[1][0])["outcome"]["rewards"] == {"task": 1.0, "seen": 2.0}


def test_a_check_that_raises_in_the_worker_is_left_to_the_driver(
    tmp_path: Path, extra_checks: None
) -> None:
    config = _config(tmp_path, {"t0": ("a", "found")}, checks=[{"name": "raises"}])
    (result,) = _results(config)
    before = dict(result.trajectory.metadata["gap"])
    got = decode(result.episode, result.seconds,
                 asyncio.run(encode(build_checks(config), 1, result)))
    assert isinstance(got, EpisodeResult)  # the whole trajectory: the driver verifies it
    assert got.trajectory.metadata["gap"] == before and "checks" not in before
    with pytest.raises(RuntimeError, match="the verifier broke"):
        asyncio.run(verify(build_checks(config), got))


def test_a_worker_that_cannot_build_the_checks_verifies_nothing(tmp_path: Path) -> None:
    pm = get_plugin_manager()
    plugin = _Plugin()
    pm.register(plugin, name="stored-test-checks")
    try:  # registered in this process only, as a worker process would not have it
        config = _config(tmp_path, {"t0": ("a", "found")}, checks=[{"name": "status"},
                                                                   {"name": "seen"}])
    finally:
        pm.unregister(plugin)
    assert checks_for_worker(config, 1) == ([], 0)
    (result,) = _results(config)
    got = decode(result.episode, result.seconds, asyncio.run(encode([], 0, result)))
    assert isinstance(got, StoredResult) and got.checked == 0 and "accepted" not in got.gap


def test_processes_dedup_and_a_driver_check_as_the_local_executor(
    tmp_path: Path, extra_checks: None
) -> None:
    """End to end: workers that do not know the driver's ``seen`` check verify nothing, and
    duplicates across workers are rejected as in one process."""
    tasks = {f"t{i}": ("same" if i % 2 else f"p{i}", "found") for i in range(8)}
    reports, lines = [], []
    for executor in ("local", "processes"):
        folder = tmp_path / executor
        folder.mkdir()
        config = _config(folder, tasks, executor=executor, workers=2, checks=[
            {"name": "status"}, {"name": "seen"}, {"name": "dedup"}])
        reports.append(asyncio.run(run_gap(config)).report)
        lines.append((folder / "out" / "trajectories.jsonl").read_bytes().splitlines())
    local, procs = reports
    assert local["accepted"] == procs["accepted"] == 5  # 4 distinct prompts + the first "same"
    assert procs["rejections"] == local["rejections"] == {"dedup:duplicate": 3}
    assert len(_Seen.judged) == 16  # 8 episodes in each run, every one judged in the driver
    for line in lines[1]:
        assert Trajectory.model_validate_json(line).to_json().encode() == line


def test_an_episode_on_the_wire_to_a_worker_is_the_same_episode() -> None:
    """``Episode.to_wire`` / ``from_wire`` (the processes executor's feed) give back what
    ``to_json`` / ``from_json`` give back, for a task whose strings hold the separator (a tab),
    newlines, non-ASCII text and JSON, and whose metadata is nested."""
    from nex_core.gap.plan import Episode, EpisodeKey

    task = Task.model_validate({
        "id": "t\t1 \"quoted\"", "turns": ["line one\nline two\t\u00e9\u2028", "{\"a\": 1}"],
        "expected": "d\u00f6ne", "match": "exact", "rubric": "grade\tit",
        "metadata": {"nested": {"n": [1, 2.5, None, True]}, "emoji": "\U0001f600",
                     "nan": float("nan")},
    })
    episode = Episode(EpisodeKey("t\t1", "agent \u00e9", "native", "m\tx", 3), task)
    wire = episode.to_wire()
    assert b"\n" not in wire and wire.count(b"\t") == 1
    back = Episode.from_wire(wire)
    assert back == Episode.from_json(episode.to_json())
    assert back.key == episode.key
    assert back.task.model_dump(mode="json") == task.model_dump(mode="json")
