"""nex-core benchmarks: the native runtime's time per step, the JSONL sink's throughput, and peak
memory while streaming a large trajectory file.

What each number includes is written beside it in the result, so nothing is hidden:

- ``runtime``: nex's own CPU time of whole runs of the native runtime divided by the number of
  steps recorded (model calls plus tool calls), median over interleaved repetitions
  (``bench/_native.py``): building requests, recording every step (pydantic models, ids,
  timestamps), dispatching a no-op tool, closing the trajectory (secret scan) and writing it to a
  MemorySink; the time inside the model and the tool is measured and subtracted. A minimal model
  returning pre-built replies isolates the runtime's own cost; ``other_cases`` adds a sync tool
  (a worker thread per call) and nex's ScriptedModel (wall time, everything included).
- ``jsonl_sink``: steps written per second through ``JSONLSink.write`` (serialisation included),
  for realistic trajectories recorded by the runtime, with and without an fsync per trajectory.
  The sink writes the stored form (``Trajectory.to_json``: a request that continues an earlier
  one names it with ``messages_from`` and lists only its new messages), whose size grows linearly
  with the run; each shape also gives the size of the full form (every request in full, as
  ``model_dump_json`` writes it) and the throughput for the same runs recorded without shared
  message objects (each request built from fresh, equal messages, as an adapter that converts
  the framework's history on every call records them), where the writer must compare every
  message by value.
- ``scrub``: the recorder's secret scrub (``nex_core.trajectory.recorder.scrub``) of recorded
  runs with nothing to redact (the hot path: every trajectory pays it) and with one token-shaped
  string in a tool result, median microseconds over repetitions, and the same per MB of the
  trajectory's stored JSON.
- ``stream_memory``: peak RSS of a child process that reads a generated file of about 1 GB with
  ``iter_trajectories`` (the file is deleted afterwards), beside the RSS of the same child reading
  nothing, so the reader's own share is visible.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import _native
from bench import quick as quick_requested
from nex_core.models.base import ChatModel
from nex_core.models.scripted import ScriptedModel
from nex_core.protocol.spec import AgentSpec, CallableBinding, Limits, ToolFormat, ToolSpec
from nex_core.runtime.loop import run_native
from nex_core.trajectory import JSONLSink, MemorySink, TaskInfo, Trajectory
from nex_core.trajectory.schema import LLMRequest, LLMResponse, Message, ToolCall

TARGET_SINK_STEPS_PER_S = 50_000.0
SINK_WRITERS = 8
TARGET_STREAM_RSS_MB = 200.0


# --------------------------------------------------------------------------- runtime


# The model and the tool time their own work into ``_native.external``: the runtime bench
# subtracts it, so its headline is nex's own time (here a fraction of a microsecond a step).


async def _noop_async() -> str:
    started = time.perf_counter()
    result = "ok"
    _native.external.seconds += time.perf_counter() - started
    return result


def _noop_sync() -> str:
    started = time.perf_counter()
    result = "ok"
    _native.external.seconds += time.perf_counter() - started
    return result


class FixedModel(ChatModel):
    """Hands out pre-built responses in order and keeps nothing: the cheapest possible model."""

    model_id = "fixed"
    provider = "bench"

    def __init__(self, responses: list[LLMResponse]) -> None:
        self._responses = responses
        self._next = 0

    async def acomplete(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> LLMResponse:
        started = time.perf_counter()
        response = self._responses[self._next]
        self._next += 1
        _native.external.seconds += time.perf_counter() - started
        return response


def _spec(iterations: int, sync_tool: bool) -> AgentSpec:
    func = _noop_sync if sync_tool else _noop_async
    return AgentSpec(
        name="bench",
        system_prompt="You are a benchmark.",
        tools=[
            ToolSpec(
                name="noop",
                description="Does nothing.",
                parameters={"type": "object", "properties": {}},
                binding=CallableBinding(ref="noop", func=func),
            )
        ],
        limits=Limits(max_steps=iterations + 1),
    )


def _script(iterations: int) -> list[dict[str, Any]]:
    call = {"tool_calls": [{"name": "noop", "arguments": {}}]}
    return [call] * iterations + [{"text": "done"}]


def _responses(iterations: int) -> list[LLMResponse]:
    out = [
        LLMResponse(
            message=Message.assistant(None, [ToolCall.make(f"call_{i}", "noop", "{}")]),
            finish_reason="tool_calls",
        )
        for i in range(iterations)
    ]
    return [*out, LLMResponse(message=Message.assistant("done"), finish_reason="stop")]


def _runtime_case(
    iterations: int, repetitions: int, *, model: str, sync_tool: bool
) -> dict[str, Any]:
    spec = _spec(iterations, sync_tool)
    steps = 2 * iterations + 1
    loop = asyncio.new_event_loop()
    per_step: list[float] = []
    try:
        for rep in range(repetitions + 3):
            m: ChatModel = (
                ScriptedModel(_script(iterations))
                if model == "scripted"
                else FixedModel(_responses(iterations))
            )
            sink = MemorySink()  # no forced collection first: see bench/_native.py
            started = time.perf_counter()
            traj = loop.run_until_complete(
                run_native(spec, TaskInfo(turns=["go"]), model=m, sinks=[sink])
            )
            elapsed = time.perf_counter() - started
            assert traj.outcome is not None and traj.outcome.status.value == "completed"
            assert len(traj.steps) == steps
            if rep >= 3:  # warm-up runs are not counted
                per_step.append(elapsed / steps)
    finally:
        loop.close()
    median_us = statistics.median(per_step) * 1e6
    return {
        "model": model,
        "tool": "sync (worker thread)" if sync_tool else "async (on the loop)",
        "tool_rounds": iterations,
        "steps_per_run": steps,
        "repetitions": repetitions,
        "median_us_per_step": round(median_us, 1),
        "p90_us_per_step": round(statistics.quantiles(per_step, n=10)[-1] * 1e6, 1),
        "steps_per_s": round(1e6 / median_us),
    }


def bench_runtime(quick: bool) -> dict[str, Any]:
    loop = asyncio.new_event_loop()

    def make_run(rounds: int) -> Any:
        spec = _spec(rounds, sync_tool=False)
        replies = _responses(rounds)  # built once, outside the clock; FixedModel only reads it
        return lambda: _native.run_in(
            loop,
            lambda: run_native(
                spec, TaskInfo(turns=["go"]), model=FixedModel(replies), sinks=[MemorySink()]
            ),
        )

    try:
        result = _native.bench(make_run, quick)
        reps = 10 if quick else 40
        # The other shapes, as before: a sync tool (a worker thread per call) and nex's
        # ScriptedModel (which deep-copies every request it receives, for tests).
        result["other_cases"] = [
            _runtime_case(10, reps, model="fixed", sync_tool=True),
            _runtime_case(10, reps, model="scripted", sync_tool=False),
        ]
    finally:
        loop.close()
    return result


# --------------------------------------------------------------------------- JSONL sink


def _recorded(iterations: int) -> Trajectory:
    spec = _spec(iterations, sync_tool=False)
    return asyncio.run(
        run_native(spec, TaskInfo(turns=["go"]), model=FixedModel(_responses(iterations)))
    )


def _sink_pass(
    trajectories: list[Trajectory], fsync: bool, path: Path, writers: int = 1
) -> tuple[float, int]:
    with JSONLSink(path, fsync=fsync) as sink:
        started = time.perf_counter()
        if writers == 1:
            for traj in trajectories:
                sink.write(traj)
        else:  # runs finishing in several threads at once: their fsyncs are shared
            with ThreadPoolExecutor(writers) as pool:
                list(pool.map(sink.write, trajectories))
        elapsed = time.perf_counter() - started
    size = path.stat().st_size
    path.unlink()
    return elapsed, size


def _sink_case(
    trajectories: list[Trajectory], fsync: bool, directory: Path, passes: int, writers: int = 1
) -> dict[str, Any]:
    # Several passes, the median reported: the disk is shared, and one slow fsync burst
    # elsewhere on the machine would otherwise decide the number.
    path = directory / f"sink-{int(fsync)}.jsonl"
    steps = sum(len(t.steps) for t in trajectories)
    runs = [_sink_pass(trajectories, fsync, path, writers) for _ in range(passes)]
    elapsed = statistics.median(seconds for seconds, _ in runs)
    size = runs[0][1]
    return {
        "fsync_per_trajectory": fsync,
        "writer_threads": writers,
        "trajectories": len(trajectories),
        "steps": steps,
        "passes": passes,
        "seconds": round(elapsed, 4),
        "steps_per_s": round(steps / elapsed),
        "steps_per_s_range": [
            round(steps / max(r[0] for r in runs)),
            round(steps / min(r[0] for r in runs)),
        ],
        "trajectories_per_s": round(len(trajectories) / elapsed, 1),
        "mb_per_s": round(size / elapsed / 1e6, 1),
    }


def _bytes_pass(lines: list[bytes], path: Path, durable: bool) -> tuple[float, int]:
    """Lines serialised beforehand, as GAP's workers send them: ``SINK_WRITERS`` threads
    appending with ``write_bytes`` (fsync, group commit), or the GAP driver's ``DurableLog``
    (asyncio; one fsync covers every line that arrived during the previous one)."""
    if durable:
        from nex_core.gap.store import DurableLog

        async def append_all() -> float:
            log = DurableLog(path)
            started = time.perf_counter()
            await asyncio.gather(*(log.append(line) for line in lines))
            elapsed = time.perf_counter() - started
            await log.aclose()
            return elapsed

        elapsed = asyncio.run(append_all())
    else:
        with JSONLSink(path, fsync=True) as sink:
            started = time.perf_counter()
            with ThreadPoolExecutor(SINK_WRITERS) as pool:
                list(pool.map(sink.write_bytes, [line + b"\n" for line in lines]))
            elapsed = time.perf_counter() - started
    size = path.stat().st_size
    path.unlink()
    return elapsed, size


def _bytes_case(
    trajectories: list[Trajectory], directory: Path, passes: int, durable: bool
) -> dict[str, Any]:
    from nex_core.trajectory.compact import dumps_bytes

    lines = [dumps_bytes(t) for t in trajectories]
    steps = sum(len(t.steps) for t in trajectories)
    runs = [_bytes_pass(lines, directory / "sink-bytes.jsonl", durable) for _ in range(passes)]
    elapsed = statistics.median(seconds for seconds, _ in runs)
    return {
        "writer": "gap DurableLog (asyncio)" if durable else f"{SINK_WRITERS} threads, write_bytes",
        "fsync": True,
        "steps_per_s": round(steps / elapsed),
        "steps_per_s_range": [round(steps / max(r[0] for r in runs)),
                              round(steps / min(r[0] for r in runs))],
        "trajectories_per_s": round(len(trajectories) / elapsed, 1),
    }


def _to_json_us(traj: Trajectory, repetitions: int) -> float:
    """Median time of ``to_json`` alone (the sink's CPU share), in microseconds."""
    times = []
    for _ in range(repetitions):
        started = time.perf_counter()
        traj.to_json()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1e6, 1)


