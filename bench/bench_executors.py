"""GAP executors at the endpoint's ceiling: ``local`` (one process) against ``processes``.

Setup: ``bench._fast_server`` in its own process answers every request after 100 ms, so the
ideal is ``concurrency / 0.1`` episodes a second. Each point runs one-call episodes (one agent,
no tools, the default checks, fsynced group commits) in a fresh process, executors interleaved
point by point, and reports episodes/s (median and quartiles over the repeats), the ratio to the
ideal, and CPU per episode: the driver's own and, for ``processes``, its workers' (children's
rusage), so the sum is the whole client's. ``limit`` says what bounded the run.

``python -m bench.bench_executors [--quick]``.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import quick as quick_requested
from bench.bench_gap import _write_config

REPO = Path(__file__).resolve().parents[1]
LATENCY_S = 0.1
SWEEP = (32, 64, 128, 256)
EXECUTORS = ("local", "processes")


def _child(n: int, base_url: str, concurrency: int, executor: str) -> dict[str, Any]:
    import asyncio

    import nex_core.models.openai_compat  # noqa: F401  (import before the clock)
    from nex_core.gap import load_config, run_gap

    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(_write_config(Path(tmp), n, base_url, concurrency))
        cpu, kids = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
        report = asyncio.run(run_gap(config, executor=executor)).report
        cpu = time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        workers = (after.ru_utime + after.ru_stime) - (kids.ru_utime + kids.ru_stime)
    stats = report["executor"]
    # Worker start-up (spawning, imports: seconds of wall and CPU each) is not throughput: the
    # executor reports it apart, and the workers' CPU from ready to done.
    startup = float(stats.get("startup_s", 0.0))
    seconds = float(report["this_run"]["seconds"]) - startup
    if "worker_cpu_s" in stats:
        workers = float(stats["worker_cpu_s"])
    return {
        "episodes": report["this_run"]["episodes"],
        "accepted": report["accepted"],
        "seconds": round(seconds, 3),
        "startup_s": startup,
        "episodes_per_s": round(n / seconds, 1),
        "driver_cpu_ms_per_episode": round(cpu / n * 1000, 3),
        "worker_cpu_ms_per_episode": round(workers / n * 1000, 3),
    }


def _run_child(n: int, base_url: str, concurrency: int, executor: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_executors", "--child", str(n), base_url,
         str(concurrency), executor],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO),
                                                          os.environ.get("PYTHONPATH", "")])},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _quartiles(values: list[float]) -> list[float]:
    if len(values) < 2:
        return [values[0], values[0]]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return [round(q[0], 1), round(q[2], 1)]


def run(quick: bool = False) -> dict[str, Any]:
    quick = quick or quick_requested()
    repeats = 1 if quick else 3
    server = subprocess.Popen([sys.executable, "-m", "bench._fast_server", "--latency",
                               str(LATENCY_S)], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdin is not None
    base_url = server.stdout.readline().strip()
    points = []
    try:
        _run_child(50, base_url, 32, "local")  # warm the file cache
        for concurrency in SWEEP:
            n = max(600 if quick else 1500, (4 if quick else 8) * concurrency)
            runs: dict[str, list[dict[str, Any]]] = {e: [] for e in EXECUTORS}
            for _ in range(repeats):  # interleaved: both executors see the same machine load
                for executor in EXECUTORS:
                    runs[executor].append(_run_child(n, base_url, concurrency, executor))
            ideal = concurrency / LATENCY_S
            for executor, results in runs.items():
                rates = [float(r["episodes_per_s"]) for r in results]
                median = statistics.median(rates)
                driver = statistics.median(r["driver_cpu_ms_per_episode"] for r in results)
                workers = statistics.median(r["worker_cpu_ms_per_episode"] for r in results)
                points.append({
                    "executor": executor, "concurrency": concurrency, "episodes": n,
                    "ideal_episodes_per_s": ideal, "median_episodes_per_s": round(median, 1),
                    "quartiles": _quartiles(rates), "ratio_to_ideal": round(median / ideal, 3),
                    "driver_cpu_ms_per_episode": driver,
                    "worker_cpu_ms_per_episode": workers,
                    "client_cpu_ms_per_episode": round(driver + workers, 3),
                    "load_average_1min": round(os.getloadavg()[0], 2),
                    "limit": _limit(median / ideal, driver + workers, median),
                    "runs": results,
                })
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    return {"setup": {"latency_s": LATENCY_S, "cpus": os.cpu_count(),
                      "server": "bench._fast_server (own process)"}, "points": points}


def _limit(ratio: float, cpu_ms: float, rate: float) -> str:
    if ratio >= 0.95:
        return "endpoint latency (the ideal)"
    cores = cpu_ms * rate / 1000  # cores the client used at this rate
    return f"client CPU: {cores:.2f} cores busy of {os.cpu_count()} shared"


if __name__ == "__main__":
    if len(sys.argv) >= 6 and sys.argv[1] == "--child":
        print(json.dumps(_child(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])))
    else:
        print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
