"""MCP-bound tools of one run of a spec, for runners other than the native loop.

Framework adapters that build a spec serve its MCP tools through nex's own :class:`MCPPool`, as
the native runtime does: the pool shared by a batch (``use_shared_pool``) when one is active, else a
pool of the run's own, closed when the run ends. Tool schemas the spec leaves out
(``parameters: null``) are asked of the servers before the framework objects are built, and
advertised exactly as the native runtime advertises them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from nex_core.errors import AdapterError
from nex_core.protocol.spec import AgentSpec, MCPBinding, TeamSpec, ToolSpec
from nex_core.runtime.mcp import MCPPool, shared_pool


def uses_mcp(spec: AgentSpec | TeamSpec) -> bool:
    """Whether any agent of ``spec`` has a tool served by an MCP server."""
    return any(isinstance(t.binding, MCPBinding) for a in spec.walk() for t in a.tools)


def mcp_target(tool: ToolSpec) -> tuple[str, str]:
    """(server, tool name on that server) of an MCP-bound tool."""
    binding = tool.binding
    assert isinstance(binding, MCPBinding)
    return binding.server, binding.tool or tool.name


class MCPTools:
    """The pool one run calls its MCP tools through, and the schemas its servers reported."""

    def __init__(self, pool: MCPPool) -> None:
        self.pool = pool
        self._schemas: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}

    async def discover(self, spec: AgentSpec | TeamSpec) -> None:
        """Ask the servers for every schema the spec leaves out (starting those servers)."""
        for agent in spec.walk():
            for tool in agent.tools:
                if isinstance(tool.binding, MCPBinding) and tool.parameters is None:
                    target = mcp_target(tool)
                    if target not in self._schemas:
                        self._schemas[target] = await self.pool.tool_schema(*target)

    def advertised(self, tool: ToolSpec) -> tuple[str, dict[str, Any]]:
        """Description and parameters the model is offered: the spec's, else the server's (the
        spec's description wins when it has one, as natively)."""
        if tool.parameters is not None:
            return tool.description, tool.parameters
        found = self._schemas.get(mcp_target(tool))
        if found is None:
            raise AdapterError(
                f"tool '{tool.name}': its schema was not asked of MCP server "
                f"'{mcp_target(tool)[0]}' before building (call MCPTools.discover first)"
            )
        description, schema = found
        return tool.description or description, schema

    async def call(self, tool: ToolSpec, arguments: dict[str, Any], timeout: float | None) -> Any:
        """Call the tool on its server under ``timeout`` (which bounds the call, not the
        server's start); errors are the tool's (``MCPToolError``), the server's being down
        (``ToolUnavailableError``) or ``TimeoutError``, as natively."""
        try:
            return await self.pool.call(*mcp_target(tool), arguments, timeout)
        except TimeoutError:
            raise TimeoutError(f"tool '{tool.name}' timed out after {timeout} s") from None


@contextlib.asynccontextmanager
async def pool_for_run(spec: AgentSpec | TeamSpec) -> AsyncIterator[MCPPool]:
    """The shared pool if one is active, else a pool of the run's own that is closed when the
    block ends. Every agent's servers are added (a sub-agent may use its ancestors' servers)."""
    given = shared_pool()
    pool = given if given is not None else MCPPool({})
    for agent in spec.walk():
        pool.add(agent.mcp_servers)
    try:
        yield pool
    finally:
        if given is None:
            await pool.aclose()
