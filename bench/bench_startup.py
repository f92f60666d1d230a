"""Start-up cost of nex: ``import nex_core``, ``nex --help`` and a native ``nex run``, each in a
fresh process.

Every case is a new interpreter started with ``subprocess``; nothing is warmed up in-process.
Two clocks: wall time from spawn to exit, and the child's CPU time (user + system, from its
rusage), which a loaded machine disturbs far less than wall time. The cases are interleaved
round by round, so load that comes and goes spreads over all of them, and each reports the
median with its spread (min, max). ``python -c pass`` is measured the same way, and
``own_*_ms`` is a case's median minus that baseline: what nex costs, apart from starting Python.
``libraries`` imports only the third-party libraries a native run needs (asyncio, click, rich,
pydantic's BaseModel, PyYAML, pluggy); ``nex_own_cpu_ms`` is a case's CPU median minus that one:
nex's own time, apart from the libraries it stands on (what the start-up target is about).

- ``libraries``: ``python -c "import asyncio, click, rich.console, yaml, pluggy; from pydantic
  import BaseModel"``.

nex's own modules are compiled to bytecode first (``compileall``), as an installed package's are:
with ``PYTHONDONTWRITEBYTECODE`` set and a fresh checkout, every case would otherwise compile
nex's sources anew (about 0.4 s) and measure that instead.
- ``import``: ``python -c "import nex_core"``.
- ``help``: ``python -m nex_core --help`` (every built-in and plugin command listed; no adapter
  imported).
- ``run_native``: ``python -m nex_core run examples/calculator/agent.yaml`` on the scripted
  model, writing its trajectory to a temporary file (3 model calls, 3 tool calls).

``modules`` counts the modules each case leaves in ``sys.modules`` and says whether LangGraph or
AutoGen was imported, which must never happen for these cases.
"""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import quick as quick_requested

REPO = Path(__file__).resolve().parents[1]
TARGET_OWN_MS = 250.0  # issue 12: a native run's nex-own CPU
# pydantic's package import is lazy: BaseModel is what loads it. jsonschema is not here: a native
# run whose tool arguments pass the quick check never imports it.
LIBRARIES = "import asyncio, click, rich.console, yaml, pluggy; from pydantic import BaseModel"
FRAMEWORKS = ("langgraph", "autogen_agentchat", "autogen_core", "langchain_core")

_PROBE = (
    "import sys, json, runpy\n"
    "sys.argv = ['nex', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('nex_core', run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
)


def _cases(out: Path) -> dict[str, list[str]]:
    run = [
        "run",
        "examples/calculator/agent.yaml",
        "--task",
        "What is (2+3)*4?",
        "--model",
        "scripted:examples/calculator/script.yaml",
        "--out",
        str(out),
        "--quiet",
    ]
    return {
        "baseline": ["-c", "pass"],
        "libraries": ["-c", LIBRARIES],
        "import": ["-c", "import nex_core"],
        "help": ["-m", "nex_core", "--help"],
        "run_native": ["-m", "nex_core", *run],
    }


def _time_once(args: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, from the child's own rusage) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - started) * 1e3
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{args} exited with {proc.returncode}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1e3


def _modules(args: list[str]) -> dict[str, Any]:
    if args[0] == "-c":
        code = (
            f"{args[1]}\nimport sys, json; print(json.dumps(sorted(sys.modules)), file=sys.stderr)"
        )
        argv = ["-c", code]
    else:
        argv = ["-c", _PROBE, *args[2:]]
    res = subprocess.run(
        [sys.executable, *argv], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    names: list[str] = json.loads(res.stderr.strip().splitlines()[-1])
    tops = {n.split(".")[0] for n in names}
    return {"count": len(names), "frameworks": sorted(tops & set(FRAMEWORKS))}


def run(quick: bool = False) -> dict[str, Any]:
    rounds = 3 if quick or quick_requested() else 9
    for folder in ("nex_core", "examples"):
        compileall.compile_dir(str(REPO / folder), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        cases = _cases(Path(tmp) / "out.jsonl")
        walls: dict[str, list[float]] = {name: [] for name in cases}
        cpus: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(rounds):
            for name, args in cases.items():
                wall, cpu = _time_once(args)
                walls[name].append(wall)
                cpus[name].append(cpu)
        modules = {name: _modules(args) for name, args in cases.items() if name != "baseline"}
    base_wall = statistics.median(walls["baseline"])
    base_cpu = statistics.median(cpus["baseline"])
    libraries_cpu = statistics.median(cpus["libraries"])
    result: dict[str, Any] = {"rounds": rounds, "target_own_ms": TARGET_OWN_MS}
    for name in cases:
        entry: dict[str, Any] = {
            "wall_median_ms": round(statistics.median(walls[name]), 1),
            "wall_min_ms": round(min(walls[name]), 1),
            "wall_max_ms": round(max(walls[name]), 1),
            "cpu_median_ms": round(statistics.median(cpus[name]), 1),
            "cpu_min_ms": round(min(cpus[name]), 1),
            "cpu_max_ms": round(max(cpus[name]), 1),
        }
        if name != "baseline":
            entry["own_wall_ms"] = round(statistics.median(walls[name]) - base_wall, 1)
            entry["own_cpu_ms"] = round(statistics.median(cpus[name]) - base_cpu, 1)
        if name not in ("baseline", "libraries"):
            entry["nex_own_cpu_ms"] = round(statistics.median(cpus[name]) - libraries_cpu, 1)
            entry["modules"] = modules[name]
        result[name] = entry
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
