"""Before/after in one run: the recording overhead of the LangGraph, AutoGen and Agent Framework
adapters,
measured alternately in this checkout and in another one (a git worktree of main).

    git -C /work/main worktree add --detach /tmp/base main
    python -m bench._recab --baseline /tmp/base [--children 6] [--pairs 20] [--out ab.json]

Each child is a fresh interpreter started in one checkout or the other (the two sides take turns,
which goes first rotating), so the machine's load falls on both alike. Inside a child each
workload runs as interleaved recorded/bare pairs of CPU time (``bench/_pairs.py``) and the child
returns every pair's ratio; a side's figure is the median of all its pairs' ratios (children
pooled) with the quartiles. The child uses only what both checkouts have (the workloads of
``bench.bench_langgraph``, ``bench.bench_autogen`` and ``bench.bench_agent_framework``), so the
baseline needs no change. Unlike ``bench/bench_agent_framework.py --baseline`` (which imports
the baseline's adapter beside this checkout's, over one nex_core), each child runs one
checkout's nex_core too: the comparison for a change in the recorder itself. The Agents SDK:

    .tox/openai-agents/bin/python -m bench._recab --baseline /tmp/base --workloads openai_agents
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from bench._checkouts import (
    add_options,
    alternate,
    checkouts,
    child,
    load_average,
    ratio_summary,
    report,
)

_CHILD = r"""
import asyncio, json, sys
from bench._pairs import interleave
workloads, pairs, warmup = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])

def sides(name):
    if name in ("lg_rounds", "lg_multi"):
        from bench import bench_langgraph as lg
        found = lg._rounds_sides() if name == "lg_rounds" else lg._multi_sides()
        return {"bare": found["bare"], "recorded": found["recorded"]}
    if name == "agent_framework":
        from bench import bench_agent_framework as af
        adapter = af.AgentFrameworkAdapter()
        return {"bare": af._bare, "recorded": lambda: af._recorded(adapter)}
    if name == "openai_agents":  # only in the tox env openai-agents (see the module text)
        from agents import set_trace_processors
        from bench import bench_openai_agents as oa
        set_trace_processors([])  # no exporter to api.openai.com, on either side
        return {"bare": oa._bare, "recorded": oa._recorded(oa.OpenAIAgentsAdapter())}
    from bench import bench_autogen as ag
    adapter = ag.AutogenAdapter()

    async def bare():
        await ag._bare()

    async def recorded():
        await ag._recorded(adapter)

    return {"bare": bare, "recorded": recorded}

async def own_clock(found, pairs, warmup):
    # Agent Framework's sides time the run themselves (the agent is built outside the clock,
    # as bench_agent_framework measures it): their CPU seconds, in the same rotating order.
    cpu, names = {n: [] for n in found}, list(found)
    for i in range(warmup + pairs):
        k = i % len(names)
        for n in names[k:] + names[:k]:
            _, seconds = await found[n]()
            if i >= warmup:
                cpu[n].append(seconds)
    return cpu

out = {}
for name in workloads:
    found = sides(name)
    if name == "agent_framework":
        cpu = asyncio.run(own_clock(found, pairs, warmup))
    else:
        cpu = asyncio.run(interleave(found, pairs, warmup))
    out[name] = {
        "ratios": [r / b for r, b in zip(cpu["recorded"], cpu["bare"])],
        "bare_ms": sorted(cpu["bare"])[len(cpu["bare"]) // 2] * 1e3,
        "recorded_ms": sorted(cpu["recorded"])[len(cpu["recorded"]) // 2] * 1e3,
    }
ours = ("nex_core", "nex_langgraph", "nex_autogen", "nex_agent_framework", "nex_openai_agents")
out["_files"] = [sys.modules[n].__file__ for n in ours if n in sys.modules]
print(json.dumps(out))
"""

WORKLOADS = ("lg_rounds", "lg_multi", "autogen", "agent_framework")
EXTRA = ("openai_agents",)
"""Not run by default: the Agents SDK conflicts with AutoGen's pins and lives in its own tox
environment; run this module with that environment's interpreter for it."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._recab", description=__doc__)
    add_options(parser)
    parser.add_argument(
        "--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS + EXTRA
    )
    parser.add_argument("--children", type=int, default=6, help="children per side")
    parser.add_argument("--pairs", type=int, default=20, help="pairs per workload per child")
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)
    trees = checkouts(args.baseline)
    child_args = [",".join(args.workloads), str(args.pairs), str(args.warmup)]
    load_before = load_average()
    results = alternate(
        trees, args.children, lambda tree: child(tree, _CHILD, child_args), label="recab"
    )
    result: dict[str, Any] = {
        "clock": "process CPU time; ratio of each interleaved recorded/bare pair",
        "trees": {side: str(tree) for side, tree in trees.items()},
        "children_per_side": args.children,
        "pairs_per_child": args.pairs,
        "load_average": {"before": load_before, "after": load_average()},
        "workloads": {},
    }
    for name in args.workloads:
        row: dict[str, Any] = {}
        for side in trees:
            ratios = [r for one in results[side] for r in one[name]["ratios"]]
            row[side] = ratio_summary(ratios)
            for key in ("bare_ms", "recorded_ms"):
                row[side][f"{key}_median_of_children"] = round(
                    statistics.median(one[name][key] for one in results[side]), 3
                )
        row["overhead_after_over_before"] = round(
            (row["after"]["pair_ratio_median"] - 1) / (row["before"]["pair_ratio_median"] - 1), 3
        )
        result["workloads"][name] = row
    report(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
