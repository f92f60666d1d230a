"""A worker process of the ``processes`` executor: ``python -m nex_core.gap.proc_worker``.

It reads from stdin one line of set-up (the portable config, the descriptors of the shared
endpoint limits, the driver's import path), then one line per episode (``ID EPISODE``, the
episode as :meth:`~nex_core.gap.plan.Episode.to_wire` writes it), and runs each as it
arrives on its own event loop, under the shared limits. Each finished episode is one line on
stdout, ``ID SECONDS`` and the episode verified here in its stored form
(:mod:`nex_core.gap.stored`), after a first line ``ready`` once it is set up; the driver runs the
checks that need the whole run's state (dedup) and writes the line as it came. At the end
of stdin it finishes what it holds, closes its MCP servers and prints ``done STATS_JSON``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from typing import Any, BinaryIO

from nex_core.gap.config import GapConfig
from nex_core.gap.executor import start_in_turn
from nex_core.gap.plan import Episode
from nex_core.gap.processes import build_record_models
from nex_core.gap.shared_limits import SharedSemaphore
from nex_core.gap.stored import encode
from nex_core.gap.verify import checks_for_worker
from nex_core.gap.worker import Worker


async def serve(reader: asyncio.StreamReader, write: Any) -> None:
    setup = json.loads(await reader.readline())
    for entry in setup["sys_path"]:  # import-path tools resolve as they do in the driver
        if entry not in sys.path:
            sys.path.append(entry)
    worker = Worker(GapConfig.from_portable(setup["portable"]))
    for endpoint, fd in setup["limits"].items():
        worker._semaphores[endpoint] = SharedSemaphore(int(fd))
    checks, here = checks_for_worker(worker.config, int(setup["checks"]))
    if any(m.provider == "openai" for m in worker.config.models):
        # The SDK's import (a second of CPU) is start-up, before the first episode counts.
        import nex_core.models.openai_compat  # noqa: F401
    # The trajectory models are built on first use (defer_build): part of start-up, here.
    build_record_models()
    worker.prepare()
    # What exists now (modules, the SDK's types, specs: ~110,000 objects) stays out of the
    # cyclic collector while episodes run, as the driver's ``_settled_heap`` does for a local
    # run: each full collection otherwise walks all of it (measured: 4 of them in 2,000
    # one-call episodes, and every younger collection's walk grows with the heap).
    gc.freeze()
    ready = time.process_time()
    write(b"ready\n")
    running: set[asyncio.Task[None]] = set()

    async def one(ident: bytes, episode: Episode) -> None:
        result = await worker.run(episode)  # records the episode's own failures; never raises
        wire = await encode(checks, here, result)
        write(b"%s %r " % (ident, result.seconds) + wire + b"\n")

    first_wave = int(setup.get("lanes", 0))
    try:
        while line := await reader.readline():
            ident, _, text = line.rstrip(b"\n").partition(b" ")
            task = asyncio.create_task(one(ident, Episode.from_wire(text)))
            running.add(task)
            task.add_done_callback(running.discard)
            first_wave -= 1
            if first_wave >= 0:
                # The driver's first feed, a burst of ``lanes`` lines: one start per loop pass,
                # as ``run_bounded`` does, so the first requests go out while later lanes
                # start. Not later: with a pass per episode the workers' CPU per episode was
                # 8-15 % above main's at every point of a sweep (more passes: more, smaller
                # writes of the lines), and later lines come one by one as lanes free anyway.
                await start_in_turn()
        if running:
            await asyncio.gather(*running)
    finally:
        await worker.aclose()
    stats = {"mcp_restarts": dict(worker.pool.deaths), "cpu_s": time.process_time() - ready,
             "startup_cpu_s": ready}
    write(b"done " + json.dumps(stats).encode() + b"\n")


class _Lines:
    """Stdout, one ``write`` per event-loop pass: the lines of every episode that finished in
    that pass go out together. A write per line was a system call and a wake-up of the driver
    per episode (the pipe's reader), a share of both processes' CPU at a thousand a second;
    flushing at the end of the pass delays no line behind anything but its own pass."""

    def __init__(self, loop: asyncio.AbstractEventLoop, out: BinaryIO) -> None:
        self._loop = loop
        self._out = out
        self._pending: list[bytes] = []

    def __call__(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if self._pending:
            data, self._pending = b"".join(self._pending), []
            self._out.write(data)
            self._out.flush()


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 30)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    lines = _Lines(loop, sys.stdout.buffer)
    try:
        await serve(reader, lines)
    finally:
        lines.flush()  # ``done`` is the last line; it must be out before the process exits


if __name__ == "__main__":
    asyncio.run(main())
    # Everything is reported and closed (MCP servers, model clients, stdout flushed): skip the
    # interpreter's teardown of a heap that served thousands of episodes, which took the
    # driver's run 2 s more wall time under load, waiting for the workers to exit.
    os._exit(0)
