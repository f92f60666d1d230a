"""Running a GAP config on a Ray cluster.

Each Ray actor is one GAP :class:`~nex_core.gap.Worker`: it starts the config's MCP servers once
and shares them between its episodes, and it runs ``lanes`` episodes at once under its share of
every endpoint's concurrency limit (``concurrency / num_workers``, so the cluster as a whole keeps
the configured limit). The driver hands out episodes as lanes free up and gets back each episode
verified by the actor's checks that need no run-wide state, in its stored form
(``nex_core.gap.stored``: the driver neither parses nor serialises it); the run-wide checks
(dedup), writing and resume stay in the driver's pipeline, so a worker that dies loses only its
episodes in flight and nothing is written twice.

On a real cluster every node needs nex-core, the adapters the config names and the tools' Python
modules installed (or shipped with ``runtime_env``); config, spec and task files are read by the
workers at the absolute paths the driver resolved, so they must be on a shared filesystem.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import sys
import time
from collections.abc import Iterator
from typing import Any

from nex_core.errors import PluginError
from nex_core.gap.config import GapConfig
from nex_core.gap.executor import Emit, Executor
from nex_core.gap.plan import Episode
from nex_core.gap.stored import decode, encode
from nex_core.gap.verify import build_checks, checks_for_worker, worker_checks


class GapActor:
    """One worker process of the cluster (wrapped with ``ray.remote`` at run time)."""

    def __init__(
        self, portable: dict[str, Any], share: float, sys_path: list[str], checks: int = 0
    ) -> None:
        for entry in sys_path:  # import-path tools resolve as they do on the driver
            if entry not in sys.path:
                sys.path.append(entry)
        self.config = GapConfig.from_portable(portable)
        self.share = share
        self.worker: Any = None
        self.checks: list[Any] = []
        self.here = 0
        self.most = checks
        """How many of the config's checks the driver lets this actor run."""

    def _worker(self) -> Any:
        if self.worker is None:
            from nex_core.gap.processes import build_record_models
            from nex_core.gap.worker import Worker

            self.worker = Worker(self.config, share=self.share)
            self.checks, self.here = checks_for_worker(self.config, self.most)
            # Start-up (the driver waits for ``lanes`` before the clock), as in a worker process
            # of the ``processes`` executor: the one-time work, then the heap that exists now
            # kept out of the cyclic collector, whose full passes would walk Ray's and nex's
            # modules again and again during the episodes.
            build_record_models()
            self.worker.prepare()
            gc.freeze()
        return self.worker

    async def lanes(self) -> int:
        return int(self._worker().max_in_flight)

    async def run(self, episode_json: str) -> tuple[bytes, float]:
        """The episode verified here, in its wire form (``nex_core.gap.stored.encode``)."""
        result = await self._worker().run(Episode.from_json(episode_json))
        return await encode(self.checks, self.here, result), result.seconds

    async def run_batch(self, episodes_json: list[str]) -> list[tuple[bytes, float]]:
        """Several episodes in one task call, run at once: Ray's overhead per task call (about
        a millisecond of driver and actor CPU) is paid once for all of them."""
        return list(await asyncio.gather(*(self.run(e) for e in episodes_json)))

    async def close(self) -> dict[str, int]:
        if self.worker is None:
            return {}
        deaths = dict(self.worker.pool.deaths)
        await self.worker.aclose()
        return deaths


