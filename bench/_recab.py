"""Before/after in one run: the recording overhead of the LangGraph and AutoGen adapters,
measured alternately in this checkout and in another one (a git worktree of main).

    git -C /work/main worktree add --detach /tmp/base main
    python -m bench._recab --baseline /tmp/base [--children 6] [--pairs 20] [--out ab.json]

Each child is a fresh interpreter started in one checkout or the other (the two sides take turns,
which goes first rotating), so the machine's load falls on both alike. Inside a child each
workload runs as interleaved recorded/bare pairs of CPU time (``bench/_pairs.py``) and the child
returns every pair's ratio; a side's figure is the median of all its pairs' ratios (children
pooled) with the quartiles. The child uses only what both checkouts have (the workloads of
``bench.bench_langgraph`` and ``bench.bench_autogen``), so the baseline needs no change.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

_CHILD = r"""
import asyncio, json, sys
from bench._pairs import interleave
workloads, pairs, warmup = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])

def sides(name):
    if name in ("lg_rounds", "lg_multi"):
        from bench import bench_langgraph as lg
        found = lg._rounds_sides() if name == "lg_rounds" else lg._multi_sides()
        return {"bare": found["bare"], "recorded": found["recorded"]}
    from bench import bench_autogen as ag
    adapter = ag.AutogenAdapter()

    async def bare():
        await ag._bare()

    async def recorded():
        await ag._recorded(adapter)

    return {"bare": bare, "recorded": recorded}

out = {}
for name in workloads:
    cpu = asyncio.run(interleave(sides(name), pairs, warmup))
    out[name] = {
        "ratios": [r / b for r, b in zip(cpu["recorded"], cpu["bare"])],
        "bare_ms": sorted(cpu["bare"])[len(cpu["bare"]) // 2] * 1e3,
        "recorded_ms": sorted(cpu["recorded"])[len(cpu["recorded"]) // 2] * 1e3,
    }
import nex_core, nex_langgraph
out["_files"] = [nex_core.__file__, nex_langgraph.__file__]
print(json.dumps(out))
"""

WORKLOADS = ("lg_rounds", "lg_multi", "autogen")


def _child(tree: Path, workloads: list[str], pairs: int, warmup: int) -> dict[str, Any]:
    # The tree's own packages first, whatever the environment has installed (editable or not).
    paths = [tree, tree / "adapters" / "langgraph", tree / "adapters" / "autogen"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, paths)))
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, ",".join(workloads), str(pairs), str(warmup)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    files = result.pop("_files")
    if not all(str(f).startswith(str(tree)) for f in files):
        raise RuntimeError(f"child in {tree} imported {files}")
    return result


def _summary(ratios: list[float]) -> dict[str, Any]:
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return {
        "pairs": len(ratios),
        "pair_ratio_median": round(statistics.median(ratios), 4),
        "pair_ratio_quartiles": [round(q1, 4), round(q3, 4)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._recab", description=__doc__)
    parser.add_argument("--baseline", required=True, type=Path, help="checkout to compare with")
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--children", type=int, default=6, help="children per side")
    parser.add_argument("--pairs", type=int, default=20, help="pairs per workload per child")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    trees = {"before": args.baseline.resolve(), "after": Path(__file__).resolve().parents[1]}
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in trees}
    for i in range(args.children):
        order = list(trees) if i % 2 == 0 else list(trees)[::-1]
        for side in order:
            results[side].append(_child(trees[side], args.workloads, args.pairs, args.warmup))
            print(f"[recab] child {i + 1}/{args.children} {side} done", file=sys.stderr)
    report: dict[str, Any] = {
        "clock": "process CPU time; ratio of each interleaved recorded/bare pair",
        "trees": {side: str(tree) for side, tree in trees.items()},
        "children_per_side": args.children,
        "pairs_per_child": args.pairs,
        "workloads": {},
    }
    for name in args.workloads:
        row: dict[str, Any] = {}
        for side in trees:
            ratios = [r for child in results[side] for r in child[name]["ratios"]]
            row[side] = _summary(ratios)
            for key in ("bare_ms", "recorded_ms"):
                row[side][f"{key}_median_of_children"] = round(
                    statistics.median(child[name][key] for child in results[side]), 3
                )
        row["overhead_after_over_before"] = round(
            (row["after"]["pair_ratio_median"] - 1) / (row["before"]["pair_ratio_median"] - 1), 3
        )
        report["workloads"][name] = row
    text = json.dumps(report, indent=1)
    if args.out is not None:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
