"""Recording overhead of the OpenAI Agents SDK adapter: a bare run versus a recorded run.

One agent, one tool, a script of 10 tool rounds then an answer, driven by nex's ScriptedModel
through the bridge. Bare is ``Runner.run`` alone (the SDK's tracing on, with no processor
installed); recorded is the adapter's ``arecord`` (nex's trace processor and model wrapper).
Runs alternate so machine noise falls on both. The result is the ratio of the median wall
times, with each side's quartiles and the quartiles of the per-pair ratios; the goal is at most
1.05.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

try:
    from agents import Agent, Runner, function_tool, set_trace_processors
    from nex_openai_agents import OpenAIAgentsAdapter, bridge_model
except ImportError as exc:  # the bench runner skips modules whose framework is missing
    raise ImportError(f"nex-openai-agents is not installed: {exc}") from exc

from bench import quick
from nex_core import ScriptedModel

REPETITIONS = 100
WARMUP = 5
ROUNDS = 10
TARGET = 1.05


@function_tool
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


SCRIPT: list[dict[str, Any]] = [
    {"tool_calls": [{"name": "add", "arguments": {"a": i, "b": 1}}]} for i in range(ROUNDS)
] + [{"text": "done"}]


def make_agent(bridge: Any = bridge_model) -> Agent:
    """The agent, its model bridged by ``bridge`` (an adapter's own ``bridge_model``)."""
    return Agent(
        name="adder",
        instructions="Add, ten times.",
        tools=[add],
        model=bridge(ScriptedModel(SCRIPT)),
    )


async def _bare() -> float:
    agent = make_agent()
    t0 = time.perf_counter()
    result = await Runner.run(agent, "Go.", max_turns=ROUNDS + 1)
    elapsed = time.perf_counter() - t0
    assert result.final_output == "done"
    return elapsed


async def _recorded(adapter: OpenAIAgentsAdapter) -> float:
    agent = make_agent()
    t0 = time.perf_counter()
    traj = await adapter.arecord(agent, "Go.", max_turns=ROUNDS + 1)
    elapsed = time.perf_counter() - t0
    assert traj.outcome is not None and traj.outcome.final_output == "done"
    assert sum(1 for s in traj.steps if s.kind == "tool") == ROUNDS
    return elapsed


def _quartiles(values: list[float]) -> list[float]:
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return [round(q1, 3), round(q2, 3), round(q3, 3)]


async def _measure(repetitions: int) -> dict[str, Any]:
    set_trace_processors([])  # no exporter to api.openai.com, on either side
    adapter = OpenAIAgentsAdapter()
    for _ in range(WARMUP):
        await _bare()
        await _recorded(adapter)
    bare: list[float] = []
    recorded: list[float] = []
    for i in range(repetitions):
        if i % 2:  # alternate which side goes first
            bare.append(await _bare())
            recorded.append(await _recorded(adapter))
        else:
            recorded.append(await _recorded(adapter))
            bare.append(await _bare())
    bare_ms, recorded_ms = statistics.median(bare) * 1e3, statistics.median(recorded) * 1e3
    ratio = recorded_ms / bare_ms
    return {
        "repetitions": repetitions,
        "tool_rounds": ROUNDS,
        "bare_median_ms": round(bare_ms, 3),
        "recorded_median_ms": round(recorded_ms, 3),
        "bare_quartiles_ms": _quartiles([b * 1e3 for b in bare]),
        "recorded_quartiles_ms": _quartiles([r * 1e3 for r in recorded]),
        "pair_ratio_quartiles": _quartiles([r / b for r, b in zip(recorded, bare, strict=True)]),
        "ratio": round(ratio, 3),
        "target": TARGET,
        "within_target": ratio <= TARGET,
    }


def run(repetitions: int | None = None) -> dict[str, Any]:
    """Median wall times of bare and recorded runs of one agent and script, and their ratio."""
    return asyncio.run(_measure(repetitions or (20 if quick() else REPETITIONS)))
