"""Recording overhead of the LangGraph adapter: a bare run versus a recorded run.

The same graph (a ``create_agent`` agent with two tools and a second agent called as a tool) and
the same script run many times bare (``graph.ainvoke``, driven by the bridged ScriptedModel) and
recorded (``nex_langgraph.arecord``), alternating so that machine noise falls on both. Each side
builds its graph once and runs it repeatedly with a fresh script, as users run one graph on many
tasks; ``arecord`` converts a graph once to find its agents, and that one-off cost is reported on
its own (``first_recording_conversion_ms``). A third side runs with a callback handler that
records nothing (``silent_handler_ratio``): the part of the overhead that LangChain's callback
machinery costs whatever the handler does. A second workload is one agent
running 10 tool rounds (11 model calls). Each is measured as interleaved recorded/bare pairs of
CPU time: the median pair ratio with its quartiles (``bench/_pairs.py``) is the overhead; the
target is at most 1.05. After the first recorded run the adapter's hooks stay installed, inert
outside a recording (see ``nex_langgraph._capture``), so the bare runs pass through them too,
as they would in an application that records some of its runs.
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
from bench._pairs import interleave, pair_summary
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


ROUNDS = 10
ROUNDS_SCRIPT: dict[str, Any] = {
    "agents": {
        "adder": [
            *(
                {"tool_calls": [{"name": "add", "arguments": {"a": i, "b": 1}}]}
                for i in range(ROUNDS)
            ),
            {"text": "done"},
        ]
    }
}


class _RewoundRounds(_Rewound):
    def rewind(self) -> None:
        self.current = ScriptedModel(ROUNDS_SCRIPT)


def make_rounds_graph(model: ChatModel) -> Any:
    """One agent, one tool, 10 tool rounds then an answer (11 model calls, 10 tool calls)."""
    return create_agent(
        bridge_model(model, agent="adder"),
        [add],
        system_prompt="Add, one round at a time.",
        name="adder",
    )


def _rounds_sides() -> dict[str, Any]:
    bare_model, rec_model = _RewoundRounds(), _RewoundRounds()
    bare_graph, rec_graph = make_rounds_graph(bare_model), make_rounds_graph(rec_model)
    task = "Add ten times."

    async def bare() -> None:
        bare_model.rewind()
        result = await bare_graph.ainvoke({"messages": [{"role": "user", "content": task}]})
        assert result["messages"][-1].content == "done"

    async def recorded() -> None:
        rec_model.rewind()
        traj = await arecord(rec_graph, task)
        assert len(traj.steps) == 2 * ROUNDS + 1  # 11 model calls, 10 tool calls

    return {"bare": bare, "recorded": recorded}


def _multi_sides() -> dict[str, Any]:
    models = {name: _Rewound() for name in ("bare", "silent_handler", "recorded")}
    graphs = {name: make_graph(model) for name, model in models.items()}
    sides = {"bare": _bare, "silent_handler": _silent, "recorded": _recorded}

    def side(name: str) -> Any:
        async def run() -> None:
            await sides[name](graphs[name], models[name])

        return run

    return {name: side(name) for name in sides}


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
    multi = pair_summary(asyncio.run(interleave(_multi_sides(), repetitions, WARMUP)))
    rounds = pair_summary(asyncio.run(interleave(_rounds_sides(), repetitions, WARMUP)))
    return {
        "clock": "process CPU time per run; ratios of interleaved recorded/bare pairs",
        "multi_agent": multi,
        "tool_rounds": {"rounds": ROUNDS, **rounds},
        "first_recording_conversion_ms": round(_conversion_ms(10 if quick() else 40), 3),
        "target": TARGET,
        "within_target": all(w["recorded"]["pair_ratio_median"] <= TARGET for w in (multi, rounds)),
    }
