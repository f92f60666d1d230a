"""What a module written by ``nex convert --to openai-agents`` imports besides the SDK itself.

Generated code builds its agents with the SDK's own ``Agent``; these helpers make the tools and
handoffs it hands them, with the same functions ``nex run --backend openai-agents`` builds with,
so the program records the trajectory ``nex run`` records:

- :func:`import_tool` — a Python function found by its import path with the resolver ``nex run``
  uses, resolved when the tool is built (a binding that cannot be resolved fails there, naming
  the tool), offered with the spec's JSON Schema;
- :func:`agent_tool` — an agent called as a tool on ``{"task": ...}``;
- :func:`protocol_handoff` — a handoff with the protocol's transfer message;
- :func:`chat_model` — the model an agent runs on: a nex model bridged, else the SDK's
  Chat Completions model on the spec's endpoint;
- :func:`mcp_servers` — nex's MCP pool (the servers and sessions ``nex run`` uses), whose
  :meth:`MCPServers.tool` makes a tool served by one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from agents import Agent, FunctionTool, Handoff
from agents.models.interface import Model

from nex_core.errors import NexError, ToolBindingError
from nex_core.models.base import ChatModel
from nex_core.protocol.secrets import resolve_optional
from nex_core.protocol.spec import AgentSpec, MCPServerSpec
from nex_core.runtime.mcp_tools import MCPTools, pool_for_run
from nex_core.runtime.tools import (
    SUBAGENT_PARAMETERS,
    ToolHandle,
    bound_import_tool,
    bound_mcp_tool,
)
from nex_core.trajectory.schema import ToolSchema
from nex_openai_agents.bridge import NexModel
from nex_openai_agents.build import agent_runner, function_runner, protocol_handoff, protocol_tool
from nex_openai_agents.structured import SpecOutputSchema

__all__ = [
    "MCPServers",
    "SpecOutputSchema",
    "ToolBindingError",
    "agent_tool",
    "chat_model",
    "handoff",
    "import_tool",
    "mcp_servers",
    "protocol_handoff",
]


def import_tool(
    binding: str,
    *,
    name: str,
    description: str = "",
    parameters: dict[str, Any] | None = None,
    timeout_s: float | None = 60.0,
    serial: asyncio.Lock | None = None,
    needs_approval: bool = False,
) -> FunctionTool:
    """A tool calling the function at ``binding`` (``package.module:function``): arguments
    validated against ``parameters``, the call bounded by ``timeout_s``, an exception fed back
    as ``Error: <type>: <message>``; with ``serial``, one call at a time; ``needs_approval``
    as the SDK's (the run pauses with ``result.interruptions``)."""
    spec = bound_import_tool(binding, name=name, description=description, parameters=parameters)
    schema = ToolSchema(name=name, description=description, parameters=spec.parameters or {})
    handle = ToolHandle(kind="function", schema=schema, timeout_s=timeout_s, tool=spec)
    return protocol_tool(
        name,
        description,
        schema.parameters,
        function_runner(handle),
        serial,
        needs_approval=needs_approval,
    )


def agent_tool(child: Agent, *, name: str, description: str, max_turns: int) -> FunctionTool:
    """``child`` as a tool taking ``{"task": string}``."""
    runner = agent_runner(child, max_turns)
    return protocol_tool(name, description, dict(SUBAGENT_PARAMETERS), runner)


def handoff(child: Agent, *, name: str, description: str) -> Handoff[Any, Any]:
    return protocol_handoff(child, name, description)


def chat_model(
    model: ChatModel | None,
    agent: str,
    *,
    model_id: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    **sampling: Any,
) -> Model:
    """The model ``agent`` runs on. With a nex ``model`` (``--model scripted:FILE``,
    ``openai:MODEL``) it is bridged; otherwise the SDK's Chat Completions model on ``base_url``
    (``${env:NAME}`` references read from the environment; OPENAI_API_KEY when none is named)."""
    if model is not None:
        return NexModel(model, agent=agent, settings=sampling)
    from agents import OpenAIChatCompletionsModel
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=resolve_optional(base_url), api_key=resolve_optional(api_key))
    return OpenAIChatCompletionsModel(model=model_id or "gpt-4o-mini", openai_client=client)


class MCPServers:
    """The MCP servers of one run, started by nex's pool as ``nex run`` starts them."""

    def __init__(self, tools: MCPTools, servers: dict[str, MCPServerSpec]) -> None:
        self._tools = tools
        self._servers = servers

    async def discover(self, schemas: Mapping[str, Sequence[str]]) -> None:
        """Ask each server for the schemas of its tools named in ``schemas`` (starting it)."""
        for server, names in schemas.items():
            for name in names:
                spec = bound_mcp_tool(self._servers, name=name, server=server)
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
        timeout_s: float | None = 60.0,
        serial: asyncio.Lock | None = None,
        needs_approval: bool = False,
    ) -> FunctionTool:
        """Tool ``tool`` (default ``name``) of ``server``; with no ``parameters``, the schema the
        server gave when the block started (the spec's description wins when it has one)."""
        spec = bound_mcp_tool(
            self._servers,
            name=name,
            server=server,
            tool=tool,
            description=description,
            parameters=parameters,
        )
        try:
            advertised, schema = self._tools.advertised(spec)
        except NexError as exc:
            raise ToolBindingError(f"tool '{name}' cannot be bound: {exc}") from None
        tools = self._tools

        async def call(ctx: Any, arguments: dict[str, Any]) -> Any:
            return await tools.call(spec, arguments, timeout_s)

        return protocol_tool(name, advertised, schema, call, serial, needs_approval=needs_approval)


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
