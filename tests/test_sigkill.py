"""SIGKILL in the middle of a run leaves the JSONL file usable.

A child process runs trajectories through the native runtime into one JSONL file without pause;
it is killed with SIGKILL once some are on disk. Every completed trajectory must read back, the
reader may report at most the one torn last line, and appending afterwards must work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nex_core.trajectory import JSONLSink, iter_trajectories
from nex_core.trajectory.reader import BadLine

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

CHILD = textwrap.dedent(
    """
    import asyncio, sys

    from nex_core.models.scripted import ScriptedModel
    from nex_core.protocol.spec import AgentSpec, CallableBinding, ToolSpec
    from nex_core.runtime.loop import run_native
    from nex_core.trajectory import JSONLSink, TaskInfo

    def echo(text: str) -> str:
        return text * 20

    spec = AgentSpec(
        name="echoer",
        tools=[ToolSpec(name="echo", parameters={"type": "object"},
                        binding=CallableBinding(ref="echo", func=echo))],
    )
    calls = [{"name": "echo", "arguments": {"text": f"chunk {k} " * 10}} for k in range(8)]
    script = [{"tool_calls": calls}, {"text": "done " * 200}]

    async def main() -> None:
        sink = JSONLSink(sys.argv[1])
        i = 0
        while True:
            await run_native(spec, TaskInfo(id=f"task-{i}", turns=["go"]),
                             model=ScriptedModel(script), sinks=[sink])
            i += 1

    asyncio.run(main())
    """
)


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def complete_lines(path: Path) -> int:
    """Lines the child has finished writing (a reader may see the last one half written)."""
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def read(path: Path) -> tuple[list[str], list[BadLine]]:
    bad: list[BadLine] = []
    ids = [t.task.id or "" for t in iter_trajectories(path, on_error=bad.append)]
    return ids, bad


def test_sigkill_mid_run_leaves_a_usable_file(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    out = tmp_path / "runs.jsonl"
    proc = subprocess.Popen([sys.executable, str(script), str(out)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while complete_lines(out) < 40:
            if proc.poll() is not None:
                pytest.fail(
                    f"child exited early: {proc.stderr.read().decode() if proc.stderr else ''}"
                )
            if time.monotonic() > deadline:
                pytest.fail("child wrote fewer than 40 trajectories in 30 s")
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    ids, bad = read(out)
    assert len(ids) >= 40
    assert ids == [f"task-{i}" for i in range(len(ids))]  # every completed run, in order
    assert len(bad) <= 1
    if bad:
        assert bad[0].line == count_lines(out)  # only ever the last line

    # Tear the tail on purpose too, as a kill during the write would.
    data = out.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    out.write_bytes(data[: last_start + (len(data) - last_start) // 2])
    torn_ids, torn_bad = read(out)
    assert torn_ids == ids[: len(torn_ids)] and len(torn_ids) >= len(ids) - 1
    assert len(torn_bad) == 1

    # Appending afterwards works: a fresh line is started and everything new reads back.
    with JSONLSink(out) as sink:
        for line in out.read_text().splitlines()[:3]:
            if line.endswith("}"):
                sink.write_line(line)
    after_ids, after_bad = read(out)
    assert after_ids[: len(torn_ids)] == torn_ids
    assert len(after_ids) == len(torn_ids) + 3
    assert [b.line for b in after_bad] == [b.line for b in torn_bad]
