"""Executors run episodes and hand each result back to the pipeline, which verifies and writes.

The contract is small so a cluster executor fits it: take the config and an iterator of pending
episodes, call ``emit`` once per finished episode (in any order), return statistics. Writing,
verification and resume stay in the pipeline, on one machine, so no executor can write an
episode twice.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from nex_core.gap.config import GapConfig
from nex_core.gap.plan import Episode
from nex_core.gap.worker import EpisodeResult, Worker

if TYPE_CHECKING:
    from nex_core.gap.stored import StoredResult

Emit = Callable[["EpisodeResult | StoredResult"], Awaitable[None]]
"""Takes an episode's trajectory, or its stored line verified where it ran
(``nex_core.gap.stored``: the multi-process executors send those)."""


class Executor(ABC):
    """Runs the pending episodes of a config."""

    name: str = "executor"

    @abstractmethod
    async def execute(
        self, config: GapConfig, episodes: Iterator[Episode], emit: Emit
    ) -> dict[str, Any]:
        """Run every episode, ``await emit(result)`` for each; return stats such as
        ``{"mcp_restarts": {server: n}}``."""


class LocalExecutor(Executor):
    """Asyncio on this machine: ``max_in_flight`` episodes at once, each model endpoint behind
    its own semaphore, MCP servers shared by all episodes."""

    name = "local"

    def __init__(self, max_in_flight: int | None = None) -> None:
        self.max_in_flight = max_in_flight

    async def execute(
        self, config: GapConfig, episodes: Iterator[Episode], emit: Emit
    ) -> dict[str, Any]:
        worker = Worker(config)
        lanes = self.max_in_flight or worker.max_in_flight
        try:
            await run_bounded(worker, episodes, emit, lanes)
        finally:
            await worker.aclose()
        return {"mcp_restarts": dict(worker.pool.deaths), "lanes": lanes}


async def run_bounded(worker: Worker, episodes: Iterator[Episode], emit: Emit, lanes: int) -> None:
    """``lanes`` tasks pull from one iterator: memory stays flat however many episodes there are."""

    async def lane() -> None:
        for episode in episodes:  # a shared iterator: each episode goes to one lane
            await emit(await worker.run(episode))

    tasks: list[asyncio.Task[None]] = []
    try:
        for i in range(max(1, lanes)):
            tasks.append(asyncio.create_task(lane(), name=f"gap-lane-{i}"))
            # One lane starts per event-loop pass (see ``start_in_turn``).
            await start_in_turn()
        await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def start_in_turn() -> None:
    """Yield one event-loop pass between two episodes' starts.

    Why: an episode runs on its own until its first request waits for the network (the record
    started, the request built, a connection opening). Started all at once, the first wave of
    a run -- every lane, twice the endpoint's concurrency -- did all of that in one pass of the
    loop before any connection's completion was read, so no request went out until the last
    lane's pre-request work was done (measured, c128, 1,500 episodes: the first request's
    send-to-answer 164 ms, connects 41-85 ms, the 128th request out 35-123 ms after the start,
    by the machine's load). One start per pass lets the loop read the completed connects and
    send their requests in between: the first wave goes out at the rate its work allows, and
    its answers come back spread the same way. Later episodes start one by one anyway (each
    when a lane frees), so this costs one pass per lane, once per run."""
    await asyncio.sleep(0)