def _unshared(traj: Trajectory) -> Trajectory:
    """The same run with one message object per request and position (nothing shared)."""
    return Trajectory.model_validate(traj.model_dump())


def _fsync_ms(directory: Path, repetitions: int = 30) -> float:
    """Median latency of one append + fsync in ``directory``: with writers that wait for their
    line to be durable, one fsync covers at most a line per writer, so this bounds group commit
    at writers x steps per line / latency whatever serialisation costs."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    times = []
    try:
        for _ in range(repetitions):
            os.write(fd, b"x" * 10_000 + b"\n")
            started = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(times) * 1e3


def bench_sink(quick: bool) -> dict[str, Any]:
    # Trajectories as the runtime records them: each LLM step holds its full request (in memory,
    # sharing the message objects). Two shapes: short and long runs.
    shapes: list[dict[str, Any]] = []
    for rounds, count in ((10, 300 if quick else 2000), (100, 20 if quick else 150)):
        base = _recorded(rounds)
        trajectories = [base.model_copy(update={"id": f"t{i}"}) for i in range(count)]
        unshared = _unshared(base)
        fresh = [unshared.model_copy(update={"id": f"t{i}"}) for i in range(max(count // 5, 5))]
        passes = 2 if quick else 5
        with tempfile.TemporaryDirectory() as tmp:
            cases = [_sink_case(trajectories, fsync, Path(tmp), passes) for fsync in (False, True)]
            group = _sink_case(trajectories, True, Path(tmp), passes, writers=SINK_WRITERS)
            fsync_ms = _fsync_ms(Path(tmp))
            group["fsync_ms_median"] = round(fsync_ms, 2)
            group["fsync_bound_steps_per_s"] = round(
                SINK_WRITERS * len(base.steps) / (fsync_ms / 1e3)
            )
            unshared_case = _sink_case(fresh, True, Path(tmp), passes)
            # The sink's own cost without the serialisation (a GAP log's lines come serialised
            # by the workers): what group commit itself reaches.
            bytes_cases = [_bytes_case(trajectories, Path(tmp), passes, durable)
                           for durable in (False, True)]
        stored = len(base.to_json()) + 1
        to_json_us = _to_json_us(base, 50)
        full = len(base.model_dump_json(exclude_none=True)) + 1
        shapes.append(
            {
                "tool_rounds": rounds,
                "steps_per_trajectory": len(base.steps),
                "bytes_per_trajectory": stored,
                "bytes_per_trajectory_full_form": full,
                "stored_over_full": round(stored / full, 3),
                "to_json_us": to_json_us,
                "serialisation_bound_steps_per_s": round(len(base.steps) / to_json_us * 1e6),
                "to_json_us_unshared_messages": _to_json_us(unshared, 10),
                "cases": cases,
                "group_commit_fsync": group,
                "unshared_messages_fsync": unshared_case,
                "serialised_beforehand_fsync": bytes_cases,
            }
        )
    worst = min(c["steps_per_s"] for shape in shapes for c in shape["cases"])
    group_worst = min(shape["group_commit_fsync"]["steps_per_s"] for shape in shapes)
    return {
        "includes": "JSONLSink.write: to_json serialisation (the stored form), one os.write per "
        "trajectory, fsync when enabled (durable when write returns); group commit: "
        f"{SINK_WRITERS} threads writing at once share fsyncs",
        "shapes": shapes,
        "worst_steps_per_s": worst,
        "worst_steps_per_s_group_commit_fsync": group_worst,
        "worst_steps_per_s_unshared_messages": min(
            shape["unshared_messages_fsync"]["steps_per_s"] for shape in shapes
        ),
        "worst_steps_per_s_serialised_beforehand": min(
            c["steps_per_s"] for shape in shapes for c in shape["serialised_beforehand_fsync"]
        ),
        "target_steps_per_s": TARGET_SINK_STEPS_PER_S,
        "target_applies_to": "fsynced writes with group commit, runs as the runtime records "
        "them (shared message objects)",
        "meets_target": group_worst >= TARGET_SINK_STEPS_PER_S,
        "meets_target_one_writer": worst >= TARGET_SINK_STEPS_PER_S,
    }


# --------------------------------------------------------------------------- streaming memory

_READER = """
import sys, time
from bench._memory import peak_rss_mb
from nex_core.trajectory import iter_trajectories
count = steps = 0
started = time.perf_counter()
if sys.argv[1] != "-":
    for traj in iter_trajectories(sys.argv[1], strict=True):
        count += 1
        steps += len(traj.steps)
