"""MCP servers shared by a worker's episodes, restarted when they die.

:class:`SupervisedPool` is the runtime's :class:`~nex_core.runtime.mcp.MCPPool` with one addition:
when a call fails because the server's connection is gone (the process died, the HTTP stream
broke), the server is dropped from the pool, the next call starts it again, and the episode that
saw the failure is told through :func:`incidents` — the pipeline then records that episode as
failed with the reason, even if the agent went on after the tool error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from nex_core.runtime.mcp import MCPPool, MCPToolError

_incidents: ContextVar[list[str] | None] = ContextVar("nex_gap_mcp_incidents", default=None)


class MCPServerDied(MCPToolError):
    """An MCP server's connection broke during a call; the server will be restarted."""


@contextlib.contextmanager
def incidents() -> Iterator[list[str]]:
    """Collect the server deaths that the code inside (one episode) ran into."""
    seen: list[str] = []
    token = _incidents.set(seen)
    try:
        yield seen
    finally:
        _incidents.reset(token)


def _is_connection_loss(exc: BaseException) -> bool:
    import anyio

    if isinstance(exc, anyio.ClosedResourceError | anyio.BrokenResourceError | anyio.EndOfStream):
        return True
    if isinstance(exc, ConnectionError | EOFError | BrokenPipeError):
        return True
    try:
        from mcp.shared.exceptions import MCPError
    except ImportError:  # pragma: no cover - older SDKs
        return False
    return isinstance(exc, MCPError) and "connection closed" in str(exc).lower()


class SupervisedPool(MCPPool):
    """A pool whose servers come back after they die; counts restarts per server."""

    def __init__(self, servers: dict[str, Any]) -> None:
        super().__init__(servers)
        self.deaths: dict[str, int] = {}
        self._generation: dict[str, int] = {}
        self._closing: set[asyncio.Task[None]] = set()

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> Any:
        await self.session(server)
        generation = self._generation.get(server, 0)
        try:
            return await super().call(server, tool, arguments)
        except MCPToolError:
            raise
        except Exception as exc:
            if not _is_connection_loss(exc):
                raise
            await self._drop(server, generation)
            reason = f"MCP server '{server}' died during '{tool}': {type(exc).__name__}: {exc}"
            seen = _incidents.get()
            if seen is not None:
                seen.append(reason)
            raise MCPServerDied(f"{reason}; it is being restarted") from exc

    async def _drop(self, server: str, generation: int) -> None:
        """Forget a dead server once (concurrent callers saw the same death)."""
        async with self._lock:
            if self._generation.get(server, 0) != generation or server not in self._servers:
                return
            dead = self._servers.pop(server)
            self._generation[server] = generation + 1
            self.deaths[server] = self.deaths.get(server, 0) + 1
        # Closing the dead transport must not hold up the episode that noticed.
        task = asyncio.create_task(dead.stop())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        await super().aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
