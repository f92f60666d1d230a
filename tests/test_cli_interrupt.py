"""Ctrl-C during `nex run`: on every backend the process ends promptly (no waiting for a sleeping
tool's thread) and the trajectory is kept, recorded as cancelled, with what finished before.

A real `nex` process, a scripted model and an import-bound tool that sleeps; SIGINT is sent once
the tool has started (it leaves a marker file). The exit bound is generous: it is not a timing
benchmark, it tells "exits at once" from "waits for the tool" (60 s).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nex_core.trajectory import iter_trajectories

TOOLS = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path


    def add(a: float, b: float) -> float:
        return a + b


    def nap(seconds: float) -> str:
        Path(os.environ["NEX_TEST_MARKER"]).write_text("started")
        time.sleep(seconds)
        return "rested"
    """
)
SPEC = textwrap.dedent(
    """
    name: sleeper
    system_prompt: Add, then nap.
    model: {id: scripted}
    tools:
      - name: add
        description: Add two numbers.
        parameters:
          type: object
          properties: {a: {type: number}, b: {type: number}}
          required: [a, b]
        binding: nap_tools:add
      - name: nap
        description: Sleep a while.
        parameters: {type: object, properties: {seconds: {type: number}}, required: [seconds]}
        binding: nap_tools:nap
    limits: {max_steps: 5, tool_timeout_s: 300}
    """
)
SCRIPT = textwrap.dedent(
    """
    replies:
      - tool_calls: [{name: add, arguments: {a: 1, b: 2}}]
      - tool_calls: [{name: nap, arguments: {seconds: 60}}]
      - text: done
    """
)
EXIT_WITHIN_S = 10.0
ADAPTER_MODULES = {"langgraph": "nex_langgraph", "autogen": "nex_autogen"}


def _installed(backend: str) -> bool:
    module = ADAPTER_MODULES.get(backend)
    return module is None or importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("backend", ["native", "langgraph", "autogen"])
def test_ctrl_c_records_a_cancelled_run_and_exits_at_once(tmp_path: Path, backend: str) -> None:
    if not _installed(backend):
        pytest.skip(f"the {backend} adapter is not installed")
    (tmp_path / "nap_tools.py").write_text(TOOLS)
    (tmp_path / "agent.yaml").write_text(SPEC)
    (tmp_path / "script.yaml").write_text(SCRIPT)
    marker = tmp_path / "marker"
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "nex"),
            "run",
            "agent.yaml",
            "--task",
            "hi",
            "--model",
            "scripted:script.yaml",
            "--backend",
            backend,
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        env={**os.environ, "NEX_TEST_MARKER": str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the tool never started"
            time.sleep(0.05)
        interrupted_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        took = time.monotonic() - interrupted_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert took < EXIT_WITHIN_S, f"exited {took:.1f} s after Ctrl-C"
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "recorded as cancelled" in " ".join(stderr.split())
    (trajectory,) = list(iter_trajectories(out, strict=True))
    assert trajectory.outcome is not None and trajectory.outcome.status.value == "cancelled"
    kept = [(s.kind, getattr(s, "name", None), s.status.value) for s in trajectory.steps]
    assert kept[:3] == [("llm", None, "ok"), ("tool", "add", "ok"), ("llm", None, "ok")], kept
    assert kept[3] == ("tool", "nap", "cancelled"), kept
    assert str(trajectory.steps[1].result) == "3"  # LangGraph records tool results as text