elapsed = time.perf_counter() - started
peak_mb, source = peak_rss_mb()
print(count, steps, round(elapsed, 3), peak_mb, source)
"""


def _read_in_child(path: str) -> tuple[int, int, float, float, str]:
    # A fresh interpreter (not a fork of this large process), its peak read from its own
    # address space: see bench/_memory.py for why ru_maxrss would report this parent's.
    out = subprocess.run(
        [sys.executable, "-c", _READER, path],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout.split(maxsplit=4)
    count, steps, seconds, peak_mb = int(out[0]), int(out[1]), float(out[2]), float(out[3])
    return count, steps, seconds, peak_mb, out[4].strip()


def bench_stream(quick: bool) -> dict[str, Any]:
    target_bytes = (100 if quick else 1000) * 1024 * 1024
    # Trajectories of varied size, in the stored form the sink writes (a 200-round run is about
    # 0.2 MB a line; every request in full it would be about 3.6 MB).
    lines = [_recorded(n).to_json().encode() + b"\n" for n in (5, 20, 50, 200)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.jsonl"
        written = 0
        with path.open("wb") as f:
            while written < target_bytes:
                for line in lines:
                    f.write(line)
                    written += len(line)
        size = path.stat().st_size
        _, _, _, baseline_mb, _ = _read_in_child("-")
        count, steps, seconds, peak_mb, source = _read_in_child(str(path))
        path.unlink()
    return {
        "includes": "peak RSS of a fresh child process: interpreter, nex_core imports, and "
        "iter_trajectories over the whole file with full validation",
        "peak_rss_source": source,
        "file_mb": round(size / 1024 / 1024, 1),
        "largest_line_mb": round(max(len(x) for x in lines) / 1024 / 1024, 2),
        "trajectories": count,
        "steps": steps,
        "seconds": seconds,
        "mb_per_s": round(size / 1024 / 1024 / seconds, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "baseline_rss_mb_reading_nothing": round(baseline_mb, 1),
        "target_rss_mb": TARGET_STREAM_RSS_MB,
        "meets_target": peak_mb < TARGET_STREAM_RSS_MB,
    }


# --------------------------------------------------------------------------- secret scrub


def _scrub_us(traj: Trajectory, repetitions: int) -> float:
    from nex_core.trajectory.recorder import scrub

    times = []
    for _ in range(repetitions):
        started = time.perf_counter()
        scrub(traj)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def _with_token(traj: Trajectory) -> Trajectory:
    """The run with an sk- token (a shape every nex version knows) in its first tool result."""
    steps = list(traj.steps)
    i = next(i for i, s in enumerate(steps) if s.kind == "tool")
    steps[i] = steps[i].model_copy(update={"result": "token sk-" + "a1B2" * 9})
    return traj.model_copy(update={"steps": steps})


def bench_scrub(quick: bool) -> dict[str, Any]:
    repetitions = 20 if quick else 100
    cases = []
    for rounds in (10, 100):
        clean = _recorded(rounds)
        dirty = _with_token(clean)
        mb = len(clean.to_json()) / 1e6
        clean_us = _scrub_us(clean, repetitions)
        dirty_us = _scrub_us(dirty, max(repetitions // 5, 5))
        cases.append({
            "tool_rounds": rounds,
            "stored_mb": round(mb, 3),
            "clean_us": round(clean_us, 1),
            "clean_us_per_mb": round(clean_us / mb, 1),
            "with_token_us": round(dirty_us, 1),
        })
    return {
        "includes": "recorder.scrub of one trajectory: serialise, search for registered secrets "
        "and token shapes, rebuild what holds one",
        "cases": cases,
    }


# --------------------------------------------------------------------------- entry point


def run(quick: bool = False) -> dict[str, Any]:
    quick = quick or quick_requested()
    return {
        "runtime": bench_runtime(quick),
        "jsonl_sink": bench_sink(quick),
        "scrub": bench_scrub(quick),
        "stream_memory": bench_stream(quick),
        "pid": os.getpid(),
    }
