"""Recording overhead of the Agent Framework adapter: a bare run versus a recorded run.

One ``Agent`` written as Agent Framework's docs write it (``@tool`` functions) runs a script of
10 tool rounds (10 tool calls, 11 model calls), driven by the bridged ScriptedModel: bare
(``agent.run`` alone), recorded (``arecord``: a plain agent is recorded below the framework's
middleware, :mod:`nex_agent_framework.record_light`) and recorded through the middleware path
(as agents with middleware of their own are), in rotating order so machine noise falls on all.
The overhead is the median of the per-repetition CPU-time ratios recorded/bare (goal at most
1.05; this machine is shared, so CPU time, and ratios within one repetition); wall-time ratios
and the interquartile ranges are written beside it, with the load average before and after.

``python -m bench.bench_agent_framework --baseline CHECKOUT [--pairs N] [--out FILE]`` compares
two checkouts in one process: the baseline's ``nex_agent_framework`` is imported under another
name, and four sides take turns (a bare run with each checkout's bridge, a recorded run with each
checkout's adapter), each checkout's recorded/bare pairs summarised by ``bench._pairs``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

try:
    from agent_framework import Agent, tool
    from nex_agent_framework import AgentFrameworkAdapter, bridge_model
except ImportError as exc:  # the bench runner skips modules whose framework is missing
    raise ImportError(f"nex-agent-framework is not installed: {exc}") from exc

from bench import quick
from nex_core import ScriptedModel

REPETITIONS = 200
WARMUP = 10
ROUNDS = 10
GOAL = 1.05


@tool
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


SCRIPT: dict[str, Any] = {
    "replies": [
        *({"tool_calls": [{"name": "add", "arguments": {"a": i, "b": 1}}]} for i in range(ROUNDS)),
        {"text": "done"},
    ]
}


def make_agent(bridge: Any = bridge_model) -> Agent:
    """The agent, its model bridged by ``bridge`` (a checkout's own ``bridge_model``)."""
    return Agent(
        client=bridge(ScriptedModel(SCRIPT), agent="adder"),
        name="adder",
        instructions="Add, one round at a time.",
        tools=[add],
    )


async def _bare() -> tuple[float, float]:
    agent = make_agent()
    t0, c0 = time.perf_counter(), time.process_time()
    response = await agent.run("Add ten times.")
    elapsed = time.perf_counter() - t0, time.process_time() - c0
    assert response.messages[-1].text == "done"
    return elapsed


async def _recorded(adapter: AgentFrameworkAdapter) -> tuple[float, float]:
    agent = make_agent()
    t0, c0 = time.perf_counter(), time.process_time()
    traj = await adapter.arecord(agent, "Add ten times.")
    elapsed = time.perf_counter() - t0, time.process_time() - c0
    assert traj.outcome is not None and traj.outcome.final_output == "done"
    assert len(traj.steps) == 2 * ROUNDS + 1
    return elapsed


async def _middleware(adapter: AgentFrameworkAdapter) -> tuple[float, float]:
    """Recorded through the framework's middleware (the path for agents with middleware of
    their own, shared clients or tools): the light path turned off for this run."""
    from nex_agent_framework import record

    light = record.eligible
    record.eligible = lambda agents: False
    try:
        return await _recorded(adapter)
    finally:
        record.eligible = light


def _summary(pairs: list[float]) -> dict[str, Any]:
    q1, median, q3 = statistics.quantiles(sorted(pairs), n=4)
    return {"median": round(median, 3), "iqr": [round(q1, 3), round(q3, 3)]}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def _measure(repetitions: int) -> dict[str, Any]:
    load = _load()
    adapter = AgentFrameworkAdapter()
    sides = {
        "bare": _bare,
        "recorded": lambda: _recorded(adapter),
        "middleware_path": lambda: _middleware(adapter),
    }
    for _ in range(WARMUP):
        for side in sides.values():
            await side()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    names = list(sides)
    for i in range(repetitions):
        # Rotate the order every repetition, so no side always runs on a warmer cache.
        for name in names[i % 3 :] + names[: i % 3]:
            times[name].append(await sides[name]())
    out: dict[str, Any] = {"repetitions": repetitions, "goal": GOAL}
    bare_wall = [w for w, _ in times["bare"]]
    bare_cpu = [c for _, c in times["bare"]]
    out["bare_median_ms"] = {
        "wall": round(statistics.median(bare_wall) * 1e3, 3),
        "cpu": round(statistics.median(bare_cpu) * 1e3, 3),
    }
    for name in ("recorded", "middleware_path"):
        wall = [w / b for (w, _), b in zip(times[name], bare_wall, strict=True)]
        cpu = [c / b for (_, c), b in zip(times[name], bare_cpu, strict=True)]
        out[name] = {"wall_pair_ratio": _summary(wall), "cpu_pair_ratio": _summary(cpu)}
    out["ratio"] = out["recorded"]["cpu_pair_ratio"]["median"]
    out["within_goal"] = out["ratio"] <= GOAL
    out["model_calls_per_run"] = ROUNDS + 1
    out["tool_calls_per_run"] = ROUNDS
    out["load_average_1_5_15"] = {"before": load, "after": _load()}
    return out


async def _ab(baseline: Any, pairs: int, warmup: int) -> dict[str, Any]:
    """Bare and recorded runs of the baseline checkout and of this one, taking turns."""
    from bench._pairs import interleave, pair_summary

    before, after = baseline.AgentFrameworkAdapter(), AgentFrameworkAdapter()

    def bare(bridge: Any) -> Any:
        async def side() -> None:
            response = await make_agent(bridge).run("Add ten times.")
            assert response.messages[-1].text == "done"

        return side

    def recorded(adapter: Any, bridge: Any) -> Any:
        async def side() -> None:
            traj = await adapter.arecord(make_agent(bridge), "Add ten times.")
            assert traj.outcome.final_output == "done" and len(traj.steps) == 2 * ROUNDS + 1

        return side

    load = _load()
    cpu = await interleave(
        {
            "bare_before": bare(baseline.bridge_model),
            "before": recorded(before, baseline.bridge_model),
            "bare": bare(bridge_model),
            "after": recorded(after, bridge_model),
        },
        pairs,
        warmup,
    )
    # Each recorded side against the bare run with its own bridge (a bridge's cost is the
    # bare side's; the recorded/bare ratio is the recording's).
    return {
        "tool_rounds": ROUNDS,
        "pairs": pairs,
        "before": pair_summary({"bare": cpu["bare_before"], "recorded": cpu["before"]}),
        "after": pair_summary({"bare": cpu["bare"], "recorded": cpu["after"]}),
        "load_average_1_5_15": {"before": load, "after": _load()},
    }


def _import_baseline(checkout: Any, into: Any) -> Any:
    import importlib
    import re
    import sys

    source = checkout / "adapters" / "agent_framework" / "nex_agent_framework"
    target = into / "nex_af_base"
    target.mkdir()
    for path in source.iterdir():
        if path.suffix in (".py", ".yaml", ".typed"):
            text = re.sub(r"\bnex_agent_framework\b", "nex_af_base", path.read_text("utf-8"))
            (target / path.name).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(into))
    return importlib.import_module("nex_af_base")


def main(argv: list[str] | None = None) -> None:
    import argparse
    import json
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser(description="Agent Framework recording overhead")
    parser.add_argument("--baseline", type=Path, help="a checkout to compare with (A/B)")
    parser.add_argument("--pairs", type=int, default=REPETITIONS)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.baseline is None:
        result = run(args.pairs)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            baseline = _import_baseline(args.baseline, Path(tmp))
            result = asyncio.run(_ab(baseline, args.pairs, args.warmup))
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


def run(repetitions: int = REPETITIONS) -> dict[str, Any]:
    """Median wall time of bare and recorded runs of one agent and script, and their ratio."""
    return asyncio.run(_measure(20 if quick() else repetitions))


if __name__ == "__main__":
    main()
