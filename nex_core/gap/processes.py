"""The ``processes`` executor: a worker process per core, one writer, shared endpoint limits.

Why: one asyncio process spends all of one core on its episodes (the runtime, the HTTP client,
recording) long before a fast endpoint's concurrency is used, and a machine has more cores. So N
worker processes (``python -m nex_core.gap.proc_worker``, default one per core) each run
episodes on their own event loop, and the driver — the pipeline's process — hands them episodes
as their lanes free up and gets every finished trajectory back as one JSON line. Verification,
the fsynced log, resume and the report stay in the driver, unchanged: it is the only writer, so
an episode is committed once or not at all, whichever worker ran it.

Each endpoint's ``concurrency`` holds for all workers together: it is one eventfd semaphore
(:mod:`nex_core.gap.shared_limits`) created here and inherited by every worker.

A worker that dies (killed, out of memory, a crash in native code) is an :class:`ExecutorError`
naming it. The episodes it held are recorded as errors (never lost, never accepted; a
``--retry-errors`` run takes them again), no further episodes are handed out, the other workers
finish what they hold, and then the run stops with the error; what was not started stays pending
for a resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nex_core.errors import ExecutorError
from nex_core.gap.config import GapConfig
from nex_core.gap.executor import Emit, Executor
from nex_core.gap.plan import Episode, load_specs
from nex_core.gap.shared_limits import new_limit
from nex_core.gap.stored import StoredResult, decode
from nex_core.gap.verify import build_checks, worker_checks
from nex_core.gap.worker import GAP_KEY, EpisodeResult, _failed_trajectory

_LINE_LIMIT = 1 << 30
"""Longest line read from a worker: a trajectory is one line, however long."""


def build_record_models() -> None:
    """Build every trajectory record model now. They are built on first use (``defer_build``),
    and a driver that only parses trajectories others made builds the outer model alone: its
    nested records then have no serialiser, and writing them to the log fails."""
    from pydantic import BaseModel

    from nex_core.trajectory import schema

    for value in vars(schema).values():
        model = isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel
        if model and not value.__pydantic_complete__:
            value.model_rebuild()


@dataclass
class _Proc:
    index: int
    process: asyncio.subprocess.Process
    lanes: int
    held: dict[int, Episode] = field(default_factory=dict)
    stats: dict[str, Any] | None = None
    closed: bool = False
    feeding: bool = False
    """A feed is scheduled for this event-loop pass (:meth:`_Driver._refill`)."""

    @property
    def name(self) -> str:
        return f"worker {self.index} (pid {self.process.pid})"

    def close_input(self) -> None:
        if not self.closed and self.process.stdin is not None:
            self.closed = True
            self.process.stdin.close()


class ProcessExecutor(Executor):
    """``executor: processes`` with ``workers: N`` (default: one per core)."""

    name = "processes"

    def __init__(self, workers: int | None = None, max_in_flight: int | None = None) -> None:
        self.workers = workers
        self.max_in_flight = max_in_flight

    def _count(self, config: GapConfig) -> int:
        return max(1, int(self.workers or config.workers or os.cpu_count() or 1))

    async def execute(
        self, config: GapConfig, episodes: Iterator[Episode], emit: Emit
    ) -> dict[str, Any]:
        n = self._count(config)
        build_record_models()
        limits: dict[str, int] = {}
        for entry in config.models:  # one limit per endpoint, the first entry's (as in Worker)
            limits.setdefault(entry.endpoint, entry.concurrency)
        total = self.max_in_flight or config.max_in_flight
        lanes = total or max(1, math.ceil(2 * sum(m.concurrency for m in config.models) / n))
        fds = {endpoint: new_limit(c) for endpoint, c in limits.items()}
        # The checks the workers run (the leading worker-safe ones); the rest run here.
        here = worker_checks(build_checks(config))
        setup = json.dumps({"portable": config.to_portable(), "limits": fds, "checks": here,
                            "sys_path": list(sys.path), "lanes": lanes}).encode() + b"\n"
        procs: list[_Proc] = []
        try:
            for index in range(n):
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "nex_core.gap.proc_worker",
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                    pass_fds=tuple(fds.values()), limit=_LINE_LIMIT,
                )
                assert process.stdin is not None
                process.stdin.write(setup)
                procs.append(_Proc(index, process, lanes))
            started = time.perf_counter()
            await asyncio.gather(*(_ready(p) for p in procs))
            startup = time.perf_counter() - started
            dead = await _Driver(config, procs, episodes, emit).run()
        finally:
            for proc in procs:
                if proc.process.returncode is None:
                    proc.process.kill()
                    with contextlib.suppress(ProcessLookupError):
                        await proc.process.wait()
            for fd in fds.values():
                os.close(fd)
        if dead:
            raise ExecutorError("; ".join(dead) + ". Their episodes in flight were recorded as "
                                "errors; run again to resume (--retry-errors runs those too).")
        restarts: dict[str, int] = {}
        for proc in procs:
            for server, count in (proc.stats or {}).get("mcp_restarts", {}).items():
                restarts[server] = restarts.get(server, 0) + int(count)
        cpu = sum(float((p.stats or {}).get("cpu_s", 0.0)) for p in procs)
        return {"mcp_restarts": restarts, "workers": n, "lanes": lanes * n,
                "startup_s": round(startup, 3), "worker_cpu_s": round(cpu, 3)}


async def _ready(proc: _Proc) -> None:
    """Wait for the worker's ``ready``: start-up (imports, MCP servers) is not episode time."""
    assert proc.process.stdout is not None
    line = await proc.process.stdout.readline()
    if line != b"ready\n":
        code = await proc.process.wait()
        raise ExecutorError(f"{proc.name} failed to start (exit code {code}); its error output "
                            "is above")


