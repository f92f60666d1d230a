"""The MCP side of one run of a graph built from a spec: sessions, schemas, calls.

MCP-bound tools are served by nex's own :class:`~nex_core.runtime.mcp.MCPPool`, as in the native
runtime: the pool shared by a batch (``use_shared_pool``) when one is active, else a pool of the
run's own, closed when the run ends. The pool's sessions belong to the event loop that started
them, so every call is made on that loop — directly under ``ainvoke``, or by handing the call to
the loop from the worker thread ``invoke`` runs tools in.

Tool schemas left out of the spec (``parameters: null``) are asked of the server before the
graph is built, and advertised exactly as the native runtime advertises them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from nex_core.errors import AdapterError
from nex_core.protocol.spec import AgentSpec, TeamSpec, ToolSpec
from nex_core.runtime.mcp import MCPPool
from nex_core.runtime.mcp_tools import MCPTools as CoreMCPTools
from nex_core.runtime.mcp_tools import pool_for_run, uses_mcp

__all__ = ["MCPTools", "mcp_for_run", "uses_mcp"]


class MCPTools(CoreMCPTools):
    """nex-core's MCP tools plus the loop that owns the pool's sessions, so calls made from
    ``invoke``'s worker threads are handed to that loop."""

    def __init__(self, pool: MCPPool, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(pool)
        self.loop = loop

    async def call(self, tool: ToolSpec, arguments: dict[str, Any], timeout: float | None) -> Any:
        """Call the tool on its server under ``timeout``, on the loop that owns the session."""
        return await self._on_loop(self._bounded(tool, arguments, timeout))

    def call_blocking(
        self, tool: ToolSpec, arguments: dict[str, Any], timeout: float | None
    ) -> Any:
        """:meth:`call` from a thread that is not running the run's loop (``invoke``)."""
        coro = self._bounded(tool, arguments, timeout)
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop or self.loop.is_closed():
            coro.close()
            why = "has ended" if self.loop.is_closed() else "is blocked by this synchronous call"
            raise AdapterError(
                f"MCP tool '{tool.name}' cannot run: the event loop that owns its MCP session "
                f"{why}; drive the graph with ainvoke/astream, or with invoke/stream from "
                "another thread while that loop runs"
            )
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def _on_loop(self, coro: Coroutine[Any, Any, Any]) -> Any:
        if asyncio.get_running_loop() is self.loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def _bounded(
        self, tool: ToolSpec, arguments: dict[str, Any], timeout: float | None
    ) -> Any:
        return await super().call(tool, arguments, timeout)


@contextlib.asynccontextmanager
async def mcp_for_run(spec: AgentSpec | TeamSpec) -> AsyncIterator[MCPTools]:
    """The MCP tools of one run of ``spec``: the shared pool if one is active, else a pool of
    the run's own that is closed when the block ends. Every agent's servers are added (a
    sub-agent may use the servers its ancestors declare)."""
    async with pool_for_run(spec) as pool:
        yield MCPTools(pool, asyncio.get_running_loop())
