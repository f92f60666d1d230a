"""The native runtime's own cost per step: interleaved run lengths, CPU and wall time, and where
the time goes (a profile per step).

Every case runs in this process, one repetition of each in turn (so machine noise falls on all
of them alike), with a model that hands out pre-built replies and an async no-op tool: what is
left is nex's own work (requests, recording, tool dispatch and validation, the end-of-run
secret scan, the sink). The figure is CPU time of the process per recorded step, which a
machine shared with other work disturbs far less than wall time (quoted beside it).
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


def _timed(run: Callable[[], int]) -> tuple[float, float, int]:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    steps = run()
    return time.process_time() - cpu, time.perf_counter() - wall, steps


def _calibration_ns() -> float:
    """ns per iteration of a trivial Python loop now: how fast this (shared) machine runs."""
    started = time.process_time()
    total = 0
    for i in range(200_000):
        total += i
    return (time.process_time() - started) / 200_000 * 1e9


def _profile(run: Callable[[], int], runs: int) -> list[dict[str, Any]]:
    """The nex functions that take the most time, in µs per step (cumulative, under cProfile,
    which inflates Python-heavy code: read it for proportions)."""
    profiler = cProfile.Profile()
    steps = 0
    profiler.enable()
    for _ in range(runs):
        steps += run()
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (file, line, func), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
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
    return rows[:25]


def bench(make_run: Callable[[int], Callable[[], int]], quick: bool) -> dict[str, Any]:
    """``make_run(rounds)`` returns a callable doing one whole run and returning its steps."""
    lengths = (10, 100, 500)  # 21, 201 and 1001 recorded steps
    reps = {10: 15 if quick else 60, 100: 4 if quick else 15, 500: 2 if quick else 6}
    runs = {n: make_run(n) for n in lengths}
    for run in runs.values():  # warm-up: imports, caches, the shapes of the secret scan
        run()
    samples: dict[int, list[tuple[float, float]]] = {n: [] for n in lengths}
    for i in range(max(reps.values())):
        for n in lengths[i % 3 :] + lengths[: i % 3]:
            if len(samples[n]) < reps[n]:
                cpu, wall, steps = _timed(runs[n])
                samples[n].append((cpu / steps, wall / steps))
    cases = []
    for n in lengths:
        cpu = [c for c, _ in samples[n]]
        wall = [w for _, w in samples[n]]
        cases.append(
            {
                "tool_rounds": n,
                "steps_per_run": 2 * n + 1,
                "repetitions": len(cpu),
                "cpu_us_per_step_median": round(statistics.median(cpu) * 1e6, 1),
                "cpu_us_per_step_range": [round(min(cpu) * 1e6, 1), round(max(cpu) * 1e6, 1)],
                "wall_us_per_step_median": round(statistics.median(wall) * 1e6, 1),
            }
        )
    short, long = cases[0]["cpu_us_per_step_median"], cases[-1]["cpu_us_per_step_median"]
    return {
        "includes": "whole runs / recorded steps, fixed replies, async no-op tool: requests, "
        "recording, tool dispatch and argument validation, finish (secret scan), MemorySink",
        "clock": "process CPU time (wall time beside it)",
        "calibration_ns_per_loop_iteration": round(_calibration_ns(), 1),
        "cases": cases,
        "headline_us_per_step": short,
        "target_us_per_step": TARGET_STEP_US,
        "meets_target": short <= TARGET_STEP_US,
        "long_over_short": round(long / short, 3),
        "target_long_over_short": TARGET_LONG_OVER_SHORT,
        "linear_in_run_length": long / short <= TARGET_LONG_OVER_SHORT,
        "profile_10_rounds": _profile(runs[10], 5 if quick else 20),
    }


def run_in(loop: asyncio.AbstractEventLoop, coroutine_factory: Callable[[], Any]) -> int:
    traj = loop.run_until_complete(coroutine_factory())
    assert traj.outcome is not None and traj.outcome.status.value == "completed"
    return len(traj.steps)
