"""Recording overhead of the LangGraph adapter: a bare run versus a recorded run.

The same graph (a ``create_agent`` agent with two tools and a second agent called as a tool) and
the same script run many times bare (``graph.ainvoke``, driven by the bridged ScriptedModel) and
recorded (``nex_langgraph.arecord``), alternating so that machine noise falls on both. Each side
builds its graph once and runs it repeatedly with a fresh script, as users run one graph on many
tasks; ``arecord`` converts a graph once to find its agents, and that one-off cost is reported on
its own (``first_recording_conversion_ms``). A third side runs with a callback handler that
records nothing (``silent_handler_ratio``): the part of the overhead that LangChain's callback
machinery costs whatever the handler does. The ratio of the median times (CPU and wall) is the
overhead; the target is at most 1.05.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

try:
    from langchain.agents import create_agent
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.tools import tool
    from nex_langgraph import arecord, bridge_model, to_spec
except ImportError as exc:  # the bench runner skips modules whose framework is missing
    raise ImportError(f"nex-langgraph is not installed: {exc}") from exc

from bench import quick
from nex_core import ChatModel, ScriptedModel

REPETITIONS = 200
WARMUP = 10
TARGET = 1.05
TASK = "Compute 2+3 and 2*3."


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
            {"tool_calls": [{"name": "checker", "arguments": {"query": "check 5 and 6"}}]},
            {"text": "5 and 6, checked."},
        ],
        "checker": [
            {"tool_calls": [{"name": "add", "arguments": {"a": 5, "b": 1}}]},
            {"text": "ok"},
        ],
    }
}


class _Rewound(ChatModel):
    """A fresh ScriptedModel for every run of one graph (built once, as users build them)."""

    model_id = "scripted"

    def __init__(self) -> None:
        self.current = ScriptedModel(SCRIPT)

    def rewind(self) -> None:
        self.current = ScriptedModel(SCRIPT)

    async def acomplete(self, request: Any, **kw: Any) -> Any:
        return await self.current.acomplete(request, **kw)


def make_graph(model: ChatModel) -> Any:
    checker_agent = create_agent(
        bridge_model(model, agent="checker"), [add], system_prompt="You check sums.", name="checker"
    )

    @tool("checker", description="Checks sums.")
    async def checker(query: str) -> str:
        result = await checker_agent.ainvoke({"messages": [{"role": "user", "content": query}]})
        return str(result["messages"][-1].content)

    return create_agent(
        bridge_model(model, agent="lead"),
        [add, multiply, checker],
        system_prompt="Compute, then have it checked.",
        name="lead",
    )


async def _bare(graph: Any, model: _Rewound) -> float:
    model.rewind()
    t0 = time.perf_counter()
    result = await graph.ainvoke({"messages": [{"role": "user", "content": TASK}]})
    elapsed = time.perf_counter() - t0
    assert result["messages"][-1].content == "5 and 6, checked."
    return elapsed


class _Silent(BaseCallbackHandler):
    """A handler that records nothing: what LangChain's callback machinery costs by itself."""

    run_inline = True


async def _silent(graph: Any, model: _Rewound) -> float:
    model.rewind()
    t0 = time.perf_counter()
    await graph.ainvoke(
        {"messages": [{"role": "user", "content": TASK}]}, {"callbacks": [_Silent()]}
    )
    return time.perf_counter() - t0


async def _recorded(graph: Any, model: _Rewound) -> float:
    model.rewind()
    t0 = time.perf_counter()
    traj = await arecord(graph, TASK)
    elapsed = time.perf_counter() - t0
    assert traj.outcome is not None and traj.outcome.final_output == "5 and 6, checked."
    return elapsed


async def _measure(repetitions: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(wall times, CPU times) of each side's runs."""
    sides = {"bare": _bare, "silent_handler": _silent, "recorded": _recorded}
    setups = {name: _Rewound() for name in sides}
    graphs = {name: make_graph(model) for name, model in setups.items()}
    times: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(WARMUP + repetitions):
        # Rotate the order so drift and caches favour no side.
        order = list(sides)[i % 3 :] + list(sides)[: i % 3]
        for name in order:
            started = time.process_time()
            elapsed = await sides[name](graphs[name], setups[name])
            if i >= WARMUP:
                times[name].append(elapsed)
                cpu[name].append(time.process_time() - started)
    return times, cpu


def _conversion_ms(repetitions: int) -> float:
    """What the first recording of a new graph adds once: converting it to find its agents."""
    times = []
    for _ in range(repetitions):
        graph = make_graph(_Rewound())
        t0 = time.perf_counter()
        to_spec(graph)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def run() -> dict[str, Any]:
    repetitions = 40 if quick() else REPETITIONS
    times, cpu = asyncio.run(_measure(repetitions))
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["recorded"] / medians["bare"]
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    cpu_ratio = cpu_medians["recorded"] / cpu_medians["bare"]
    return {
        "repetitions": repetitions,
        # CPU time of this process: what a machine shared with other work disturbs least.
        "cpu_bare_median_ms": round(cpu_medians["bare"] * 1e3, 3),
        "cpu_recorded_median_ms": round(cpu_medians["recorded"] * 1e3, 3),
        "cpu_ms_range": {
            name: [round(min(v) * 1e3, 3), round(max(v) * 1e3, 3)] for name, v in cpu.items()
        },
        "cpu_ratio": round(cpu_ratio, 4),
        "cpu_silent_handler_ratio": round(cpu_medians["silent_handler"] / cpu_medians["bare"], 4),
        "cpu_within_target": cpu_ratio <= TARGET,
        "bare_median_ms": round(medians["bare"] * 1e3, 3),
        "recorded_median_ms": round(medians["recorded"] * 1e3, 3),
        "ratio": round(ratio, 4),
        "silent_handler_median_ms": round(medians["silent_handler"] * 1e3, 3),
        "silent_handler_ratio": round(medians["silent_handler"] / medians["bare"], 4),
        "first_recording_conversion_ms": round(_conversion_ms(10 if quick() else 40), 3),
        "target": TARGET,
        "within_target": ratio <= TARGET,
    }
