"""Recording overhead of the OpenAI Agents SDK adapter: a bare run versus a recorded run.

One agent, one tool, a script of 10 tool rounds then an answer, driven by nex's ScriptedModel
through the bridge. Bare is ``Runner.run`` alone (the SDK's tracing on, with no processor
installed); recorded is the adapter's ``arecord`` (nex's trace processor and model wrapper).
Runs alternate so machine noise falls on both (``bench._pairs``); the result is the median of
the per-pair CPU-time ratios with their quartiles, beside the ratio of the medians; the goal is
at most 1.05. ``python -m bench._oa_ab --baseline CHECKOUT`` compares two checkouts' recording
in one process.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

try:
    from agents import Agent, Runner, function_tool, set_trace_processors
    from nex_openai_agents import OpenAIAgentsAdapter, bridge_model
except ImportError as exc:  # the bench runner skips modules whose framework is missing
    raise ImportError(f"nex-openai-agents is not installed: {exc}") from exc

from bench import quick
from bench._pairs import interleave, pair_summary
from nex_core import ScriptedModel

REPETITIONS = 150
WARMUP = 10
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


async def _bare() -> None:
    result = await Runner.run(make_agent(), "Go.", max_turns=ROUNDS + 1)
    assert result.final_output == "done"


def _recorded(adapter: OpenAIAgentsAdapter) -> Any:
    async def side() -> None:
        traj = await adapter.arecord(make_agent(), "Go.", max_turns=ROUNDS + 1)
        assert traj.outcome is not None and traj.outcome.final_output == "done"
        assert sum(1 for s in traj.steps if s.kind == "tool") == ROUNDS

    return side


async def _measure(repetitions: int) -> dict[str, Any]:
    set_trace_processors([])  # no exporter to api.openai.com, on either side
    adapter = OpenAIAgentsAdapter()
    load = [round(x, 2) for x in os.getloadavg()]
    cpu = await interleave({"bare": _bare, "recorded": _recorded(adapter)}, repetitions, WARMUP)
    summary = pair_summary(cpu)
    ratio = summary["recorded"]["pair_ratio_median"]
    return {
        "tool_rounds": ROUNDS,
        **summary,
        "target": TARGET,
        "within_target": ratio <= TARGET,
        # The machine is shared: how loaded it was around the measurement (1, 5, 15 minutes).
        "load_average_1_5_15": {"before": load, "after": [round(x, 2) for x in os.getloadavg()]},
    }


def run(repetitions: int | None = None) -> dict[str, Any]:
    """CPU time of bare and recorded runs of one agent and script, taking turns; the figure is
    the median of the per-repetition recorded/bare ratios, with their quartiles."""
    return asyncio.run(_measure(repetitions or (20 if quick() else REPETITIONS)))
