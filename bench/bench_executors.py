"""GAP executors at the endpoint's ceiling: ``local`` (one process) against ``processes``.

Setup: ``bench._fast_server`` in its own process answers every request after 100 ms, so the
ideal is ``concurrency / 0.1`` episodes a second. Each point runs one-call episodes (one agent,
no tools, the default checks, fsynced group commits) in a fresh process, executors interleaved
point by point, and reports episodes/s (median and quartiles over the repeats), the ratio to the
ideal, and CPU per episode: the driver's own and, for ``processes``, its workers' (children's
rusage), so the sum is the whole client's. ``limit`` says what bounded the run.

``ray``: the Ray executor with 1 and 2 workers (``ray.init(num_cpus=2)`` once per child, before
the clock) on a CPU-bound config: a scripted model (no latency) and ``RAY_ROUNDS`` tool calls
per episode, so the actors' CPU is the limit; runs interleaved, episodes/s after the actors'
start-up, and the speedup of 2 workers over 1 (target 1.8).

``driver``: the driver's CPU per episode for what it receives, in one process, interleaved: the
stored line the workers send now (``nex_core.gap.stored``: decode, the dedup check, the line
written as it came) against the trajectory JSON they sent before (parse it, verify every check,
serialise it again), for a one-call episode and a ``RAY_ROUNDS``-round one. The log write
itself is left out (the same bytes either way).

``long``: concurrency 128 again, over 40 rounds of the latency (5,120 episodes) instead of
12, both executors interleaved: the steady rate, with what a short run's first round costs
amortised (see ``LONG_WAVES``). ``limit`` names what the figures show bounded a point: the
client's CPU when it kept a core busy, else the time each round of the latency took.

``python -m bench.bench_executors [--quick] [--only local|ray|driver] [--baseline CHECKOUT]
[--repeats N]``
(``--baseline``: another checkout's executors run interleaved with this one's).
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
LONG_CONCURRENCY, LONG_WAVES = 128, 40
"""The long point: a run of 40 rounds of the endpoint's latency at concurrency 128 (5,120
episodes, about 4 s). A sweep point of 1,500 episodes is 12 rounds, and what the first round
costs once (every connection opened and 128 episodes' pre-request work done in turn, while the
answers wait: about 50 ms) is a twelfth of it; over 40 rounds the rate is the steady one a
GAP run of thousands of episodes has."""
RAY_ROUNDS = 12
"""Tool calls per episode of the Ray config (25 steps: CPU in the actor, little in the driver)."""


def echo(text: str = "") -> str:
    """The CPU-bound config's tool."""
    return text


