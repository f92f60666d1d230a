"""Where trajectories go: an append-only JSONL file (the default) or memory.

Each trajectory is one line, written with a single ``write`` call, flushed and fsynced before
``write`` returns: a crash loses at most the trajectory being written, never an earlier one, and
a torn last line is reported and skipped by the reader. Writers in several threads share fsyncs
(group commit): a line whose write an fsync already covered returns without another one.
"""

from __future__ import annotations

import os
import threading
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nex_core.hookspecs import hookimpl

_allocate_lock = threading.Lock  # a bare lock: waiting on it costs no Python frames
_LEAD_ROUNDS = 8
"""The most fsyncs a leader makes for others before it hands the lead on and returns."""

if TYPE_CHECKING:  # annotations only: this module is a plugin nex loads at start-up
    from nex_core.trajectory.schema import Trajectory


@runtime_checkable
class TrajectorySink(Protocol):
    def write(self, trajectory: Trajectory) -> None: ...

    def close(self) -> None: ...


class MemorySink:
    """Keeps trajectories in a list (tests, notebooks)."""

    def __init__(self) -> None:
        self.trajectories: list[Trajectory] = []
        self._lock = threading.Lock()

    def write(self, trajectory: Trajectory) -> None:
        with self._lock:
            self.trajectories.append(trajectory)

    def close(self) -> None:
        pass


class JSONLSink:
    """Appends one trajectory per line to a file; safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fsync = fsync
        self._lock = threading.Lock()
        # Group commit: lines written so far, lines an fsync has covered, one fsync at a time.
        self._sync_lock = threading.Lock()
        self._written = 0
        self._synced = 0
        self._leading = False  # a writer is fsyncing for everyone (see _sync_through)
        self._waiters: list[tuple[int, Any]] = []  # (line, lock its writer blocks on)
        # O_APPEND makes each write land at the end even with several writers.
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._ensure_line_start()

    def _ensure_line_start(self) -> None:
        # A previous writer killed mid-line leaves a torn tail; start on a fresh line so the next
        # record stays readable (the reader reports the torn one).
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        with open(self.path, "rb") as f:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                os.write(self._fd, b"\n")

    def write(self, trajectory: Trajectory) -> None:
        # The stored form (Trajectory.to_json) as the serialiser's bytes: no str in between.
        from nex_core.trajectory.compact import dumps_bytes

        self._write(dumps_bytes(trajectory) + b"\n")

    def write_line(self, line: str) -> None:
        self._write((line + "\n").encode("utf-8"))

    def write_bytes(self, data: bytes) -> None:
        """Append ``data``, whole lines each ending in a newline, in one write: lines another
        process serialised (GAP workers), written without a decode and encode in between."""
        self._write(data)

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._fd < 0:
                raise ValueError(f"sink for {self.path} is closed")
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._written += 1
            mine = self._written
        if self._fsync:
            self._sync_through(mine)

    def _sync_through(self, line: int) -> None:
        """Return once line number ``line`` is on disk.

        One writer at a time leads: it fsyncs, and one fsync covers every line written before it
        began. The others wait on a lock of their own, which the leader releases once an fsync
        covers their line. The leader keeps syncing while anyone waits, so between two fsyncs
        no thread has to take the GIL back only to start the next one (under a CPU-bound
        writer that wait is up to the interpreter's switch interval, 5 ms, per hand-off)."""
        while True:
            with self._lock:
                if self._synced >= line:
                    return
                if self._leading:
                    waiter = _allocate_lock()
                    waiter.acquire()
                    self._waiters.append((line, waiter))
                else:
                    self._leading = True
                    waiter = None
            if waiter is None:
                self._lead()
                return
            waiter.acquire()  # released by the leader: covered, or the leader failed

    def _lead(self) -> None:
        with self._sync_lock:  # close() waits for a leader's fsync before it closes the fd
            try:
                with self._lock:
                    fd, target = self._fd, self._written
                for rounds in count(1):
                    if self._synced < target:  # else close() synced every line meanwhile
                        if fd < 0:
                            raise ValueError(f"sink for {self.path} is closed")
                        os.fsync(fd)
                    with self._lock:
                        self._synced = max(self._synced, target)
                        waiting = self._waiters
                        self._waiters = [(n, w) for n, w in waiting if n > self._synced]
                        for n, w in waiting:
                            if n <= self._synced:
                                w.release()
                        if not self._waiters:
                            self._leading = False
                            return
                        if rounds == _LEAD_ROUNDS:  # the leader's own write has waited enough
                            self._leading = False
                            self._waiters.pop(0)[1].release()  # it retries, and leads
                            return
                        fd, target = self._fd, self._written
            except BaseException:
                with self._lock:  # the waiters retry: one of them leads, and fails alike
                    self._leading = False
                    for _, w in self._waiters:
                        w.release()
                    self._waiters = []
                raise

    def close(self) -> None:
        with self._sync_lock, self._lock:
            if self._fd >= 0:
                if self._fsync and self._synced < self._written:
                    os.fsync(self._fd)  # a writer between its write and its fsync
                    self._synced = self._written
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> JSONLSink:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_sink(ref: str, **options: Any) -> TrajectorySink:
    """A registered sink from ``NAME`` or ``NAME:TARGET`` (``jsonl:runs/t.jsonl``,
    ``otlp:http://127.0.0.1:4318``); an unknown name is a ``SpecError`` listing the known ones."""
    from nex_core.errors import SpecError
    from nex_core.plugins import get_plugin_manager

    name, _, target = ref.partition(":")
    factories = get_plugin_manager().merged("nex_sinks")
    if name not in factories:
        raise SpecError(f"unknown sink '{name}' (available: {', '.join(sorted(factories))})")
    try:
        sink: TrajectorySink = (
            factories[name](target, **options) if target or options else factories[name]()
        )
    except TypeError as exc:  # a sink that needs a target (a file) given none, a bad option
        raise SpecError(
            f"sink '{ref}': {exc} (write NAME:TARGET, e.g. jsonl:runs/t.jsonl)"
        ) from None
    return sink


@hookimpl
def nex_sinks() -> dict[str, Any]:
    return {"jsonl": JSONLSink, "memory": MemorySink}
