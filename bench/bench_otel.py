"""OpenTelemetry benchmark: the OTLP sink's cost on a GAP run, and the OTLP import rate.

- ``gap_overhead``: the GAP pipeline (``bench_gap``'s single-call episodes against an in-process
  model that answers after 100 ms) with only its JSONL log, and with an ``otlp`` sink (HTTP/
  protobuf, the SDK's batch processor, content captured) sending to ``nex receive`` in its own
  process. Runs interleaved; medians of wall time and of the pipeline process's CPU per episode
  (the exporter's thread included), and their ratios (OTLP / JSONL alone), with the spread.
- ``import``: ``import_otlp`` over an OTLP JSON file (one request per line, as the Collector's
  file exporter writes; each trace a 10-tool-round run with content) of ~100 MB and of a quarter
  of it, each in a fresh process: spans per second and peak RSS; ``rss_growth`` is
  RSS(full) / RSS(quarter) (flat memory: close to 1).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import opentelemetry.sdk  # noqa: F401  (skips this benchmark without the otel extra)
import yaml

from bench import quick as quick_requested

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- GAP overhead


def _gap_once(folder: Path, n: int, sink_url: str | None) -> dict[str, float]:
    from bench.bench_gap import _write_config
    from nex_core.gap import load_config, run_gap

    run_dir = Path(tempfile.mkdtemp(dir=folder))
    path = _write_config(run_dir, n, "sleep")
    if sink_url is not None:
        config = yaml.safe_load(path.read_text())
        config["sinks"] = [
            {"name": "otlp", "target": sink_url, "options": {"capture_content": True}}
        ]
        path.write_text(yaml.safe_dump(config))
    started, cpu = time.perf_counter(), time.process_time()
    report = asyncio.run(run_gap(load_config(path))).report
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert report["this_run"]["episodes"] == n
    if sink_url is not None:
        assert report["sinks"]["otlp"]["errors"] == 0, report["sinks"]
    return {"wall_s": wall, "cpu_ms_per_episode": cpu / n * 1000}


def _gap_overhead(n: int, rounds: int) -> dict[str, Any]:
    from bench.bench_gap import _register_sleep_provider

    _register_sleep_provider()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        log = folder / "receive.log"  # a file, not a pipe: it prints a line per trajectory
        receiver = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nex_core",
                "receive",
                "--port",
                "0",
                "-o",
                str(folder / "received.jsonl"),
                "--settle",
                "0.1",
            ],
            stderr=log.open("w"),
            env={**os.environ, "COLUMNS": "300"},
        )
        try:
            deadline = time.monotonic() + 60
            while "listening on" not in log.read_text():
                assert receiver.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            line = log.read_text().split("listening on ", 1)[1]
            url = line.split("/v1/traces", 1)[0]
            _gap_once(folder, max(8, n // 10), None)  # warm-up: imports, first-run costs
            _gap_once(folder, max(8, n // 10), url)
            plain, otlp = [], []
            for _ in range(rounds):
                plain.append(_gap_once(folder, n, None))
                otlp.append(_gap_once(folder, n, url))
        finally:
            receiver.send_signal(signal.SIGINT)
            receiver.communicate(timeout=60)
        received = len((folder / "received.jsonl").read_text().splitlines())

    def summary(runs: list[dict[str, float]], key: str) -> dict[str, float]:
        values = [r[key] for r in runs]
        return {
            "median": round(statistics.median(values), 4),
            "min": round(min(values), 4),
            "max": round(max(values), 4),
        }

    out: dict[str, Any] = {"episodes": n, "rounds": rounds, "received": received}
    for key in ("wall_s", "cpu_ms_per_episode"):
        out[f"jsonl_{key}"] = summary(plain, key)
        out[f"otlp_{key}"] = summary(otlp, key)
        out[f"ratio_{key}"] = round(
            statistics.median(o[key] for o in otlp) / statistics.median(p[key] for p in plain), 3
        )
    return out


# --------------------------------------------------------------------------- import rate


def _trace_line() -> str:
    from nex_core.models.scripted import ScriptedModel
    from nex_core.otel import OTLPJsonFileSink
    from nex_core.protocol.spec import AgentSpec, CallableBinding, ToolSpec
    from nex_core.runtime.loop import run_native
    from nex_core.trajectory.schema import TaskInfo
    from nex_core.trajectory.sinks import MemorySink

    def add(a: int, b: int) -> int:
        return a + b

    spec = AgentSpec(
        name="adder",
        system_prompt="Add numbers, one call at a time.",
        tools=[
            ToolSpec(
                name="add",
                description="Add two integers.",
                parameters={
                    "type": "object",
                    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"],
                },
                binding=CallableBinding(ref="add", func=add),
            )
        ],
    )
    replies: list[dict[str, Any]] = [
        {"tool_calls": [{"name": "add", "arguments": {"a": i, "b": i}}]} for i in range(10)
    ]
    replies.append({"text": "done"})
    traj = asyncio.run(
        run_native(
            spec,
            TaskInfo(id="t", turns=["add them"]),
            model=ScriptedModel({"replies": replies}),
            sinks=[MemorySink()],
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        with OTLPJsonFileSink(Path(tmp) / "one.jsonl") as sink:
            sink.write(traj)
        return (Path(tmp) / "one.jsonl").read_text().strip()


def _write_file(path: Path, target_bytes: int, line: str) -> tuple[int, int]:
    trace_id = json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
    spans_per_line = line.count('"spanId"')
    lines = 0
    with open(path, "w") as f:
        while f.tell() < target_bytes:
            f.write(line.replace(trace_id, secrets.token_hex(16)) + "\n")
            lines += 1
    return lines, lines * spans_per_line


def _import_child(path: str) -> dict[str, Any]:
    from nex_core.otel import import_otlp

    started = time.perf_counter()
    trajectories = steps = 0
    for traj in import_otlp(path):
        trajectories += 1
        steps += len(traj.steps)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 3),
        "trajectories": trajectories,
        "steps": steps,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _import_rate(megabytes: int) -> dict[str, Any]:
    line = _trace_line()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, size in (("quarter", megabytes // 4), ("full", megabytes)):
            path = Path(tmp) / f"{label}.jsonl"
            lines, spans = _write_file(path, size * 1024 * 1024, line)
            result = subprocess.run(
                [sys.executable, "-m", "bench.bench_otel", "--import-child", str(path)],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=1800,
                check=True,
            )
            child = json.loads(result.stdout.strip().splitlines()[-1])
            assert child["trajectories"] == lines, child
            out[label] = {
                **child,
                "megabytes": round(path.stat().st_size / 2**20, 1),
                "spans": spans,
                "spans_per_s": round(spans / child["seconds"]),
            }
    out["rss_growth"] = round(out["full"]["peak_rss_mb"] / out["quarter"]["peak_rss_mb"], 3)
    return out


def run(quick: bool = False) -> dict[str, Any]:
    quick = quick or quick_requested()
    return {
        "gap_overhead": _gap_overhead(n=64 if quick else 512, rounds=1 if quick else 3),
        "import": _import_rate(8 if quick else 100),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--import-child"]:
        print(json.dumps(_import_child(sys.argv[2])))
    else:
        print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