def _write_cpu_config(folder: Path, n: int) -> Path:
    import yaml

    with (folder / "tasks.jsonl").open("w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"task-{i}", "prompt": f"Echo ({i}).", "expected": "done"})
                    + "\n")
    (folder / "agent.yaml").write_text(
        f"name: echo\nlimits: {{max_steps: {RAY_ROUNDS + 1}}}\ntools:\n  - name: echo\n"
        "    parameters: {type: object, properties: {text: {type: string}}}\n"
        "    binding: bench.bench_executors:echo\n")
    replies: list[dict[str, Any]] = [
        {"tool_calls": [{"name": "echo", "arguments": {"text": f"round {r}"}}]}
        for r in range(RAY_ROUNDS)
    ]
    (folder / "script.yaml").write_text(json.dumps({"replies": [*replies, {"text": "done"}]}))
    config = {
        "name": "ray-cpu", "tasks": ["tasks.jsonl"], "agents": [{"spec": "agent.yaml"}],
        "models": [{"name": "scripted", "ref": "scripted:script.yaml", "concurrency": 16}],
        "output": "out",
        # LoopCheck would reject a dozen calls of one tool; the length limit likewise.
        "checks": [{"name": "status"}, {"name": "task"}, {"name": "dedup"}],
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _ray_init() -> float:
    """``ray.init`` on this machine; under load it has timed out (``Deadline Exceeded``), so it
    is tried again, three times at most, after a pause that lets the load pass."""
    import ray

    started = time.perf_counter()
    for attempt in range(3):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            return time.perf_counter() - started
        except Exception:
            ray.shutdown()
            if attempt == 2:
                raise
            time.sleep(10 * (attempt + 1))
    raise AssertionError("unreachable")


def _ray_child(n: int, workers: int) -> dict[str, Any]:
    import asyncio

    import ray

    from nex_core.gap import load_config, run_gap

    init_s = _ray_init()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = load_config(_write_cpu_config(Path(tmp), n))
            cpu = time.process_time()
            report = asyncio.run(run_gap(config, executor="ray", executor_options={
                "num_workers": workers})).report
            cpu = time.process_time() - cpu
    finally:
        ray.shutdown()
    startup = float(report["executor"].get("startup_s", 0.0))
    seconds = float(report["this_run"]["seconds"]) - startup
    return {"workers": workers, "episodes": report["this_run"]["episodes"],
            "accepted": report["accepted"], "ray_init_s": round(init_s, 2),
            "startup_s": startup, "seconds": round(seconds, 3),
            "episodes_per_s": round(n / seconds, 1),
            "driver_cpu_ms_per_episode": round(cpu / n * 1000, 3)}


def _episode_results(folder: Path, rounds: int, n: int) -> tuple[Any, list[Any]]:
    """``n`` episodes of a scripted config with ``rounds`` tool calls each, run in-process."""
    import asyncio

    from nex_core.gap import load_config
    from nex_core.gap.plan import applicable_pairs, iter_episodes, load_specs
    from nex_core.gap.worker import Worker

    path = _write_cpu_config(folder, n)  # checks: status, task, dedup; every episode accepted
    replies = json.loads((folder / "script.yaml").read_text())["replies"]
    (folder / "script.yaml").write_text(json.dumps({"replies": replies[-1 - rounds:]}))
    config = load_config(path)

    async def run() -> list[Any]:
        worker = Worker(config)
        try:
            pairs, _ = applicable_pairs(config, load_specs(config))
            return [await worker.run(e) for e in iter_episodes(config, pairs)]
        finally:
            await worker.aclose()

    return config, asyncio.run(run())


async def _drive_lines(config: Any, results: list[Any], lines: list[bytes]) -> None:
    """What the driver does per received line, but the log write: decode, then the remaining
    checks and the line (stored form), or parse, verify and serialise (the whole trajectory)."""
    from nex_core.gap.stored import StoredResult, complete, decode
    from nex_core.gap.verify import build_checks, verify
    from nex_core.trajectory.compact import dumps_bytes

    checks = build_checks(config)
    for result, line in zip(results, lines, strict=True):
        got = decode(result.episode, result.seconds, line)
        if isinstance(got, StoredResult):
            await complete(checks, got)
        else:
            await verify(checks, got)
            dumps_bytes(got.trajectory)


def run_driver(quick: bool = False) -> dict[str, Any]:
    import asyncio

    from nex_core.gap.stored import encode
    from nex_core.gap.verify import build_checks, worker_checks

    n, repeats = (200, 3) if quick else (500, 7)
    shapes = []
    for rounds in (0, RAY_ROUNDS):
        with tempfile.TemporaryDirectory() as tmp:
            config, results = _episode_results(Path(tmp), rounds, n)
        before = [b"-1 " + r.trajectory.to_json().encode() for r in results]  # unverified
        checks = build_checks(config)
        here = worker_checks(checks)
        wires = [asyncio.run(encode(checks, here, r)) for r in results]
        jobs = {"stored_line": wires, "parse_verify_serialise": before}
        times: dict[str, list[float]] = {"stored_line": [], "parse_verify_serialise": []}
        for _ in range(repeats):  # interleaved
            for name, lines in jobs.items():
                cpu = time.process_time()
                asyncio.run(_drive_lines(config, results, lines))
                times[name].append((time.process_time() - cpu) / n * 1000)
        medians = {k: round(statistics.median(v), 4) for k, v in times.items()}
        shapes.append({
            "steps_per_episode": 2 * rounds + 1, "episodes": n, "repeats": repeats,
            "line_bytes": len(before[0]) - 3,
            "cpu_ms_per_episode": medians,
            "quartiles": {k: [round(q, 4) for q in statistics.quantiles(v, n=4)[::2]]
                          for k, v in times.items()},
            "ratio": round(medians["stored_line"] / medians["parse_verify_serialise"], 3),
        })
    return {"shapes": shapes, "load_average_1min": round(os.getloadavg()[0], 2)}


def run_ray(quick: bool = False, repeats: int | None = None) -> dict[str, Any]:
    repeats = repeats or (1 if quick else 3)
    n = 300 if quick else 1000
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for _ in range(repeats):  # interleaved: 1 and 2 workers see the same machine load
        for workers in (1, 2):
            out = subprocess.run(
                [sys.executable, "-m", "bench.bench_executors", "--ray-child", str(n),
                 str(workers)], cwd=REPO, capture_output=True, text=True, timeout=900,
                check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                    [str(REPO), os.environ.get("PYTHONPATH", "")])})
            runs[workers].append(json.loads(out.stdout.strip().splitlines()[-1]))
    medians = {w: statistics.median(float(r["episodes_per_s"]) for r in rs)
               for w, rs in runs.items()}
    pairs = [round(float(b["episodes_per_s"]) / float(a["episodes_per_s"]), 3)
             for a, b in zip(runs[1], runs[2], strict=True)]
    return {
        "setup": {"episodes": n, "steps_per_episode": 2 * RAY_ROUNDS + 1, "num_cpus": 2,
                  "model": "scripted (no latency)", "checks": "status, task, dedup"},
        "workers": {str(w): {"median_episodes_per_s": round(medians[w], 1),
                             "quartiles": _quartiles([float(r["episodes_per_s"]) for r in rs]),
                             "runs": rs} for w, rs in runs.items()},
        "speedup_2_over_1": round(medians[2] / medians[1], 3),
        "speedup_per_pair": pairs,
        "target": 1.8,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _child(n: int, base_url: str, concurrency: int, executor: str) -> dict[str, Any]:
    import asyncio

    import nex_core.models.openai_compat  # imported before the clock
    import nex_core.runtime.loop  # noqa: F401  (likewise)
    from nex_core.gap import load_config, run_gap
    from nex_core.trajectory.redact import needs_redaction

    # The one-time work a worker process does before ``ready`` (``Worker.prepare``): done here
    # before the clock too, so the local executor's CPU per episode counts episodes only.
    needs_redaction("")

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


def _run_child(
    n: int, base_url: str, concurrency: int, executor: str, repo: Path = REPO
) -> dict[str, Any]:
    """One point in a fresh process; ``repo``: another checkout's code (an A/B baseline, its
    own Ray plugin too: the executors are loaded as plugins, whichever the config names)."""
    path = [str(repo), str(repo / "plugins" / "ray"), os.environ.get("PYTHONPATH", "")]
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_executors", "--child", str(n), base_url,
         str(concurrency), executor],
        cwd=repo, capture_output=True, text=True, timeout=900, check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _quartiles(values: list[float]) -> list[float]:
    if len(values) < 2:
        return [values[0], values[0]]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return [round(q[0], 1), round(q[2], 1)]


