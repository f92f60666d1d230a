"""Recording overhead of the Agent Framework adapter: a bare run versus a recorded run.

One ``Agent`` written as Agent Framework's docs write it (``@tool`` functions) runs a script of
10 tool rounds (10 tool calls, 11 model calls), driven by the bridged ScriptedModel: bare
(``agent.run`` alone) and recorded (``arecord``: the recording middleware in place), alternating
so that machine noise falls on both. The ratio of the median wall times is the overhead (goal
at most 1.05); the spread is the interquartile range of the per-pair ratios.
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


async def _bare() -> float:
    agent = make_agent()
    t0 = time.perf_counter()
    response = await agent.run("Add ten times.")
    elapsed = time.perf_counter() - t0
    assert response.messages[-1].text == "done"
    return elapsed


async def _recorded(adapter: AgentFrameworkAdapter) -> float:
    agent = make_agent()
    t0 = time.perf_counter()
    traj = await adapter.arecord(agent, "Add ten times.")
    elapsed = time.perf_counter() - t0
    assert traj.outcome is not None and traj.outcome.final_output == "done"
    assert len(traj.steps) == 2 * ROUNDS + 1
    return elapsed


async def _measure(repetitions: int) -> dict[str, Any]:
    adapter = AgentFrameworkAdapter()
    for _ in range(WARMUP):
        await _bare()
        await _recorded(adapter)
    bare: list[float] = []
    recorded: list[float] = []
    for i in range(repetitions):
        if i % 2:  # alternate which goes first, so neither always runs on a warmer cache
            recorded.append(await _recorded(adapter))
            bare.append(await _bare())
        else:
            bare.append(await _bare())
            recorded.append(await _recorded(adapter))
    bare_ms, recorded_ms = statistics.median(bare) * 1e3, statistics.median(recorded) * 1e3
    pairs = sorted(r / b for r, b in zip(recorded, bare, strict=True))
    q1, _, q3 = statistics.quantiles(pairs, n=4)
    ratio = recorded_ms / bare_ms
    return {
        "repetitions": repetitions,
        "bare_median_ms": round(bare_ms, 3),
        "recorded_median_ms": round(recorded_ms, 3),
        "ratio": round(ratio, 3),
        "pair_ratio_iqr": [round(q1, 3), round(q3, 3)],
        "goal": GOAL,
        "within_goal": ratio <= GOAL,
        "model_calls_per_run": ROUNDS + 1,
        "tool_calls_per_run": ROUNDS,
    }


def run(repetitions: int = REPETITIONS) -> dict[str, Any]:
    """Median wall time of bare and recorded runs of one agent and script, and their ratio."""
    return asyncio.run(_measure(20 if quick() else repetitions))


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