class _Driver:
    """Hands out episodes, collects results, commits them concurrently (so the log's group
    commit batches them), and notices workers that die."""

    def __init__(
        self, config: GapConfig, procs: list[_Proc], episodes: Iterator[Episode], emit: Emit
    ) -> None:
        self.config = config
        self.procs = procs
        self.episodes = episodes
        self.emit = emit
        self.exhausted = False
        self.stopping = False
        self.ids = 0
        self.commits: set[asyncio.Future[None]] = set()
        self.failure: BaseException | None = None
        self.dead: list[str] = []

    async def run(self) -> list[str]:
        for _ in range(max(p.lanes for p in self.procs)):  # round robin: every worker gets some
            for proc in self.procs:
                self._feed(proc, 1)
        readers = [asyncio.create_task(self._read(proc)) for proc in self.procs]
        try:
            await asyncio.gather(*readers)
            if self.commits:
                await asyncio.gather(*self.commits, return_exceptions=True)
        except BaseException:
            for task in [*readers, *self.commits]:
                task.cancel()
            raise
        if self.failure is not None:
            raise self.failure
        return self.dead

    def _feed(self, proc: _Proc, most: int | None = None) -> None:
        stdin = proc.process.stdin
        assert stdin is not None
        proc.feeding = False
        given: list[bytes] = []
        while not (self.exhausted or self.stopping) and len(proc.held) < proc.lanes:
            if most is not None and len(given) >= most:
                break
            episode = next(self.episodes, None)
            if episode is None:
                self.exhausted = True
                break
            self.ids += 1
            proc.held[self.ids] = episode
            given.append(b"%d %s\n" % (self.ids, episode.to_wire()))
        if given:  # one write for all of them: one system call, one wake-up of the worker
            stdin.write(b"".join(given))
        if (self.exhausted or self.stopping) and not proc.held:
            proc.close_input()  # nothing more for it: it finishes, reports and exits

    def _refill(self, proc: _Proc) -> None:
        """Feed ``proc`` once the results read in this event-loop pass are all in: a worker
        writes the episodes that finished together in one pass, and they come back together."""
        if not proc.feeding:
            proc.feeding = True
            asyncio.get_running_loop().call_soon(self._feed, proc)

    async def _read(self, proc: _Proc) -> None:
        stdout = proc.process.stdout
        assert stdout is not None
        while line := await stdout.readline():
            if line.startswith(b"done "):
                proc.stats = json.loads(line[5:])
                continue
            ident, seconds, data = line.split(b" ", 2)
            episode = proc.held.pop(int(ident))
            self._commit(decode(episode, float(seconds), data.rstrip(b"\n")))
            self._refill(proc)
        code = await proc.process.wait()
        if proc.held or proc.stats is None:
            self._died(proc, code)

    def _died(self, proc: _Proc, code: int) -> None:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        self.dead.append(f"{proc.name} {how} holding {len(proc.held)} episode(s)")
        self.stopping = True
        specs = load_specs(self.config)
        error = ExecutorError(f"the GAP {proc.name} running this episode {how}")
        for episode in proc.held.values():
            trajectory = _failed_trajectory(episode, specs[episode.key.agent], error)
            trajectory.metadata[GAP_KEY] = {"key": episode.key.as_dict(), "seconds": 0.0}
            if episode.task.metadata:
                trajectory.metadata["task"] = dict(episode.task.metadata)
            self._commit(EpisodeResult(episode, trajectory, 0.0))
        proc.held.clear()
        for other in self.procs:  # no more episodes: each finishes what it holds
            if not other.held:
                other.close_input()

    def _commit(self, result: EpisodeResult | StoredResult) -> None:
        task = asyncio.ensure_future(self.emit(result))
        self.commits.add(task)
        task.add_done_callback(self._committed)

    def _committed(self, task: asyncio.Future[None]) -> None:
        self.commits.discard(task)
        if not task.cancelled() and task.exception() is not None and self.failure is None:
            self.failure = task.exception()  # an output write failed: stop handing out work
            self.stopping = True
            for proc in self.procs:
                if not proc.held:
                    proc.close_input()
