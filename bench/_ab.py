"""Before/after in one run: the native runtime's cost per step and the JSONL sink's throughput,
measured alternately in this checkout and in another one (a git worktree of main).

    git -C /work/main worktree add --detach /tmp/base main
    python -m bench._ab --baseline /tmp/base [--rounds 10 100 500] [--pairs 8] [--out ab.json]

Each measurement is a fresh interpreter started in one checkout or the other, the two sides
taking turns (which goes first rotates), so the machine's load falls on both alike
(``bench/_checkouts.py``). Inside a
child the run lengths are interleaved as in ``bench/_native.py``. What is reported: per side, the
median over children of each child's median, with the min-max of those medians, and the ratio
after / before. The child uses only what both checkouts have (``bench.bench_core``'s spec,
replies and fixed model; ``run_native``; ``JSONLSink``), so the baseline needs no change.
"""

from __future__ import annotations

import argparse
from typing import Any

from bench._checkouts import add_options, alternate, checkouts, child, load_average, report, spread

_CHILD = r"""
import asyncio, gc, json, statistics, sys, tempfile, threading, time
from pathlib import Path
from bench.bench_core import FixedModel, _responses, _spec
from nex_core.runtime.loop import run_native
from nex_core.trajectory import JSONLSink, MemorySink, TaskInfo

rounds = [int(x) for x in sys.argv[1].split(",")]
reps, collect = int(sys.argv[2]), sys.argv[3] == "1"
loop = asyncio.new_event_loop()

def maker(n):
    spec, replies = _spec(n, False), _responses(n)
    def run():
        model = FixedModel(replies)
        traj = loop.run_until_complete(
            run_native(spec, TaskInfo(turns=["go"]), model=model, sinks=[MemorySink()])
        )
        assert traj.outcome.status.value == "completed"
        return traj
    return run

runs = {n: maker(n) for n in rounds}
for run in runs.values():
    run(); run()
samples = {n: [] for n in rounds}
for i in range(reps):
    for n in rounds[i % len(rounds):] + rounds[: i % len(rounds)]:
        if collect:
            gc.collect()
        cpu = time.process_time()
        steps = len(runs[n]().steps)
        samples[n].append((time.process_time() - cpu) / steps * 1e6)
out = {"runtime_us_per_step": {n: statistics.median(s) for n, s in samples.items()}}

# The sink: to_json CPU per step, and steps/s through JSONLSink with fsync, 1 and 8 writers.
sink = {}
for n in (10, 100):
    base = runs[n]()
    count = 200 if n == 10 else 20
    trajs = [base.model_copy(update={"id": f"t{i}"}) for i in range(count)]
    cpu = time.process_time()
    for t in trajs:
        t.to_json()
    to_json = (time.process_time() - cpu) / (count * len(base.steps)) * 1e6
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.jsonl"
        with JSONLSink(path, fsync=True) as s:
            from concurrent.futures import ThreadPoolExecutor
            started = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(s.write, trajs))
            group = count * len(base.steps) / (time.perf_counter() - started)
    sink[n] = {"to_json_cpu_us_per_step": to_json, "group_commit_fsync_steps_per_s": group}
out["sink"] = sink
print(json.dumps(out))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._ab", description=__doc__)
    add_options(parser)
    parser.add_argument("--rounds", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--pairs", type=int, default=6, help="children per side")
    parser.add_argument("--reps", type=int, default=20, help="runs of each length per child")
    parser.add_argument("--no-collect", action="store_true", help="no gc.collect() before runs")
    args = parser.parse_args(argv)
    trees = checkouts(args.baseline)
    child_args = [",".join(map(str, args.rounds)), str(args.reps), str(int(not args.no_collect))]
    results = alternate(trees, args.pairs, lambda tree: child(tree, _CHILD, child_args))
    result: dict[str, Any] = {
        "trees": {side: str(tree) for side, tree in trees.items()},
        "children_per_side": args.pairs,
        "runs_per_length_per_child": args.reps,
        "gc_collect_before_each_run": not args.no_collect,
        "load_average": load_average(),
        "runtime_cpu_us_per_step": {},
        "to_json_cpu_us_per_step": {},
        "group_commit_fsync_steps_per_s": {},
    }
    for n in args.rounds:
        row = {
            side: spread([r["runtime_us_per_step"][str(n)] for r in results[side]])
            for side in trees
        }
        row["after_over_before"] = round(row["after"]["median"] / row["before"]["median"], 3)
        result["runtime_cpu_us_per_step"][f"{n}_rounds"] = row
    for key, digits in (("to_json_cpu_us_per_step", 2), ("group_commit_fsync_steps_per_s", 0)):
        for n in ("10", "100"):
            row = {
                side: spread([r["sink"][n][key] for r in results[side]], digits) for side in trees
            }
            row["after_over_before"] = round(row["after"]["median"] / row["before"]["median"], 3)
            result[key][f"{n}_rounds"] = row
    report(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
