"""MCP servers shared by a worker's episodes, restarted when they die.

:class:`SupervisedPool` is the runtime's :class:`~nex_core.runtime.mcp.MCPPool` with two
additions. When a call fails because the server's connection is gone (the process died, the
HTTP stream broke), the server is dropped from the pool and the next call starts it again. And
every episode whose tool call found its server down — dead mid-call, failed to (re)start, too
slow to start — is told through :func:`incidents`: the pipeline then records that episode as
failed with the reason, even if the agent went on after the tool error, so it is never accepted.
Each death and each failed start counts in ``deaths`` (the report's ``mcp_restarts``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from nex_core.errors import ToolUnavailableError
from nex_core.runtime.mcp import MCPPool, MCPToolError
from nex_core.runtime.mcp_start import describe


@dataclass(frozen=True)
class Incident:
    """A server being down, as one episode saw it."""

    kind: str
    """``MCPServerDied`` (lost mid-call) or ``ToolUnavailableError`` (did not start)."""
    message: str


_incidents: ContextVar[list[Incident] | None] = ContextVar("nex_gap_mcp_incidents", default=None)


class MCPServerDied(ToolUnavailableError):
    """An MCP server's connection broke during a call; the server will be restarted."""


@contextlib.contextmanager
def incidents() -> Iterator[list[Incident]]:
    """Collect the server failures that the code inside (one episode) ran into."""
    seen: list[Incident] = []
    token = _incidents.set(seen)
    try:
        yield seen
    finally:
        _incidents.reset(token)


def _note(incident: Incident) -> None:
    seen = _incidents.get()
    if seen is not None:
        seen.append(incident)


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
    """A pool whose servers come back after they die; counts deaths and failed starts."""

    def __init__(self, servers: dict[str, Any], **options: Any) -> None:
        super().__init__(servers, **options)
        self.deaths: dict[str, int] = {}
        """Per server: times it died during a call or failed to (re)start."""
        self._generation: dict[str, int] = {}
        self._closing: set[asyncio.Task[None]] = set()

    async def session(self, name: str) -> Any:
        try:
            return await super().session(name)
        except ToolUnavailableError as exc:
            _note(Incident("ToolUnavailableError", str(exc)))
            raise

    def _start_failed(self, name: str, error: ToolUnavailableError) -> None:
        self.deaths[name] = self.deaths.get(name, 0) + 1

    async def call(
        self, server: str, tool: str, arguments: dict[str, Any], timeout: float | None = None
    ) -> Any:
        await self.session(server)
        generation = self._generation.get(server, 0)
        try:
            return await super().call(server, tool, arguments, timeout)
        except (MCPToolError, ToolUnavailableError, TimeoutError):
            raise
        except Exception as exc:
            if not _is_connection_loss(exc):
                raise
            await self._drop(server, generation)
            reason = f"MCP server '{server}' died during '{tool}': {describe(exc)}"
            _note(Incident("MCPServerDied", reason))
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
