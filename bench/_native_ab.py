"""Before/after in one run for the native runtime's headline: nex's own CPU time per recorded step
(the model's and the tool's time subtracted, no forced collection), as ``bench/_native.py``
measures it, in this checkout and in another one (a git worktree of main).

    git -C /work/main worktree add --detach /tmp/base main
    python -m bench._native_ab --baseline /tmp/base [--rounds 10 100 500] [--pairs 12] [--out f]

Each measurement is a fresh interpreter in one checkout or the other, the two sides taking turns
(``bench/_checkouts.py``); inside a child the run lengths are interleaved. Reported per side and
length: the median of the children's medians with their quartiles and min-max, and the ratio
after / before of each pair of children (median and quartiles), with the load average before
and after. ``bench/_ab.py`` measures the same runs with the old clock (total CPU, optionally a
collection before each run) and the JSONL sink besides.
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
import asyncio, json, statistics, sys, time
from bench import _native
from bench.bench_core import FixedModel, _responses, _spec
from nex_core.runtime.loop import run_native
from nex_core.trajectory import MemorySink, TaskInfo

rounds = [int(x) for x in sys.argv[1].split(",")]
reps = int(sys.argv[2])
loop = asyncio.new_event_loop()

def maker(n):
    spec, replies = _spec(n, False), _responses(n)
    def run():
        model = FixedModel(replies)
        traj = loop.run_until_complete(
            run_native(spec, TaskInfo(turns=["go"]), model=model, sinks=[MemorySink()])
        )
        assert traj.outcome.status.value == "completed"
        return len(traj.steps)
    return run

runs = {n: maker(n) for n in rounds}
for run in runs.values():
    run(); run()
samples = {n: [] for n in rounds}
for i in range(reps):
    for n in rounds[i % len(rounds):] + rounds[: i % len(rounds)]:
        _native.external.take()
        cpu = time.process_time()
        steps = runs[n]()
        used = time.process_time() - cpu
        samples[n].append((used - _native.external.take()) / steps * 1e6)
print(json.dumps({"own_us_per_step": {n: statistics.median(s) for n, s in samples.items()}}))
"""


def _summary(values: list[float]) -> dict[str, Any]:
    q1, _, q3 = (
        statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
    )
    return {
        "median": round(statistics.median(values), 1),
        "quartiles": [round(q1, 1), round(q3, 1)],
        "range": [round(min(values), 1), round(max(values), 1)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._native_ab", description=__doc__)
    add_options(parser)
    parser.add_argument("--rounds", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--pairs", type=int, default=12, help="children per side")
    parser.add_argument("--reps", type=int, default=20, help="runs of each length per child")
    args = parser.parse_args(argv)
    trees = checkouts(args.baseline)
    load_before = load_average()
    child_args = [",".join(map(str, args.rounds)), str(args.reps)]
    results = alternate(
        trees, args.pairs, lambda tree: child(tree, _CHILD, child_args), label="native_ab"
    )
    result: dict[str, Any] = {
        "trees": {side: str(tree) for side, tree in trees.items()},
        "children_per_side": args.pairs,
        "runs_per_length_per_child": args.reps,
        "clock": "process CPU per recorded step minus the model's and tool's time; "
        "no forced collection (bench/_native.py)",
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "own_cpu_us_per_step": {},
    }
    for n in args.rounds:
        per_side = {side: [r["own_us_per_step"][str(n)] for r in results[side]] for side in trees}
        row: dict[str, Any] = {side: _summary(values) for side, values in per_side.items()}
        pair_ratios = [a / b for a, b in zip(per_side["after"], per_side["before"], strict=True)]
        row["after_over_before"] = round(row["after"]["median"] / row["before"]["median"], 3)
        row["pairs"] = ratio_summary(pair_ratios) if len(pair_ratios) > 1 else pair_ratios
        result["own_cpu_us_per_step"][f"{n}_rounds"] = row
    report(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
