"""Agent Framework tools that behave as the nex protocol says tools behave.

Every tool of a spec becomes a real ``FunctionTool`` that advertises the spec's schema as given;
agents as tools are Agent Framework's own ``Agent.as_tool`` (with the protocol's schema). What
the framework does differently from the protocol is corrected by one function middleware,
:class:`ProtocolMiddleware`, installed on every agent built from a spec:

- arguments are checked by nex's validator (the model's raw text included, so malformed JSON is
  ``InvalidArguments`` as natively), and a failing tool returns ``Error: <Type>: <message>``
  to the model (Agent Framework would send ``Error: Function failed.``);
- a successful handoff or stop-tool call ends the agent's turn (``MiddlewareTermination``) and is
  noted for the driver, which hands over or finishes as the native runtime does.

The exception of a failed call is kept in the call's metadata under :data:`ERROR_KEY`, and a
tool's return value (before it became text) under :data:`VALUE_KEY`, so the recorder sees what
really happened.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agent_framework import (
    Agent,
    BaseAgent,
    FunctionInvocationContext,
    FunctionMiddleware,
    FunctionTool,
    MiddlewareTermination,
)

from nex_agent_framework.approval import ChildCall, ChildPaused
from nex_core.errors import NexError
from nex_core.protocol.spec import AgentSpec
from nex_core.runtime.approval import nest
from nex_core.runtime.loop import SubAgentFailed
from nex_core.runtime.mcp_tools import MCPTools
from nex_core.runtime.tools import (
    InvalidArguments,
    ToolHandle,
    describe_error,
    result_text,
    validate_arguments,
)
from nex_core.trajectory.recorder import error_info, parse_arguments

ERROR_KEY = "nex.error"
"""Call metadata: the exception a protocol tool failed with (the model saw its text)."""
ERROR_TYPE_KEY = "nex.error_type"
"""Function-result property: the protocol's error type of a call nex answered in the
framework's stead (a call of an unknown tool)."""
VALUE_KEY = "nex.value"
"""Call metadata: what the tool returned, before it became the text the model saw."""
PAUSED_KEY = "nex.paused"
"""Call metadata: the approval requests waiting inside an agent-as-tool call that paused (the
recorder closes its steps ``cancelled`` with them, as natively)."""
CHILD_PAUSED_KEY = "nex.child_paused"
"""Call metadata: the ``ChildPaused`` of an agent-as-tool call whose agent paused (put there by
its function, which returns normally, so the framework does not log the call as failed)."""
PAUSED_RESULT = "(paused for approval)"
"""The result a paused agent-as-tool call leaves in the conversation: never read by a model
(the run ends with it; the resume puts the agent's answer in its place)."""


class MaxStepsReached(NexError):
    """An agent built from a spec made ``limits.max_steps`` model calls without answering."""

    def __init__(self, agent: str, steps: int) -> None:
        super().__init__(f"agent '{agent}' made {steps} model calls without answering (max_steps)")
        self.agent = agent


@dataclass
class Signal:
    """What ended an agent's turn besides a final answer."""

    kind: str
    """``handoff`` or ``stop_tool``."""
    tool: str
    call_id: str | None
    text: str


@dataclass
class TurnState:
    """Per-agent state the driver reads after each ``run``."""

    signal: Signal | None = None
    raw_arguments: dict[str, str] = field(default_factory=dict)
    """Call id → the arguments exactly as the model wrote them (filled by the bridge)."""
    children: dict[str, ChildCall] = field(default_factory=dict)
    """Call id → an agent-as-tool call of this agent that paused inside (the driver takes the
    ones of the batch it ran)."""


def _tool_func(handle: ToolHandle, mcp: MCPTools | None) -> Callable[..., Awaitable[Any]]:
    """The function a spec tool runs (argument checks happen in the middleware)."""
    tool = handle.tool
    assert tool is not None

    if handle.kind == "mcp":
        if mcp is None:
            raise AssertionError("an MCP-bound tool needs the run's MCP tools")

        async def call_mcp(**arguments: Any) -> Any:
            return await mcp.call(tool, arguments, handle.timeout_s)

        return call_mcp

    async def call_function(**arguments: Any) -> Any:
        try:
            return await handle.call_function(arguments)
        except TimeoutError:
            raise TimeoutError(f"tool '{tool.name}' timed out after {handle.timeout_s} s") from None

    return call_function


def function_tool(
    handle: ToolHandle, mcp: MCPTools | None = None, edits: dict[str, dict[str, Any]] | None = None
) -> FunctionTool:
    """A spec's function or MCP tool as a ``FunctionTool`` with the spec's schema. ``edits``
    (call id → arguments) are a human's edits of approved calls: they replace the arguments here,
    inside the tool, because the framework refuses a call whose arguments a middleware changed
    after approval."""
    func = _tool_func(handle, mcp)

    async def run_tool(ctx: FunctionInvocationContext, **arguments: Any) -> str:
        call_id = ctx.metadata.get("call_id")
        if edits and isinstance(call_id, str) and call_id in edits:
            arguments = edits.pop(call_id)
        value = await func(**arguments)
        ctx.metadata[VALUE_KEY] = value
        return result_text(value)

    # ``approval: required`` is the framework's own approval mode: the function loop stops
    # before the batch and the run's response carries a function-approval request per call.
    required = handle.tool is not None and handle.tool.approval == "required"
    approval: Literal["always_require", "never_require"] = (
        "always_require" if required else "never_require"
    )
    return FunctionTool(
        name=handle.schema.name,
        description=handle.schema.description,
        func=run_tool,
        input_model=dict(handle.schema.parameters),
        approval_mode=approval,
    )