class RayExecutor(Executor):
    """``nex gap run CONFIG --executor ray [--address ADDR] [--executor-option num_workers=N]``."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_workers: int = 2,
        num_cpus: int | None = None,
        cpus_per_worker: float = 1.0,
        runtime_env: dict[str, Any] | None = None,
        shutdown: bool = True,
        batch_size: int = 16,
    ) -> None:
        self.address = address
        self.num_workers = max(1, int(num_workers))
        self.num_cpus = num_cpus
        self.cpus_per_worker = float(cpus_per_worker)
        self.runtime_env = runtime_env
        self.shutdown = shutdown
        self.batch_size = max(1, int(batch_size))
        """Episodes per task call (see ``GapActor.run_batch``)."""

    def _connect(self) -> bool:
        try:
            import ray
        except ImportError:
            from nex_core.plugins import install_hint

            # nex-ray requires ray: reinstalling the distribution brings it back.
            raise PluginError(f"the ray executor needs Ray: {install_hint('nex-ray')}") from None
        if ray.is_initialized():
            return False
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if self.runtime_env:
            options["runtime_env"] = self.runtime_env
        if self.address:
            ray.init(address=self.address, **options)
        else:
            ray.init(num_cpus=self.num_cpus, **options)
        return True

    async def execute(
        self, config: GapConfig, episodes: Iterator[Episode], emit: Emit
    ) -> dict[str, Any]:
        import ray

        from nex_core.gap.processes import build_record_models

        build_record_models()  # the driver may parse trajectories it never made
        started_here = self._connect()
        remote: Any = ray.remote(num_cpus=self.cpus_per_worker)(GapActor)
        share = 1.0 / self.num_workers
        here = worker_checks(build_checks(config))  # the actors run these; the rest run here
        actors: list[Any] = [
            remote.remote(config.to_portable(), share, list(sys.path), here)
            for _ in range(self.num_workers)
        ]
        restarts: dict[str, int] = {}
        started = time.perf_counter()
        try:
            lanes = await asyncio.gather(*(_await(a.lanes.remote()) for a in actors))
            # Actors up, each with its Worker (imports, MCP servers): start-up, not episode time.
            startup = time.perf_counter() - started
            await _drive(actors, lanes, episodes, emit, self.batch_size)
        finally:
            closing = await asyncio.gather(
                *(_await(a.close.remote()) for a in actors), return_exceptions=True
            )
            for deaths in closing:
                if isinstance(deaths, dict):
                    for server, n in deaths.items():
                        restarts[server] = restarts.get(server, 0) + n
            for actor in actors:
                ray.kill(actor)
            if started_here and self.shutdown:
                ray.shutdown()
        return {"mcp_restarts": restarts, "workers": self.num_workers, "lanes": sum(lanes),
                "startup_s": round(startup, 3)}


async def _await(ref: Any) -> Any:
    return await asyncio.wrap_future(ref.future())


async def _drive(
    actors: list[Any], lanes: list[int], episodes: Iterator[Episode], emit: Emit, batch: int
) -> None:
    """Keep every actor's lanes busy with batches of ``batch`` episodes; commit each result as
    it arrives, in any order, concurrently (so the log's group commit batches the fsyncs)."""
    running: dict[asyncio.Future[Any], tuple[int, list[Episode]]] = {}
    commits: set[asyncio.Task[None]] = set()
    errors: list[BaseException] = []

    def settled(task: asyncio.Task[None]) -> None:
        commits.discard(task)
        if not task.cancelled() and task.exception() is not None:
            errors.append(task.exception())  # type: ignore[arg-type]

    def submit(index: int) -> bool:
        chunk = list(itertools.islice(episodes, batch))
        if not chunk:
            return False
        call = actors[index].run_batch.remote([e.to_json() for e in chunk])
        running[asyncio.ensure_future(_await(call))] = (index, chunk)
        return True

    async def commit(episode: Episode, wire: bytes, seconds: float) -> None:
        await emit(decode(episode, float(seconds), wire))

    for index, n in enumerate(lanes):
        # At least two batches per actor: one runs down while the next is already there, so an
        # actor never waits for the driver between batches (a batch returns when its last
        # episode does).
        for _ in range(max(2, -(-n // batch))):
            if not submit(index):
                break
    try:
        while running:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                index, chunk = running.pop(future)
                for episode, (wire, seconds) in zip(chunk, future.result(), strict=True):
                    task = asyncio.create_task(commit(episode, wire, seconds))
                    commits.add(task)
                    task.add_done_callback(settled)
                submit(index)
            if errors:
                raise errors[0]  # an output write failed: stop handing out work
        if commits:
            await asyncio.gather(*commits)
        if errors:
            raise errors[0]
    except BaseException:
        for task in commits:
            task.cancel()
        raise
