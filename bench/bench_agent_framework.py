"""Recording overhead of the Agent Framework adapter: a bare run versus a recorded run.

One ``Agent`` written as Agent Framework's docs write it (``@tool`` functions) runs a script of
10 tool rounds (10 tool calls, 11 model calls), driven by the bridged ScriptedModel: bare
(``agent.run`` alone), recorded (``arecord``: a plain agent is recorded below the framework's
middleware, :mod:`nex_agent_framework.record_light`) and recorded through the middleware path
(as agents with middleware of their own are), in rotating order so machine noise falls on all.
The overhead is the median of the per-repetition CPU-time ratios recorded/bare (goal at most
1.05; this machine is shared, so CPU time, and ratios within one repetition); wall-time ratios
and the interquartile ranges are written beside it.
"""

from __future__ import annotations

import asyncio
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


def make_agent() -> Agent:
    return Agent(
        client=bridge_model(ScriptedModel(SCRIPT), agent="adder"),
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
    record.eligible = lambda agents: False  # type: ignore[assignment]
    try:
        return await _recorded(adapter)
    finally:
        record.eligible = light


def _summary(pairs: list[float]) -> dict[str, Any]:
    q1, median, q3 = statistics.quantiles(sorted(pairs), n=4)
    return {"median": round(median, 3), "iqr": [round(q1, 3), round(q3, 3)]}


async def _measure(repetitions: int) -> dict[str, Any]:
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
    return out


def run(repetitions: int = REPETITIONS) -> dict[str, Any]:
    """Median wall time of bare and recorded runs of one agent and script, and their ratio."""
    return asyncio.run(_measure(20 if quick() else repetitions))


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