def run(quick: bool = False, ray: bool = True, baseline: Path | None = None) -> dict[str, Any]:
    """``baseline``: a checkout of earlier code whose executors run interleaved with this
    one's, as ``local@baseline`` and ``processes@baseline`` (a change's before/after in one
    run)."""
    quick = quick or quick_requested()
    executors: list[tuple[str, str, Path]] = []
    for e in EXECUTORS:  # with a baseline, each executor next to its baseline: pairs per point
        executors.append((e, e, REPO))
        if baseline is not None:
            executors.append((f"{e}@baseline", e, baseline))
    repeats = 1 if quick else 3
    server = subprocess.Popen([sys.executable, "-m", "bench._fast_server", "--latency",
                               str(LATENCY_S)], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdin is not None
    base_url = server.stdout.readline().strip()
    points = []
    try:
        _run_child(50, base_url, 32, "local")  # warm the file cache
        sweep = [(c, max(600 if quick else 1500, (4 if quick else 8) * c), "sweep")
                 for c in SWEEP]
        if not quick:
            sweep.append((LONG_CONCURRENCY, LONG_CONCURRENCY * LONG_WAVES, "long"))
        for concurrency, n, kind in sweep:
            runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in executors}
            for _ in range(repeats):  # interleaved: every executor sees the same machine load
                for label, executor, repo in executors:
                    runs[label].append(_run_child(n, base_url, concurrency, executor, repo))
            ideal = concurrency / LATENCY_S
            # The best ratio any client reaches: n episodes take ceil(n / c) rounds of the
            # endpoint's latency, the last one partly empty (1,500 at c128: 12 rounds, 0.977).
            waves = -(-n // concurrency)
            for executor, results in runs.items():
                rates = [float(r["episodes_per_s"]) for r in results]
                median = statistics.median(rates)
                driver = statistics.median(r["driver_cpu_ms_per_episode"] for r in results)
                workers = statistics.median(r["worker_cpu_ms_per_episode"] for r in results)
                points.append({
                    "executor": executor, "point": kind, "concurrency": concurrency,
                    "episodes": n, "rounds_of_latency": waves,
                    "ideal_episodes_per_s": ideal, "median_episodes_per_s": round(median, 1),
                    "quartiles": _quartiles(rates), "ratio_to_ideal": round(median / ideal, 3),
                    "ratio_bound_for_n": round(n / (waves * concurrency), 3),
                    "driver_cpu_ms_per_episode": driver,
                    "worker_cpu_ms_per_episode": workers,
                    "client_cpu_ms_per_episode": round(driver + workers, 3),
                    "load_average_1min": round(os.getloadavg()[0], 2),
                    "limit": _limit(median / ideal, driver + workers, median, executor,
                                    n / median / waves),
                    "runs": results,
                })
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    result: dict[str, Any] = {"setup": {"latency_s": LATENCY_S, "cpus": os.cpu_count(),
                                        "server": "bench._fast_server (own process)"},
                              "points": points}
    result["driver"] = run_driver(quick)
    if ray:
        try:
            import ray as _ray  # noqa: F401
        except ImportError:
            result["ray"] = "skipped: ray is not installed"
        else:
            result["ray"] = run_ray(quick)
    return result


def _limit(ratio: float, cpu_ms: float, rate: float, executor: str, round_s: float) -> str:
    """What bounded a point, from its figures: the client's CPU if it kept its cores busy (one
    for ``local``, every core for ``processes``), else the rounds of the latency running long
    (connects, queueing behind other episodes' work on the client's loop, the server's timer)."""
    if ratio >= 0.95:
        return "endpoint latency (the ideal)"
    cores = cpu_ms * rate / 1000  # cores the client used at this rate
    usable = 1 if executor.startswith("local") else (os.cpu_count() or 1)
    if cores >= 0.8 * usable:
        return f"client CPU: {cores:.2f} cores busy of {usable} it can use"
    return (f"rounds of the {LATENCY_S * 1000:.0f} ms latency took {round_s * 1000:.1f} ms each "
            f"on average, the first one longest (the client used {cores:.2f} cores of {usable})")


if __name__ == "__main__":
    if len(sys.argv) >= 6 and sys.argv[1] == "--child":
        print(json.dumps(_child(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])))
    elif len(sys.argv) >= 4 and sys.argv[1] == "--ray-child":
        print(json.dumps(_ray_child(int(sys.argv[2]), int(sys.argv[3]))))
    elif "--help" in sys.argv or "-h" in sys.argv:  # not a run: that takes many minutes
        print(__doc__)
    else:
        only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
        quick = "--quick" in sys.argv
        if only == "ray":
            given = "--repeats" in sys.argv
            reps = int(sys.argv[sys.argv.index("--repeats") + 1]) if given else None
            result = {"ray": run_ray(quick, reps)}
        elif only == "driver":
            result = {"driver": run_driver(quick)}
        else:
            base = Path(sys.argv[sys.argv.index("--baseline") + 1]).resolve() if (
                "--baseline" in sys.argv) else None
            result = run(quick=quick, ray=only is None, baseline=base)
        print(json.dumps(result, indent=2))
