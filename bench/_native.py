"""The native runtime's own cost per step: interleaved run lengths, CPU and wall time, and where
the time goes (a profile per step).

Every case runs in this process, one repetition of each in turn (so machine noise falls on all
of them alike), with a model that hands out pre-built replies and an async no-op tool. The
headline is nex's own time: CPU time of the process per recorded step, minus the time spent
inside the model's ``acomplete`` and the tool's function (measured around them, :data:`external`;
well under a microsecond a step here, reported beside). CPU time is disturbed far less than wall
time by other work on a shared machine (wall time is quoted beside it).

No garbage collection is forced before a timed run. A full collection walks the bench process's
whole heap and leaves the CPU caches cold, which adds a few hundred microseconds to the next run
whatever that run does: on a 21-step run that was about half the figure, and it is the bench's
cost, not nex's. The automatic collector stays on (the collections a run's allocations trigger
are nex's cost). The old figure, a collection before each run, is still reported for the
10-round run as ``after_forced_collection`` so the two can be compared.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

TARGET_STEP_US = 50.0
TARGET_LONG_OVER_SHORT = 1.2


class External:
    """Seconds spent in the model and the tool (not nex's time), added up by the bench's own
    model and tool around their work."""

    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds = 0.0

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds


external = External()


def _timed(run: Callable[[], int], collect: bool = False) -> tuple[float, float, float, int]:
    """(process CPU s, wall s, model and tool s, steps) of one run."""
    if collect:
        gc.collect()
    external.take()
    cpu, wall = time.process_time(), time.perf_counter()
    steps = run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu, wall, external.take(), steps


def _quartiles(values: list[float]) -> list[float]:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return [round(q[0] * 1e6, 1), round(q[2] * 1e6, 1)]


def _calibration_ns() -> float:
    """ns per iteration of a trivial Python loop now: how fast this (shared) machine runs."""
    started = time.process_time()
    total = 0
    for i in range(200_000):
        total += i
    return (time.process_time() - started) / 200_000 * 1e9


_PARTS = (
    # (part, where its code lives): the first match names a function's part.
    ("loop", ("nex_core/runtime/",)),
    (
        "recorder",
        (
            "nex_core/trajectory/recorder",
            "nex_core/trajectory/_build",
            "nex_core/trajectory/_values",
            "nex_core/trajectory/_context",
        ),
    ),
    ("scrub", ("nex_core/trajectory/scrub", "nex_core/trajectory/redact")),
    ("sink", ("nex_core/trajectory/sinks",)),
    ("records", ("nex_core/trajectory/", "pydantic")),
    ("bench model and tool", ("bench/",)),
    ("asyncio", ("asyncio/",)),
)


def _part(file: str) -> str | None:
    for part, places in _PARTS:
        if any(place in file for place in places):
            return part
    return None


def _profile(run: Callable[[], int], runs: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The nex functions that take the most time, in µs per step (cumulative, under cProfile,
    which inflates Python-heavy code: read it for proportions), and every function's own time
    summed by part of the run (the loop, the recorder, the end-of-run scrub, ...; a built-in
    counts towards the part of the function that called it)."""
    profiler = cProfile.Profile()
    steps = 0
    profiler.enable()
    for _ in range(runs):
        steps += run()
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    parts: dict[str, float] = {}
    for (file, line, func), (_, calls, own, cumulative, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if file == "~":  # a built-in: shared among its callers' parts by the calls each made
            total = sum(c[1] for c in callers.values()) or 1
            for (caller_file, _, _), counts in callers.items():
                name = _part(caller_file) or "other"
                parts[name] = parts.get(name, 0.0) + own * counts[1] / total
        else:
            name = _part(file) or "other"
            parts[name] = parts.get(name, 0.0) + own
        if "nex_core" in file:
            where = file.split("nex_core", 1)[1].lstrip("/")
            rows.append(
                {
                    "function": f"nex_core/{where}:{line}:{func}",
                    "cumulative_us_per_step": round(cumulative / steps * 1e6, 2),
                    "own_us_per_step": round(own / steps * 1e6, 2),
                    "calls_per_step": round(calls / steps, 2),
                }
            )
    rows.sort(key=lambda r: -float(r["cumulative_us_per_step"]))
    whole = sum(parts.values()) or 1.0
    by_part = {
        "what": "own time under cProfile summed by part of the run, share of the whole run "
        "(proportions; cProfile inflates every function call)",
        "share": {
            name: round(seconds / whole, 3)
            for name, seconds in sorted(parts.items(), key=lambda kv: -kv[1])
        },
    }
    return rows[:25], by_part


def bench(make_run: Callable[[int], Callable[[], int]], quick: bool) -> dict[str, Any]:
    """``make_run(rounds)`` returns a callable doing one whole run and returning its steps."""
    lengths = (10, 100, 500)  # 21, 201 and 1001 recorded steps
    reps = {10: 15 if quick else 60, 100: 4 if quick else 15, 500: 2 if quick else 6}
    runs = {n: make_run(n) for n in lengths}
    for run in runs.values():  # warm-up: imports, caches, the shapes of the secret scan
        run()
    samples: dict[int, list[tuple[float, float, float]]] = {n: [] for n in lengths}
    collected: list[float] = []  # the 10-round run after a forced full collection, as before
    # The same length again at once: no other length's run just before (see "in_a_row").
    in_a_row: dict[int, list[float]] = {10: [], 100: []}
    for i in range(max(reps.values())):
        for n in lengths[i % 3 :] + lengths[: i % 3]:
            if len(samples[n]) < reps[n]:
                used, wall_s, outside, steps = _timed(runs[n])
                samples[n].append(((used - outside) / steps, used / steps, wall_s / steps))
                if n in in_a_row:
                    used, _, outside, steps = _timed(runs[n])
                    in_a_row[n].append((used - outside) / steps)
        if len(collected) < reps[10]:
            used, _, outside, steps = _timed(runs[10], collect=True)
            collected.append((used - outside) / steps)
    cases: list[dict[str, Any]] = []
    for n in lengths:
        own = [o for o, _, _ in samples[n]]
        cpu = [c for _, c, _ in samples[n]]
        wall = [w for _, _, w in samples[n]]
        cases.append(
            {
                "tool_rounds": n,
                "steps_per_run": 2 * n + 1,
                "repetitions": len(cpu),
                "own_cpu_us_per_step_median": round(statistics.median(own) * 1e6, 1),
                "own_cpu_us_per_step_quartiles": _quartiles(own),
                "own_cpu_us_per_step_range": [round(min(own) * 1e6, 1), round(max(own) * 1e6, 1)],
                "model_and_tool_us_per_step": round(
                    (statistics.median(cpu) - statistics.median(own)) * 1e6, 2
                ),
                "cpu_us_per_step_median": round(statistics.median(cpu) * 1e6, 1),
                "wall_us_per_step_median": round(statistics.median(wall) * 1e6, 1),
            }
        )
    short, mid, long = (float(c["own_cpu_us_per_step_median"]) for c in cases)
    result: dict[str, Any] = {
        "includes": "whole runs / recorded steps, fixed replies, async no-op tool: requests, "
        "recording, tool dispatch and argument validation, finish (secret scan), MemorySink; "
        "the time inside the model and the tool subtracted",
        "clock": "process CPU time (wall time beside it); no forced collection before a run",
        "calibration_ns_per_loop_iteration": round(_calibration_ns(), 1),
        "cases": cases,
        "after_forced_collection": {
            "tool_rounds": 10,
            "repetitions": len(collected),
            "own_cpu_us_per_step_median": round(statistics.median(collected) * 1e6, 1),
            "own_cpu_us_per_step_quartiles": _quartiles(collected),
            "why": "gc.collect() before each run, as this bench did before: the cold caches "
            "after a walk of the bench's whole heap, paid once per run",
        },
        "in_a_row": {
            "own_cpu_us_per_step_median": {
                f"{n}_rounds": round(statistics.median(v) * 1e6, 1) for n, v in in_a_row.items()
            },
            "own_cpu_us_per_step_quartiles": {
                f"{n}_rounds": _quartiles(v) for n, v in in_a_row.items()
            },
            "why": "each timed run of the cases above follows a run of another length (that is "
            "the interleaving); a short run right after a 1,001-step one costs up to 2-3x "
            "more a step: the long run's working set leaves the CPU caches cold (writing "
            "32 MB of a bytearray before the short run costs as much; not the collector, not "
            "page faults). Here the same length is timed again at once: what a process "
            "running runs of one length (a GAP run) sees",
        },
        "headline_us_per_step": short,
        "headline_is": "own_cpu_us_per_step_median of the 10-round run",
        "us_per_step_100_rounds": mid,
        "target_us_per_step": TARGET_STEP_US,
        "meets_target": max(short, mid) <= TARGET_STEP_US,
        "long_over_short": round(long / short, 3),
        "target_long_over_short": TARGET_LONG_OVER_SHORT,
        "linear_in_run_length": long / short <= TARGET_LONG_OVER_SHORT,
    }
    result["profile_10_rounds"], result["profile_by_part_10_rounds"] = _profile(
        runs[10], 40 if quick else 150
    )
    return result


def run_in(loop: asyncio.AbstractEventLoop, coroutine_factory: Callable[[], Any]) -> int:
    traj = loop.run_until_complete(coroutine_factory())
    assert traj.outcome is not None and traj.outcome.status.value == "completed"
    return len(traj.steps)
