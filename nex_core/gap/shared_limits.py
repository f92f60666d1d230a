"""An endpoint's concurrency limit shared by worker processes: a semaphore in an eventfd.

Why an eventfd: the ``processes`` executor runs episodes in several processes, and one endpoint's
``concurrency`` must hold for all of them together. An eventfd in semaphore mode is a counter in
the kernel that every process holding the descriptor decrements (one ``read``) and increments
(one ``write``) without a lock or a server process, and it is a file descriptor, so an asyncio
loop waits for it with ``add_reader`` instead of blocking a thread or polling. Created with the
limit as its value, each read takes one slot and fails with ``EAGAIN`` when none is left.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from types import TracebackType


def new_limit(concurrency: int) -> int:
    """A fresh shared semaphore holding ``concurrency`` slots; its descriptor (inheritable, so
    pass it to the workers with ``pass_fds``)."""
    fd = os.eventfd(concurrency, os.EFD_SEMAPHORE | os.EFD_NONBLOCK)
    os.set_inheritable(fd, True)
    return fd


class SharedSemaphore:
    """``async with`` one slot of an eventfd semaphore; works as an ``asyncio.Semaphore`` does
    for :class:`~nex_core.gap.limits.LimitedModel`. One instance per process and event loop."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._watching: asyncio.AbstractEventLoop | None = None

    def _take(self) -> bool:
        try:
            os.eventfd_read(self.fd)
        except BlockingIOError:
            return False
        return True

    async def acquire(self) -> None:
        if not self._waiters and self._take():
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        if self._watching is None:
            # One reader per descriptor and loop (add_reader replaces an earlier one): it hands
            # slots to this process's waiters in order. Every process waiting is woken when a
            # slot frees; the one whose read succeeds has it, the others wait on.
            loop.add_reader(self.fd, self._readable)
            self._watching = loop
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot came just as the wait was cancelled: give it back
            raise

    def _readable(self) -> None:
        while self._waiters:
            if self._waiters[0].done():  # cancelled while waiting
                self._waiters.popleft()
                continue
            if not self._take():
                return
            self._waiters.popleft().set_result(None)
        if self._watching is not None:
            self._watching.remove_reader(self.fd)
            self._watching = None

    def release(self) -> None:
        os.eventfd_write(self.fd, 1)

    def locked(self) -> bool:
        """Whether no slot is free right now (as ``asyncio.Semaphore.locked``; a peek that takes
        and returns a slot, so only for diagnostics)."""
        if self._take():
            self.release()
            return False
        return True

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
