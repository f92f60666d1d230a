"""Agent Framework agents built from nex specs.

Each agent is a real ``agent_framework.Agent`` on a :class:`~nex_agent_framework.bridge.
NexChatClient`: the framework's own function-invocation loop, middleware and telemetry run; the
protocol's tool semantics come from :class:`~nex_agent_framework.tools.ProtocolMiddleware`.
Agents as tools are the framework's ``as_tool`` (nex's own when approval may pause inside:
:mod:`.nested`); a handoff is a tool whose successful call ends
the agent's turn, after which nex's driver (``nex_agent_framework.run``) gives the shared history
to the target, as the native runtime does.

``limits.max_steps`` is the function loop's ``max_iterations``: when it runs out, Agent
Framework asks the model once more with tools disabled; :class:`ProtocolRequests` stops that
request, so the run ends with ``max_steps`` after exactly ``max_steps`` model calls, as natively.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from agent_framework import Agent, ChatContext, ChatMiddleware, Content, Workflow

from nex_agent_framework.bridge import NexChatClient
from nex_agent_framework.messages import result_text
from nex_agent_framework.nested import asks_inside, pausing_agent_tool
from nex_agent_framework.structured import response_format_for, structured_agent_tool
from nex_agent_framework.tools import (
    ERROR_TYPE_KEY,
    MaxStepsReached,
    ProtocolMiddleware,
    agent_tool,
    fixed_reply_tool,
    function_tool,
)
from nex_core.errors import AdapterError
from nex_core.models.base import ChatModel
from nex_core.protocol.approval import REJECTED_ERROR_TYPE
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.runtime.mcp_tools import MCPTools
from nex_core.runtime.tools import ToolHandle, describe_error, tool_handles
from nex_core.trajectory.schema import ErrorInfo

_OPTIONS = ("temperature", "top_p", "max_tokens", "seed")
UNBOUNDED_ERRORS = 1_000_000
"""Agent Framework abandons the tool loop after a few consecutive tool errors; the protocol
feeds every error back, however many."""


class ProtocolRequests(ChatMiddleware):
    """What an agent built from a spec sends the model, made the protocol's (a client-level
    chat middleware, so it runs before any recorder sees the request):

    - the extra tools-disabled request Agent Framework makes when ``max_iterations`` is spent is
      stopped (such an agent never disables tools itself): the run ends ``max_steps``;
    - a call of a tool the agent does not have, which Agent Framework answers itself before any
      function middleware runs, is answered with the protocol's ``UnknownTool`` error instead.
    """

    def __init__(self, agent: str, steps: int, tools: list[str]) -> None:
        self.agent = agent
        self.steps = steps
        self.known = ", ".join(sorted(tools)) or "none"
        self.rejected: dict[str, str] = {}
        """Call id → the protocol's rejection text of a call the human rejected (filled by
        :mod:`.approval`): Agent Framework answers a rejected call with its own fixed words."""

    async def process(self, context: ChatContext, call_next: Callable[[], Awaitable[None]]) -> None:
        if (context.options or {}).get("tool_choice") == "none":
            raise MaxStepsReached(self.agent, self.steps)
        for message in context.messages:
            if str(message.role) == "tool":
                for content in message.contents:
                    self._protocol_unknown_tool(content)
                    if self.rejected:
                        self._protocol_rejection(content)
        await call_next()

    def _protocol_rejection(self, content: Content) -> None:
        text = self.rejected.get(content.call_id or "")
        if content.type != "function_result" or text is None:
            return
        if result_text(content.result) not in (_REJECTED, text):
            return
        content.result = text
        content.items = [Content.from_text(text)]
        content.exception = text
        content.additional_properties[ERROR_TYPE_KEY] = REJECTED_ERROR_TYPE

    def _protocol_unknown_tool(self, content: Content) -> None:
        if content.type != "function_result" or content.additional_properties.get(ERROR_TYPE_KEY):
            return
        found = _UNKNOWN.match(result_text(content.result))
        if found is None:
            return
        message = f"unknown tool '{found.group(1)}'; available tools: {self.known}"
        text = describe_error(ErrorInfo(type="UnknownTool", message=message))
        content.result = text
        content.items = [Content.from_text(text)]
        content.exception = message
        content.additional_properties[ERROR_TYPE_KEY] = "UnknownTool"


_REJECTED = "Error: Tool call invocation was rejected by user."
"""The text Agent Framework answers a rejected call with (agent_framework._tools)."""

_UNKNOWN = re.compile(r'^Error: Requested function "(.+)" not found\.$')
"""The text Agent Framework answers a call of an unknown tool with (agent_framework._tools)."""


def _options(spec: AgentSpec) -> dict[str, Any]:
    sampling = spec.model.sampling()
    options: dict[str, Any] = {k: sampling[k] for k in _OPTIONS if k in sampling}
    if not spec.parallel_tool_calls:
        options["allow_multiple_tool_calls"] = False
    answer = response_format_for(spec)
    if answer is not None:
        options["response_format"] = answer
    return options


def _advertised(handle: ToolHandle, mcp: MCPTools | None) -> ToolHandle:
    if handle.kind != "mcp" or handle.tool is None or handle.tool.parameters is not None:
        return handle
    if mcp is None:
        raise AdapterError(
            f"tool '{handle.schema.name}' has no schema and no MCP pool to ask for one "
            "(run it with the adapter's arun, which serves MCP tools through nex's pool)"
        )
    description, parameters = mcp.advertised(handle.tool)
    schema = handle.schema.model_copy(update={"description": description, "parameters": parameters})
    return ToolHandle(handle.kind, schema, handle.timeout_s, tool=handle.tool)


def build_agent(spec: AgentSpec, model: ChatModel, mcp: MCPTools | None = None) -> Agent:
    """``spec`` (and its sub-agents) as an Agent Framework ``Agent`` driven by ``model``."""
    if spec.tool_format.is_text:
        raise AdapterError(
            f"agent '{spec.name}': tool format '{spec.tool_format}' is not supported by the "
            "agent-framework adapter (Agent Framework calls tools natively); "
            "use tool_format: native"
        )
    handles = {name: _advertised(h, mcp) for name, h in tool_handles(spec).items()}
    approvals = [h for h in handles.values() if h.tool and h.tool.approval == "required"]
    client = NexChatClient(
        model,
        agent=spec.name,
        settings=spec.model,
        function_invocation_configuration={
            "max_iterations": spec.limits.max_steps,
            "max_consecutive_errors_per_request": UNBOUNDED_ERRORS,
            "allow_concurrent_invocation": spec.parallel_tool_calls,
            # The framework binds an approval response to the request it recorded in an
            # AgentSession; the driver runs on its own message list instead, and the adapter's
            # resume binds each decision to a pending call of the paused run itself.
            "disable_approval_response_binding": bool(approvals),
        },
    )
    client.chat_middleware.append(ProtocolRequests(spec.name, spec.limits.max_steps, list(handles)))
    tools: list[Any] = []
    handoffs: dict[str, Agent] = {}
    protocol = ProtocolMiddleware(spec, handles, client.raw_arguments)
    for name, handle in handles.items():
        if handle.kind in ("function", "mcp"):
            tools.append(function_tool(handle, mcp, protocol.edits))
            continue
        assert handle.sub_agent is not None
        child = build_agent(handle.sub_agent.child, model, mcp)
        if handle.kind == "subagent" and asks_inside(handle.sub_agent.child):
            tools.append(pausing_agent_tool(handle, child))  # as_tool cannot pause
        elif handle.kind == "subagent" and handle.sub_agent.child.output_schema is not None:
            tools.append(structured_agent_tool(handle, child, handle.sub_agent.child))
        elif handle.kind == "subagent":
            tools.append(agent_tool(handle, child))
        else:
            handoffs[name] = child
            tools.append(fixed_reply_tool(handle, f"Transferred to {child.name}."))
    protocol.handoffs = handoffs
    return Agent(
        client=client,
        instructions=spec.system_prompt or None,
        name=spec.name,
        description=spec.description or None,
        tools=tools,
        default_options=_options(spec),  # type: ignore[arg-type]
        middleware=[protocol],
    )


def build(
    spec: AgentSpec | TeamSpec, model: ChatModel, *, mcp: MCPTools | None = None
) -> Agent | Workflow:
    """An Agent Framework object for ``spec``: an ``Agent``, or for a team a group-chat
    workflow (:mod:`nex_agent_framework.teams`)."""
    if isinstance(spec, TeamSpec):
        from nex_agent_framework.teams import build_team

        return build_team(spec, model, mcp)
    return build_agent(spec, model, mcp)
