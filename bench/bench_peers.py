"""nex beside what users would pick instead: the same workloads recorded by nex and traced by
OpenInference's instrumentors (LangChain, AutoGen AgentChat) into an in-memory span exporter.

Each workload is the one of ``bench_langgraph`` / ``bench_autogen`` (a lead agent with two tools
and a second agent called as a tool, a scripted model). Three sides run in turn, in one process,
the order rotating every repetition: the bare framework, nex recording it, and OpenInference
tracing it (instrumented just before its run and uninstrumented after, outside the clock, since
an instrumentor patches the framework for the whole process). The figure is each side's median
CPU time per run and its ratio to bare, with the spread (min to max) and wall-time medians beside;
the versions of everything measured are in the result.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    from openinference.instrumentation.autogen_agentchat import AutogenAgentChatInstrumentor
    from openinference.instrumentation.langchain import LangChainInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
except ImportError as exc:  # the bench runner skips modules whose peers are missing
    raise ImportError(f"OpenInference's instrumentors are not installed: {exc}") from exc

from bench import quick

REPETITIONS = 60
WARMUP = 5
PACKAGES = (
    "nex-core",
    "nex-langgraph",
    "nex-autogen",
    "langgraph",
    "langchain",
    "langchain-core",
    "autogen-agentchat",
    "autogen-core",
    "openinference-instrumentation-langchain",
    "openinference-instrumentation-autogen-agentchat",
    "openinference-instrumentation",
    "opentelemetry-sdk",
)

Side = Callable[[], Awaitable[None]]


class _Traced:
    """An OpenInference instrumentor exporting to memory, switched on only around its runs."""

    def __init__(self, instrumentor: Any) -> None:
        self.instrumentor = instrumentor
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.spans = 0

    def on(self) -> None:
        self.instrumentor.instrument(tracer_provider=self.provider)

    def off(self) -> None:
        self.instrumentor.uninstrument()
        self.spans = len(self.exporter.get_finished_spans())
        self.exporter.clear()


async def _interleave(
    sides: dict[str, Side], traced: _Traced, repetitions: int
) -> dict[str, list[tuple[float, float]]]:
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    names = list(sides)
    for i in range(WARMUP + repetitions):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            if name == "openinference":
                traced.on()
            cpu, wall = time.process_time(), time.perf_counter()
            await sides[name]()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if name == "openinference":
                traced.off()
            if i >= WARMUP:
                times[name].append((cpu, wall))
    return times


def _summary(times: dict[str, list[tuple[float, float]]], spans: int) -> dict[str, Any]:
    bare = statistics.median(c for c, _ in times["bare"])
    out: dict[str, Any] = {"repetitions": len(times["bare"])}
    for name, values in times.items():
        cpu = [c for c, _ in values]
        median = statistics.median(cpu)
        out[name] = {
            "cpu_ms_median": round(median * 1e3, 3),
            "cpu_ms_range": [round(min(cpu) * 1e3, 3), round(max(cpu) * 1e3, 3)],
            "wall_ms_median": round(statistics.median(w for _, w in values) * 1e3, 3),
            "ratio_to_bare": round(median / bare, 3),
        }
    out["openinference"]["spans_per_run"] = spans
    return out


async def _langgraph(repetitions: int) -> dict[str, Any]:
    from nex_langgraph import arecord

    from bench.bench_langgraph import TASK, _Rewound, make_graph

    models = {name: _Rewound() for name in ("bare", "nex", "openinference")}
    graphs = {name: make_graph(model) for name, model in models.items()}

    def plain(name: str) -> Side:
        async def run() -> None:
            models[name].rewind()
            result = await graphs[name].ainvoke({"messages": [{"role": "user", "content": TASK}]})
            assert result["messages"][-1].content == "5 and 6, checked."

        return run

    async def nex() -> None:
        models["nex"].rewind()
        traj = await arecord(graphs["nex"], TASK)
        assert traj.outcome is not None and traj.outcome.final_output == "5 and 6, checked."

    traced = _Traced(LangChainInstrumentor())
    sides = {"bare": plain("bare"), "nex": nex, "openinference": plain("openinference")}
    return _summary(await _interleave(sides, traced, repetitions), traced.spans)


async def _autogen(repetitions: int) -> dict[str, Any]:
    from nex_autogen import AutogenAdapter

    from bench.bench_autogen import make_agent

    task = "Compute 2+3 and 2*3."
    adapter = AutogenAdapter()

    def plain() -> Side:
        async def run() -> None:
            await make_agent().run(task=task)

        return run

    async def nex() -> None:
        traj = await adapter.arecord(make_agent(), task)
        assert traj.outcome is not None and traj.outcome.final_output == "5 and 6, checked."

    traced = _Traced(AutogenAgentChatInstrumentor())
    sides = {"bare": plain(), "nex": nex, "openinference": plain()}
    return _summary(await _interleave(sides, traced, repetitions), traced.spans)


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def run() -> dict[str, Any]:
    repetitions = 15 if quick() else REPETITIONS
    return {
        "clock": "process CPU time per run (wall time beside it)",
        "exporter": "OpenTelemetry SDK InMemorySpanExporter through a SimpleSpanProcessor",
        "langgraph": asyncio.run(_langgraph(repetitions)),
        "autogen": asyncio.run(_autogen(repetitions)),
        "versions": _versions(),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
