"""The run's output file: append-only JSONL, group-committed, and scanned on resume.

Durability: a finished episode is one line, written with one ``write`` and fsynced before the
episode counts as done. Lines are committed in groups (every line that finished while the last
fsync ran goes in the next one), so throughput does not pay one fsync per episode and the event
loop never blocks on the disk. A process killed at any instant leaves every committed line intact
and at most one torn line at the end, which the next scan skips and the sink starts after.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from nex_core.errors import OutputError, SpecError
from nex_core.trajectory.reader import BadLine, iter_trajectories
from nex_core.trajectory.schema import Trajectory
from nex_core.trajectory.sinks import JSONLSink


class DurableLog:
    """Appends lines from many tasks; ``append`` returns once the line is on disk."""

    def __init__(self, path: Path) -> None:
        try:
            self.sink = JSONLSink(path, fsync=True)
        except OSError as exc:
            raise OutputError.from_os_error(path, exc, "open") from None
        self.failure: OutputError | None = None
        """Set once a write failed: every later append fails with it (nothing is half-kept)."""
        self._queue: list[tuple[bytes, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.commits = 0

    async def append(self, line: bytes) -> None:
        """``line`` is one trajectory's stored form, as the serialiser made it (UTF-8 JSON)."""
        if self.failure is not None:
            raise self.failure
        if self._task is None:
            self._task = asyncio.create_task(self._commit_loop(), name="gap-durable-log")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((line, future))
        self._wake.set()
        await future

    async def _commit_loop(self) -> None:
        while not self._closed or self._queue:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue, []
            if not batch:
                continue
            try:
                data = b"\n".join(line for line, _ in batch) + b"\n"
                await asyncio.to_thread(self.sink.write_bytes, data)
                self.commits += 1
            except OSError as exc:  # a full disk, a read-only or vanished folder
                self.failure = OutputError.from_os_error(self.sink.path, exc)
                batch, self._queue = batch + self._queue, []
                for _, future in batch:
                    if not future.done():
                        future.set_exception(self.failure)
                return
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                raise
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def aclose(self) -> None:
        self._closed = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        self.sink.close()


@contextlib.contextmanager
def exclusive(output: Path) -> Iterator[None]:
    """One writer per output folder: a second run on the same folder fails at once."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        fd = os.open(output / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError.from_os_error(output, exc, "use the output folder") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SpecError(
                f"another nex gap run is writing to {output}; wait for it or use "
                "another output folder"
            ) from None
        yield
    finally:
        os.close(fd)


def scan(path: Path, on_trajectory: Callable[[Trajectory], None]) -> list[BadLine]:
    """Stream every trajectory in ``path`` to ``on_trajectory``; return the unreadable lines.

    A torn last line (a run killed mid-write) is expected and harmless: its episode was never
    committed and runs again.
    """
    bad: list[BadLine] = []
    if not path.exists():
        return bad
    for trajectory in iter_trajectories(path, on_error=bad.append):
        on_trajectory(trajectory)
    return bad
