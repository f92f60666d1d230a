"""What a module written by ``nex convert --to langgraph`` imports besides LangGraph itself.

Generated code builds its graphs with LangGraph's own constructors (``create_agent``,
``create_swarm``, ``create_supervisor``); these helpers are the LangChain tools it hands them,
each with the nex protocol's semantics, built by the same functions ``nex run --backend
langgraph`` builds with, so the program records the trajectory ``nex run`` records:

- :func:`import_tool` — a Python function found by its import path with the resolver ``nex run``
  uses (``nex_core.runtime.tools.function_of``), offered with the spec's JSON Schema; a binding
  that cannot be resolved fails when the tool is built, naming the tool;
- :func:`agent_tool` — an agent called as a tool (the child gets only ``{"task": ...}``);
- :func:`handoff_tool` — a ``transfer_to_<agent>`` tool that moves a swarm's active agent;
- :func:`nex_chat_model` — a nex model (scripted, replay, OpenAI-compatible) as a LangChain chat
  model, bridged as the adapter bridges it;
- :class:`ProtocolMiddleware` — the ``create_agent`` middleware that gives an agent the
  protocol's loop (errors fed back, unknown tools, ``max_steps``, model retries);
- :class:`StructuredOutputMiddleware` — an agent's ``output_schema``: the answer is checked
  against it and an invalid one fed back, as the native runtime does;
- :func:`mcp_servers` — nex's MCP pool (the servers and sessions ``nex run`` uses), whose
  :meth:`MCPServers.tool` makes a tool served by one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from nex_core.errors import NexError, ToolBindingError
from nex_core.models.base import ChatModel
from nex_core.protocol.spec import (
    AgentSpec,
    ContextMode,
    MCPServerSpec,
    ModelSettings,
    SubAgentSpec,
    ToolSpec,
)
from nex_core.runtime.mcp_tools import pool_for_run
from nex_core.runtime.tools import bound_import_tool, bound_mcp_tool
from nex_langgraph import _tools
from nex_langgraph._bridge import bridge_model
from nex_langgraph._build import EXTENSION
from nex_langgraph._mcp import MCPTools
from nex_langgraph._middleware import ProtocolMiddleware
from nex_langgraph._structured import StructuredOutputMiddleware

__all__ = [
    "MCPServers",
    "ProtocolMiddleware",
    "StructuredOutputMiddleware",
    "ToolBindingError",
    "agent_tool",
    "handoff_tool",
    "import_tool",
    "mcp_servers",
    "nex_chat_model",
]


def import_tool(
    binding: str,
    *,
    name: str,
    description: str = "",
    parameters: dict[str, Any] | None = None,
    timeout_s: float | None = None,
    return_direct: bool = False,
) -> BaseTool:
    """A ``StructuredTool`` calling the function at ``binding`` (``package.module:function``).

    The model is offered ``parameters`` as given; arguments are validated against it, the call
    is bounded by ``timeout_s``, the result reaches the model as text and an exception as the
    protocol's ``Error: <type>: <message>`` (through ``ProtocolMiddleware``).
    """
    spec = bound_import_tool(binding, name=name, description=description, parameters=parameters)
    return _tools.function_tool(spec, timeout_s=timeout_s, stop=return_direct)


def nex_chat_model(
    model: ChatModel, agent: str, settings: ModelSettings, *, parallel_tool_calls: bool = True
) -> BaseChatModel:
    """The nex ``model`` as the LangChain chat model of ``agent``, sending the spec's sampling
    ``settings`` with every request, as ``nex run --backend langgraph`` bridges it."""
    params = settings.sampling()
    if not parallel_tool_calls:
        params["parallel_tool_calls"] = False
    bridged = bridge_model(model, agent=agent, params=params)
    # Where conversion back to a spec finds the settings (as on graphs the adapter builds).
    bridged.metadata = {
        EXTENSION: {"model": settings.model_dump(mode="json", exclude_defaults=True)}
    }
    return bridged


def _sub_agent(agent: str, name: str | None, description: str, mode: ContextMode) -> SubAgentSpec:
    # The tool's description is the child's own as far as conversion back to a spec can tell.
    child = AgentSpec(name=agent, description=description)
    return SubAgentSpec(mode=mode, agent=child, tool_name=name)


def agent_tool(graph: Any, *, agent: str, description: str, name: str | None = None) -> BaseTool:
    """The agent ``graph`` (named ``agent``) as a tool taking ``{"task": string}``: the child
    receives only that message and its final answer is the result (no answer fails the call)."""
    sub = _sub_agent(agent, name, description, ContextMode.TOOL)
    return _tools.subagent_tool(sub, graph, description)


def handoff_tool(agent: str, *, description: str, name: str | None = None) -> BaseTool:
    """A tool that hands the conversation over to the swarm member ``agent``."""
    sub = _sub_agent(agent, name, description, ContextMode.HANDOFF)
    return _tools.handoff_tool(sub, description)


class MCPServers:
    """The MCP servers of one run, started by nex's pool as ``nex run`` starts them."""

    def __init__(self, tools: MCPTools, servers: dict[str, MCPServerSpec]) -> None:
        self._tools = tools
        self._servers = servers

    async def discover(self, schemas: Mapping[str, Sequence[str]]) -> None:
        """Ask each server for the schemas of its tools named in ``schemas`` (starting it)."""
        for server, names in schemas.items():
            for name in names:
                spec = self._spec(name, server, None, "", None)
                try:
                    await self._tools.discover(AgentSpec(name="mcp", tools=[spec]))
                except Exception as exc:
                    raise ToolBindingError(
                        f"tool '{name}' cannot be bound: MCP server '{server}': {exc}"
                    ) from None

    def _spec(
        self,
        name: str,
        server: str,
        tool: str | None,
        description: str,
        parameters: dict[str, Any] | None,
    ) -> ToolSpec:
        return bound_mcp_tool(
            self._servers,
            name=name,
            server=server,
            tool=tool,
            description=description,
            parameters=parameters,
        )

    def tool(
        self,
        name: str,
        *,
        server: str,
        tool: str | None = None,
        description: str = "",
        parameters: dict[str, Any] | None = None,
        timeout_s: float | None = None,
        return_direct: bool = False,
    ) -> BaseTool:
        """A ``StructuredTool`` for tool ``tool`` (default ``name``) of ``server``; with no
        ``parameters``, the schema the server gave when the block started."""
        spec = self._spec(name, server, tool, description, parameters)
        try:
            return _tools.mcp_tool(spec, self._tools, timeout_s=timeout_s, stop=return_direct)
        except NexError as exc:
            raise ToolBindingError(f"tool '{name}' cannot be bound: {exc}") from None


@contextlib.asynccontextmanager
async def mcp_servers(
    servers: Mapping[str, Mapping[str, Any]], *, schemas: Mapping[str, Sequence[str]] | None = None
) -> AsyncIterator[MCPServers]:
    """nex's MCP pool over ``servers`` (as a spec's ``mcp_servers`` declares them) for the block,
    with the schemas of the tools listed in ``schemas`` (server → tool names) asked first. A
    pool shared by a batch (``use_shared_pool``) is used when one is active."""
    specs = {key: MCPServerSpec.model_validate(dict(value)) for key, value in servers.items()}
    async with pool_for_run(AgentSpec(name="mcp", mcp_servers=specs)) as pool:
        found = MCPServers(MCPTools(pool, asyncio.get_running_loop()), specs)
        await found.discover(schemas or {})
        yield found
