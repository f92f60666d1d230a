"""Interleaved recorded/bare pairs: the figure the recording-overhead benches report.

Each repetition runs every side once, the order rotating, so that a slow minute of a shared
machine falls on all of them. A pair's ratio (recorded CPU time over the bare run's of the same
repetition) cancels most of that drift; the figure is the median of those ratios with its
quartiles, beside the ratio of the medians.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

Side = Callable[[], Awaitable[Any]]


async def interleave(
    sides: dict[str, Side], repetitions: int, warmup: int
) -> dict[str, list[float]]:
    """CPU seconds of each side's runs (after ``warmup`` unrecorded repetitions)."""
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for i in range(warmup + repetitions):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            started = time.process_time()
            await sides[name]()
            if i >= warmup:
                cpu[name].append(time.process_time() - started)
    return cpu


def pair_summary(cpu: dict[str, list[float]], base: str = "bare") -> dict[str, Any]:
    """Per side: the median CPU ms, and (beside ``base``) the pairs' ratio median and quartiles."""
    out: dict[str, Any] = {"pairs": len(cpu[base])}
    for name, values in cpu.items():
        row: dict[str, Any] = {"cpu_ms_median": round(statistics.median(values) * 1e3, 3)}
        if name != base:
            ratios = [r / b for r, b in zip(values, cpu[base], strict=True)]
            q1, _, q3 = statistics.quantiles(ratios, n=4)
            row["pair_ratio_median"] = round(statistics.median(ratios), 4)
            row["pair_ratio_quartiles"] = [round(q1, 4), round(q3, 4)]
            row["ratio_of_medians"] = round(
                statistics.median(values) / statistics.median(cpu[base]), 4
            )
        out[name] = row
    return out
