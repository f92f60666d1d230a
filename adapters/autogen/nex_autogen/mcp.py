"""The MCP side of one run of an AutoGen system built from a spec.

AutoGen runs tools as coroutines on the run's event loop, the loop the pool's sessions belong
to, so nex-core's :class:`~nex_core.runtime.mcp_tools.MCPTools` serves them as they are.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.runtime.mcp_tools import MCPTools, pool_for_run, uses_mcp

__all__ = ["MCPTools", "mcp_for_run", "uses_mcp"]


@contextlib.asynccontextmanager
async def mcp_for_run(spec: AgentSpec | TeamSpec) -> AsyncIterator[MCPTools]:
    """The MCP tools of one run of ``spec`` (see ``nex_core.runtime.mcp_tools``)."""
    async with pool_for_run(spec) as pool:
        yield MCPTools(pool)
