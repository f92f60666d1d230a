"""Recording overhead of the AutoGen adapter: a bare run versus a recorded run.

The same agent (two tools, one sub-agent called as a tool) and the same script run many times
bare (AutoGen alone, driven by the bridged ScriptedModel) and recorded (``arecord``), alternating
so that machine noise falls on both. The ratio of the median times (CPU and wall) is the
overhead; the target is at most 1.05.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

try:
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.tools import AgentTool
    from nex_autogen import AutogenAdapter, bridge_model
except ImportError as exc:  # the bench runner skips modules whose framework is missing
    raise ImportError(f"nex-autogen is not installed: {exc}") from exc

from bench import quick as quick_requested
from nex_core import ScriptedModel

REPETITIONS = 200
WARMUP = 10
TARGET = 1.05


def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


SCRIPT: dict[str, Any] = {
    "agents": {
        "lead": [
            {
                "tool_calls": [
                    {"name": "add", "arguments": {"a": 2, "b": 3}},
                    {"name": "multiply", "arguments": {"a": 2, "b": 3}},
                ]
            },
            {"tool_calls": [{"name": "checker", "arguments": {"task": "check 5 and 6"}}]},
            {"text": "5 and 6, checked."},
        ],
        "checker": [
            {"tool_calls": [{"name": "add", "arguments": {"a": 5, "b": 1}}]},
            {"text": "ok"},
        ],
    }
}


def make_agent() -> AssistantAgent:
    model = ScriptedModel(SCRIPT)
    checker = AssistantAgent(
        "checker",
        model_client=bridge_model(model, agent="checker"),
        tools=[add],
        max_tool_iterations=5,
        description="Checks sums.",
    )
    return AssistantAgent(
        "lead",
        model_client=bridge_model(model, agent="lead"),
        tools=[add, multiply, AgentTool(checker, return_value_as_last_message=True)],
        max_tool_iterations=5,
        system_message="Compute, then have it checked.",
    )


async def _bare() -> float:
    agent = make_agent()
    t0 = time.perf_counter()
    await agent.run(task="Compute 2+3 and 2*3.")
    return time.perf_counter() - t0


async def _recorded(adapter: AutogenAdapter) -> float:
    agent = make_agent()
    t0 = time.perf_counter()
    traj = await adapter.arecord(agent, "Compute 2+3 and 2*3.")
    elapsed = time.perf_counter() - t0
    assert traj.outcome is not None and traj.outcome.final_output == "5 and 6, checked."
    return elapsed


async def _measure(repetitions: int) -> dict[str, Any]:
    adapter = AutogenAdapter()
    for _ in range(WARMUP):
        await _bare()
        await _recorded(adapter)
    bare: list[float] = []
    recorded: list[float] = []
    cpu: dict[str, list[float]] = {"bare": [], "recorded": []}
    for i in range(repetitions):
        # Alternate which side goes first, so drift and caches favour neither.
        for side in ("bare", "recorded") if i % 2 == 0 else ("recorded", "bare"):
            started = time.process_time()
            if side == "bare":
                bare.append(await _bare())
            else:
                recorded.append(await _recorded(adapter))
            cpu[side].append(time.process_time() - started)
    bare_ms, recorded_ms = statistics.median(bare) * 1e3, statistics.median(recorded) * 1e3
    ratio = recorded_ms / bare_ms
    cpu_ratio = statistics.median(cpu["recorded"]) / statistics.median(cpu["bare"])
    return {
        "repetitions": repetitions,
        # CPU time of this process: what a machine shared with other work disturbs least.
        "cpu_bare_median_ms": round(statistics.median(cpu["bare"]) * 1e3, 3),
        "cpu_recorded_median_ms": round(statistics.median(cpu["recorded"]) * 1e3, 3),
        "cpu_ms_range": {
            name: [round(min(v) * 1e3, 3), round(max(v) * 1e3, 3)] for name, v in cpu.items()
        },
        "cpu_ratio": round(cpu_ratio, 4),
        "cpu_within_target": cpu_ratio <= TARGET,
        "bare_median_ms": round(bare_ms, 3),
        "recorded_median_ms": round(recorded_ms, 3),
        "ratio": round(ratio, 3),
        "target": TARGET,
        "within_target": ratio <= TARGET,
        "model_calls_per_run": 5,
        "tool_calls_per_run": 4,
    }


def run(repetitions: int = REPETITIONS, quick: bool = False) -> dict[str, Any]:
    """Median wall and CPU time of bare and recorded runs of one agent and script, and their
    ratio."""
    return asyncio.run(_measure(40 if quick or quick_requested() else repetitions))


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