def fixed_reply_tool(handle: ToolHandle, reply: str) -> FunctionTool:
    """A tool that always answers ``reply`` (a handoff's confirmation)."""

    async def confirm(**arguments: Any) -> str:
        return reply

    return FunctionTool(
        name=handle.schema.name,
        description=handle.schema.description,
        func=confirm,
        input_model=dict(handle.schema.parameters),
    )


def agent_tool(handle: ToolHandle, child: Agent) -> FunctionTool:
    """``child.as_tool()`` advertised with the protocol's schema (one ``task`` string). The
    function is Agent Framework's own wrapper: the child starts fresh on every call and its final
    text is the result."""
    wrapped = child.as_tool(name=handle.schema.name, description=handle.schema.description)
    return FunctionTool(
        name=handle.schema.name,
        description=handle.schema.description,
        func=wrapped.func,
        input_model=dict(handle.schema.parameters),
    )


class ProtocolMiddleware(FunctionMiddleware):
    """The protocol's tool semantics for one agent built from a spec (see the module doc)."""

    def __init__(
        self, spec: AgentSpec, handles: dict[str, ToolHandle], raw_arguments: dict[str, str]
    ) -> None:
        self.spec = spec
        self.handles = handles
        self.state = TurnState(raw_arguments=raw_arguments)
        self.handoffs: dict[str, Agent] = {}
        """Handoff tool name → the agent it hands over to."""
        self.edits: dict[str, dict[str, Any]] = {}
        """Call id → the arguments a human edited an approved call to (:func:`function_tool`)."""

    async def process(
        self, context: FunctionInvocationContext, call_next: Callable[[], Awaitable[None]]
    ) -> None:
        name = context.function.name
        call_id = context.metadata.get("call_id")
        handle = self.handles.get(name)
        try:
            arguments = self._arguments(context, call_id)
            edited = self.edits.get(call_id) if isinstance(call_id, str) else None
            if handle is not None:
                validate_arguments(edited or arguments, handle.schema.parameters)
            context.arguments = arguments
            try:
                await call_next()
            except MaxStepsReached as exc:
                if handle is None or handle.sub_agent is None:
                    raise
                child = handle.sub_agent.child.name
                raise SubAgentFailed(
                    f"agent '{child}' stopped without an answer (max_steps)"
                ) from exc
            paused = context.metadata.pop(CHILD_PAUSED_KEY, None)
            if isinstance(paused, ChildPaused):  # the whole run pauses: this run ends here
                self._child_paused(context, name, call_id, paused)
        except MiddlewareTermination:
            raise
        except Exception as exc:
            context.metadata[ERROR_KEY] = exc
            context.result = describe_error(error_info(exc))
            return
        if handle is None:
            return
        text = result_text(context.metadata.get(VALUE_KEY, _text_of(context.result)))
        if handle.kind == "handoff":
            self.state.signal = Signal("handoff", name, call_id, text)
            raise MiddlewareTermination(f"handoff to {name}", result=context.result)
        if name in self.spec.stop_tools:
            self.state.signal = Signal("stop_tool", name, call_id, text)
            raise MiddlewareTermination(f"stop tool {name}", result=context.result)

    def _child_paused(
        self, context: FunctionInvocationContext, name: str, call_id: Any, paused: ChildPaused
    ) -> None:
        handle = self.handles[name]
        assert handle.sub_agent is not None and isinstance(call_id, str)
        pending = nest(paused.pending, self.spec.name)
        arguments = _mapping(context.arguments)
        raw = self.state.raw_arguments.get(call_id)
        self.state.children[call_id] = ChildCall(
            call_id=call_id,
            tool=name,
            arguments=raw if raw is not None else json.dumps(arguments, ensure_ascii=False),
            child=handle.sub_agent.child.name,
            task=str(arguments.get("task", "")),
            paused=paused.paused,
            pending=pending,
        )
        context.metadata[PAUSED_KEY] = pending
        context.result = PAUSED_RESULT
        raise MiddlewareTermination(f"paused inside {name}", result=PAUSED_RESULT)

    def _arguments(self, context: FunctionInvocationContext, call_id: Any) -> dict[str, Any]:
        raw = self.state.raw_arguments.get(call_id) if isinstance(call_id, str) else None
        if raw is None:
            args = context.arguments
            return dict(args) if not hasattr(args, "model_dump") else args.model_dump()
        parsed, bad = parse_arguments(raw)
        if parsed is None:
            raise InvalidArguments(f"arguments are not a JSON object: {bad!r}")
        return parsed


def _mapping(arguments: Any) -> dict[str, Any]:
    if hasattr(arguments, "model_dump"):
        return dict(arguments.model_dump())
    return dict(arguments or {})


def _text_of(result: Any) -> str:
    from nex_agent_framework.messages import result_text as content_text

    return content_text(result)


def protocol_state(agent: Any) -> TurnState | None:
    """The turn state of an agent built from a spec, ``None`` for any other agent."""
    for middleware in getattr(agent, "middleware", None) or ():
        if isinstance(middleware, ProtocolMiddleware):
            return middleware.state
    return None


def agent_of_tool(tool: Any) -> Any:
    """The agent an ``Agent.as_tool`` function tool calls, else ``None`` (the agent is the
    ``self`` its wrapper closes over)."""
    func = getattr(tool, "func", None)
    for cell in getattr(func, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, BaseAgent):
            return value
    return None


__all__ = [
    "CHILD_PAUSED_KEY",
    "ERROR_KEY",
    "ERROR_TYPE_KEY",
    "PAUSED_KEY",
    "PAUSED_RESULT",
    "VALUE_KEY",
    "ProtocolMiddleware",
    "Signal",
    "TurnState",
    "agent_of_tool",
    "agent_tool",
    "fixed_reply_tool",
    "function_tool",
    "protocol_state",
]
