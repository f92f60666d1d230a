"""What a module written by ``nex convert --to autogen`` imports besides AutoGen itself.

Generated code builds its agents and teams with AutoGen's own constructors (``AssistantAgent`` —
as :class:`ProtocolAssistantAgent`, its subclass with the protocol's handoff history and team
view —, ``Swarm``, ``RoundRobinGroupChat``, ``SelectorGroupChat``); these helpers are the tools it
hands them, each made by the classes ``nex run --backend autogen`` builds with, so the program
records the trajectory ``nex run`` records:

- :func:`import_tool` — a Python function found by its import path with the resolver ``nex run``
  uses (``nex_core.runtime.tools.function_of``), resolved when the tool is built (a binding that
  cannot be resolved fails there, naming the tool), offered with the spec's JSON Schema;
- :func:`agent_tool` — an agent (or its swarm) called as a tool, a fresh child for every call;
- :func:`mcp_servers` — nex's MCP pool (the servers and sessions ``nex run`` uses), whose
  :meth:`MCPServers.tool` makes a tool served by one of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from autogen_agentchat.teams import BaseGroupChat
from autogen_core.tools import BaseTool
from pydantic import BaseModel

from nex_autogen.agents import ProtocolAssistantAgent
from nex_autogen.approval import ApprovalPauseMessage
from nex_autogen.build import SELECTOR_PROMPT, answered, paused_turn
from nex_autogen.mcp import MCPTools
from nex_autogen.tools import (
    MCPTool,
    ProtocolAgentTool,
    ProtocolHandoff,
    ProtocolTeamTool,
    SchemaTool,
    SerialWorkbench,
)
from nex_core.errors import NexError, ToolBindingError
from nex_core.protocol.output_model import model_from_schema
from nex_core.protocol.spec import AgentSpec, MCPServerSpec, ToolSpec
from nex_core.runtime.mcp_tools import pool_for_run
from nex_core.runtime.tools import bound_import_tool, bound_mcp_tool

__all__ = [
    "SELECTOR_PROMPT",
    "ApprovalPauseMessage",
    "MCPServers",
    "ProtocolAssistantAgent",
    "ProtocolHandoff",
    "SerialWorkbench",
    "ToolBindingError",
    "agent_tool",
    "answered",
    "import_tool",
    "mcp_servers",
    "output_type",
    "paused_turn",
]


def output_type(schema: dict[str, Any], name: str | None = None) -> type[BaseModel]:
    """The pydantic model an agent's ``output_content_type`` is: its JSON Schema is ``schema``
    as written, and an answer is checked against it as the native runtime checks it."""
    return model_from_schema(schema, name)


def import_tool(
    binding: str,
    *,
    name: str,
    description: str = "",
    parameters: dict[str, Any] | None = None,
    timeout_s: float | None = None,
    approval: bool = False,
) -> BaseTool[Any, Any]:
    """A tool calling the function at ``binding`` (``package.module:function``).

    The model is offered ``parameters`` as given; arguments are validated against it, the call
    is bounded by ``timeout_s``, the result reaches the model as text and an exception as the
    protocol's ``Error: <type>: <message>``. With ``approval`` the agent stops before a model
    answer that calls it runs (``approval: required``; see ``nex_autogen.approval``).
    """
    spec = bound_import_tool(binding, name=name, description=description, parameters=parameters)
    return SchemaTool(_gated(spec, approval), timeout_s=timeout_s)


def _gated(spec: ToolSpec, approval: bool) -> ToolSpec:
    return spec.model_copy(update={"approval": "required"}) if approval else spec


def agent_tool(
    build_child: Callable[[], Any], *, name: str, description: str
) -> BaseTool[Any, Any]:
    """Agent-as-tool over what ``build_child`` returns (an agent, or a swarm when the child hands
    off): the child receives only ``{"task": ...}`` and a fresh one answers every call."""
    runner = build_child()
    if isinstance(runner, BaseGroupChat):
        return ProtocolTeamTool(runner, name=name, description=description, factory=build_child)
    return ProtocolAgentTool(runner, name=name, description=description, factory=build_child)


class MCPServers:
    """The MCP servers of one run, started by nex's pool as ``nex run`` starts them."""

    def __init__(self, tools: MCPTools, servers: dict[str, MCPServerSpec]) -> None:
        self._tools = tools
        self._servers = servers

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

    def tool(
        self,
        name: str,
        *,
        server: str,
        tool: str | None = None,
        description: str = "",
        parameters: dict[str, Any] | None = None,
        timeout_s: float | None = None,
        approval: bool = False,
    ) -> BaseTool[Any, Any]:
        """A tool for tool ``tool`` (default ``name``) of ``server``; with no ``parameters``, the
        schema the server gave when the block started; ``approval`` as for :func:`import_tool`."""
        spec = _gated(self._spec(name, server, tool, description, parameters), approval)
        try:
            return MCPTool(spec, self._tools, timeout_s=timeout_s)
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
        found = MCPServers(MCPTools(pool), specs)
        await found.discover(schemas or {})
        yield found
