"""A GAP run whose output cannot be written (a full disk, a folder under a regular file) stops
with one ``error:`` line naming the path, writes ``report.json`` for what it committed, and the
next run resumes from there.

The tests run as root, which ignores permissions, and without a small filesystem to fill: a real
``ENOTDIR`` comes from an output folder under a regular file, and ``ENOSPC`` from ``os.write``
patched to fail, in this process, for the trajectories file only."""

from __future__ import annotations

import asyncio
import errno
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from gap_helpers import write_config

from nex_core.cli.main import cli
from nex_core.errors import OutputError
from nex_core.gap import load_config, run_gap
from nex_core.trajectory.reader import iter_trajectories

TASKS = [f"t{i}" for i in range(6)]


def _setup(tmp_path: Path, output: str = "out") -> Path:
    (tmp_path / "tasks.jsonl").write_text(
        "".join(json.dumps({"id": t, "prompt": "wait"}) + "\n" for t in TASKS)
    )
    (tmp_path / "agent.yaml").write_text(
        "name: waiter\ntools:\n  - name: wait\n"
        "    parameters: {type: object, properties: {ms: {type: integer}}}\n"
        "    binding: gap_tools:wait\n"
    )
    (tmp_path / "script.yaml").write_text(
        "replies:\n  - tool_calls: [{name: wait, arguments: {ms: 1}}]\n  - text: done\n"
    )
    return write_config(
        tmp_path,
        {
            "tasks": ["tasks.jsonl"],
            "agents": [{"spec": "agent.yaml"}],
            "models": [{"name": "m", "ref": "scripted:script.yaml"}],
            "output": output,
            "max_in_flight": 1,
        },
    )


def _disk_fills_after(monkeypatch: pytest.MonkeyPatch, writes: int) -> None:
    """``os.write`` to ``trajectories.jsonl`` fails with ENOSPC after ``writes`` succeeded."""
    real_write = os.write
    done = [0]

    def write(fd: int, data: bytes) -> int:  # type: ignore[override]
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if target.endswith("trajectories.jsonl"):
            if done[0] >= writes:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            done[0] += 1
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


def test_a_full_disk_stops_the_run_with_the_path_and_keeps_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(_setup(tmp_path))
    _disk_fills_after(monkeypatch, 2)
    with pytest.raises(OutputError) as info:
        asyncio.run(run_gap(config))
    message = str(info.value)
    assert message.startswith(f"cannot write {config.trajectories_path}: No space left on device")
    assert f"report of the 2 episode(s) committed by this run is in {config.output_dir}" in message
    report = json.loads((config.output_dir / "report.json").read_text())
    assert report["aborted"].startswith("OutputError: cannot write")
    assert report["this_run"]["episodes"] == 2 and report["commits"] == 2
    assert len(list(iter_trajectories(config.trajectories_path))) == 2

    monkeypatch.undo()  # space again: the next run does the rest, once
    report = asyncio.run(run_gap(load_config(_setup(tmp_path)))).report
    assert report["this_run"]["episodes"] == 4 and report["episodes"] == len(TASKS)
    keys = [t.task.id for t in iter_trajectories(config.trajectories_path)]
    assert sorted(keys) == TASKS


def test_gap_run_on_a_full_disk_prints_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _setup(tmp_path)
    _disk_fills_after(monkeypatch, 1)
    result = CliRunner().invoke(cli, ["gap", "run", str(path), "--no-progress"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    text = _squash(result.stderr)  # rich wraps long lines, even inside a path
    assert text.count("error:") == 1
    assert _squash(f"error: cannot write {tmp_path}/out/trajectories.jsonl: No space") in text


def test_an_output_folder_under_a_file_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("not a folder\n")
    path = _setup(tmp_path, output="file.txt/out")
    result = CliRunner().invoke(cli, ["gap", "run", str(path), "--no-progress"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert _squash(result.output) == _squash(
        f"error: cannot use the output folder {tmp_path / 'file.txt/out'}: Not a directory"
    )


def _squash(text: str) -> str:
    return "".join(text.split())
