"""A worker process of the ``processes`` executor: ``python -m nex_core.gap.proc_worker``.

It reads from stdin one line of set-up (the portable config, the descriptors of the shared
endpoint limits, the driver's import path), then one line per episode (``ID EPISODE_JSON``), and
runs each as it arrives on its own event loop, under the shared limits. Each finished episode is
one line on stdout, ``ID SECONDS`` and the episode verified here in its stored form
(:mod:`nex_core.gap.stored`), after a first line ``ready`` once it is set up; the driver runs the
checks that need the whole run's state (dedup) and writes the line as it came. At the end
of stdin it finishes what it holds, closes its MCP servers and prints ``done STATS_JSON``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from nex_core.gap.config import GapConfig
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
    ready = time.process_time()
    write(b"ready\n")
    running: set[asyncio.Task[None]] = set()

    async def one(ident: str, episode: Episode) -> None:
        result = await worker.run(episode)  # records the episode's own failures; never raises
        wire = await encode(checks, here, result)
        write(b"%s %r " % (ident.encode(), result.seconds) + wire + b"\n")

    try:
        while line := await reader.readline():
            ident, _, text = line.decode().partition(" ")
            task = asyncio.create_task(one(ident, Episode.from_json(text)))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.gather(*running)
    finally:
        await worker.aclose()
    stats = {"mcp_restarts": dict(worker.pool.deaths), "cpu_s": time.process_time() - ready,
             "startup_cpu_s": ready}
    write(b"done " + json.dumps(stats).encode() + b"\n")


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 30)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout.buffer

    def write(data: bytes) -> None:
        # One write and a flush per line: the driver reads lines as they come.
        out.write(data)
        out.flush()

    await serve(reader, write)


if __name__ == "__main__":
    asyncio.run(main())
    # Everything is reported and closed (MCP servers, model clients, stdout flushed): skip the
    # interpreter's teardown of a heap that served thousands of episodes, which took the
    # driver's run 2 s more wall time under load, waiting for the workers to exit.
    os._exit(0)
