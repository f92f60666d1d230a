"""Resume: a run killed with SIGKILL loses at most the episodes in flight, never a finished one,
and the next run writes every remaining episode exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gap_helpers import HERE, REPO, write_config

from nex_core.gap import load_config, run_gap
from nex_core.trajectory.reader import BadLine, iter_trajectories

TASKS = 40


def _setup(tmp_path: Path) -> Path:
    (tmp_path / "tasks.jsonl").write_text(
        "".join(
            json.dumps({"id": f"t{i:02d}", "prompt": f"wait for task {i}"}) + "\n"
            for i in range(TASKS)
        )
    )
    (tmp_path / "agent.yaml").write_text(
        "name: waiter\nsystem_prompt: Wait, then say done.\ntools:\n"
        "  - name: wait\n    description: Sleep.\n"
        "    parameters: {type: object, properties: {ms: {type: integer}}, required: [ms]}\n"
        "    binding: gap_tools:wait\n"
    )
    (tmp_path / "script.yaml").write_text(
        "replies:\n  - tool_calls: [{name: wait, arguments: {ms: 150}}]\n  - text: done\n"
    )
    return write_config(
        tmp_path,
        {
            "name": "resume",
            "tasks": ["tasks.jsonl"],
            "agents": [{"spec": "agent.yaml"}],
            "models": [{"name": "scripted", "ref": "scripted:script.yaml", "concurrency": 2}],
            "output": "out",
            "checks": [{"name": "status"}],
        },
    )


def _keys(path: Path) -> tuple[list[str], list[BadLine]]:
    bad: list[BadLine] = []
    keys = [
        json.dumps(t.metadata["gap"]["key"], sort_keys=True)
        for t in iter_trajectories(path, on_error=bad.append)
    ]
    return keys, bad


def test_sigkill_mid_run_then_resume_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    config_path = _setup(tmp_path)
    out = tmp_path / "out" / "trajectories.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)])}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from nex_core.cli import main; main()",
            "gap",
            "run",
            str(config_path),
            "--no-progress",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= 6:
            break
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.stderr is not None
    proc.stderr.close()

    before, bad = _keys(out)
    assert 6 <= len(before) < TASKS
    assert len(set(before)) == len(before)
    assert len(bad) <= 1  # at most a torn last line
    # A kill in the middle of a write leaves a torn tail: the next run must step over it.
    with out.open("ab") as f:
        f.write(b'{"schema_version": 1, "id": "torn", "provenance": {"fram')

    result = asyncio.run(run_gap(load_config(config_path)))
    report = result.report
    assert report["this_run"]["resumed_skipped"] == len(before)
    assert report["this_run"]["episodes"] == TASKS - len(before)
    assert len(report["unreadable_lines"]) >= 1

    after, bad_after = _keys(out)
    assert len(after) == TASKS and len(set(after)) == TASKS
    assert after[: len(before)] == before  # finished episodes were kept, never rewritten
    assert len(bad_after) <= 2

    # Resuming a complete run is a no-op.
    again = asyncio.run(run_gap(load_config(config_path)))
    assert again.report["this_run"]["episodes"] == 0
    assert _keys(out)[0] == after


def test_a_second_run_on_the_same_output_is_refused(tmp_path: Path) -> None:
    import pytest

    from nex_core.errors import SpecError
    from nex_core.gap.store import exclusive

    config = load_config(_setup(tmp_path))
    with exclusive(config.output_dir), pytest.raises(SpecError, match="another nex gap run"):
        asyncio.run(run_gap(config))
