"""Synthesis benchmark: systems checked and written per second by ``nex synth``.

A scripted generator returns a valid three-file system (a root with a simulated tool and an
agent-as-tool child; each system's tool named apart, so none is a near duplicate) for each of N
systems (40, 10 with ``--quick``). What is timed is nex's side of a synth run: parsing the bundle,
loading it with nex's loader, the schema and binding checks, the dry run on the scripted model,
and writing the system folder, the generator's trajectory and the manifest. Three runs are
interleaved; the median is reported with the range.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench import quick as quick_requested


def _tool(name: str, prop: str) -> dict[str, Any]:
    return {
        "name": name, "description": f"The {name} tool.",
        "parameters": {"type": "object", "properties": {prop: {"type": "string"}},
                       "required": [prop]},
        "binding": {"kind": "simulated", "state": {"k": "v"}},
    }  # fmt: skip


def _bundle(i: int) -> str:
    bundle = {
        "root": "desk.yaml",
        "files": {
            "desk.yaml": {"name": "desk", "system_prompt": "Help.",
                          "tools": [_tool(f"track_{i}", "id")],
                          "sub_agents": [{"ref": "stock.yaml", "mode": "tool"}]},
            "stock.yaml": {"name": "stock", "system_prompt": "Stock.",
                           "tools": [_tool("check_stock", "sku")]},
        },
        "tasks": [{"id": "t1", "prompt": "Where is it?", "expected": "here"}],
    }  # fmt: skip
    return "```yaml\n" + yaml.safe_dump(bundle, sort_keys=False) + "```\n"


def _one(n: int) -> float:
    from nex_core.models.scripted import ScriptedModel
    from nex_core.synth import SynthConfig, synthesize

    model = ScriptedModel({"agents": {"synth": [{"text": _bundle(i)} for i in range(n)]}})
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        run = asyncio.run(synthesize("bench", model, Path(tmp) / "out", SynthConfig(n=n)))
        seconds = time.perf_counter() - started
    assert len(run.valid) == n, [s.problems for s in run.systems]
    return n / seconds


def run(quick: bool = False) -> dict[str, Any]:
    n = 10 if quick or quick_requested() else 40
    _one(2)  # imports and plugin discovery, outside the timing
    rates = [_one(n) for _ in range(3)]
    return {
        "systems": n,
        "systems_per_s_median": round(statistics.median(rates), 2),
        "systems_per_s_range": [round(min(rates), 2), round(max(rates), 2)],
    }
