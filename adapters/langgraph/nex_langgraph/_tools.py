"""LangChain tools made from nex tool specs, behaving as the native runtime's tools do.

The model is offered the spec's JSON Schema exactly as written (``args_schema=<dict>``,
``infer_schema=False``); arguments are validated against it as natively; sync and async callables
both work under ``invoke`` and ``ainvoke``; results reach the model as ``result_text(value)``.
MCP-bound tools are called through the run's MCP pool (see ``_mcp``).
Exceptions propagate out of the tool (so callbacks see the original exception) and the
:class:`~nex_langgraph._middleware.ProtocolMiddleware` turns them into ``describe_error`` text.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
from collections.abc import Callable
from typing import Annotated, Any

from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool, tool
from langgraph.prebuilt import InjectedState
from langgraph.types import Command

from nex_core.protocol.spec import (
    AgentSpec,
    CallableBinding,
    ImportBinding,
    MCPBinding,
    SubAgentSpec,
    ToolSpec,
)
from nex_core.runtime.loop import SubAgentFailed
from nex_core.runtime.tools import (
    ANY_OBJECT,
    SUBAGENT_PARAMETERS,
    function_of,
    result_text,
    validate_arguments,
)
from nex_core.trajectory.recorder import to_jsonable
from nex_langgraph._errors import MaxStepsExceeded
from nex_langgraph._mcp import MCPTools
from nex_langgraph._messages import final_text
from nex_langgraph._recording import HANDOFF_DESTINATION

NEX_METADATA = "nex"
"""Key of the tool metadata where nex keeps what LangChain has no field for (the binding)."""


def _binding_text(spec: ToolSpec) -> str:
    binding = spec.binding
    if isinstance(binding, ImportBinding):
        return binding.path
    if isinstance(binding, CallableBinding):
        return f"callable:{binding.ref}"
    if isinstance(binding, MCPBinding):
        return f"mcp:{binding.server}"
    return binding.kind  # simulated: a model plays the tool


def function_tool(spec: ToolSpec, *, timeout_s: float | None, stop: bool) -> BaseTool:
    """A ``StructuredTool`` for a function-bound tool spec."""
    func = function_of(spec)
    schema = spec.parameters if spec.parameters is not None else ANY_OBJECT
    timeout = spec.timeout_s or timeout_s
    name = spec.name

    def timed_out() -> TimeoutError:
        return TimeoutError(f"tool '{name}' timed out after {timeout} s")

    async def arun(**arguments: Any) -> str:
        validate_arguments(arguments, schema)
        if inspect.iscoroutinefunction(func):
            coro = func(**arguments)
        else:
            coro = asyncio.to_thread(func, **arguments)
        try:
            value = await asyncio.wait_for(coro, timeout=timeout)
        except TimeoutError:
            raise timed_out() from None
        return result_text(value)

    def run(**arguments: Any) -> str:
        validate_arguments(arguments, schema)
        if inspect.iscoroutinefunction(func):
            value = _run_coroutine(func(**arguments), timeout, timed_out)
        elif timeout is None:
            value = func(**arguments)
        else:
            value = _run_with_timeout(func, arguments, timeout, timed_out)
        return result_text(value)

    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=name,
        description=spec.description,
        args_schema=schema,
        infer_schema=False,
        return_direct=stop,
        metadata={NEX_METADATA: {"binding": _binding_text(spec), "timeout_s": spec.timeout_s}},
    )


def mcp_tool(spec: ToolSpec, mcp: MCPTools, *, timeout_s: float | None, stop: bool) -> BaseTool:
    """A ``StructuredTool`` for an MCP-bound tool spec, served through the run's MCP pool.

    It offers the schema the native runtime offers (the spec's, else the server's), validates
    arguments against it, calls the server under the tool's timeout on the loop that owns the
    session, and raises the server's errors (``MCPToolError``) for the middleware to report.
    """
    description, schema = mcp.advertised(spec)
    timeout = spec.timeout_s or timeout_s

    async def arun(**arguments: Any) -> str:
        validate_arguments(arguments, schema)
        return result_text(await mcp.call(spec, arguments, timeout))

    def run(**arguments: Any) -> str:
        validate_arguments(arguments, schema)
        return result_text(mcp.call_blocking(spec, arguments, timeout))

    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=spec.name,
        description=description,
        args_schema=schema,
        infer_schema=False,
        return_direct=stop,
        metadata={NEX_METADATA: {"binding": _binding_text(spec), "timeout_s": spec.timeout_s}},
    )


def _run_with_timeout(
    func: Callable[..., Any],
    arguments: dict[str, Any],
    timeout: float,
    error: Callable[[], Exception],
) -> Any:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(func, **arguments).result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        raise error() from None
    finally:
        pool.shutdown(wait=False)


def _run_coroutine(coro: Any, timeout: float | None, error: Callable[[], Exception]) -> Any:
    async def bounded() -> Any:
        try:
            return await asyncio.wait_for(coro, timeout=timeout)
        except TimeoutError:
            raise error() from None

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(bounded())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, bounded()).result()


def subagent_tool(sub: SubAgentSpec, child_graph: Any, description: str) -> BaseTool:
    """Agent-as-tool: the child receives only ``{"task": ...}`` as a user message and its final
    answer is the tool result; a child that stops without answering fails the call."""
    child = sub.child

    def answer(state: dict[str, Any]) -> str:
        if state.get("structured_response") is not None:
            # The structured answer's JSON, as the native runtime returns it to the parent.
            return json.dumps(to_jsonable(state["structured_response"]), ensure_ascii=False)
        messages = state.get("messages") or []
        text = final_text(messages)
        if text is None or (messages and getattr(messages[-1], "tool_calls", None)):
            raise SubAgentFailed(f"agent '{child.name}' stopped without an answer")
        return text

    def run(task: str) -> str:
        try:
            state = child_graph.invoke({"messages": [HumanMessage(content=str(task))]})
        except MaxStepsExceeded:
            raise SubAgentFailed(
                f"agent '{child.name}' stopped without an answer (max_steps)"
            ) from None
        return answer(state)

    async def arun(task: str) -> str:
        try:
            state = await child_graph.ainvoke({"messages": [HumanMessage(content=str(task))]})
        except MaxStepsExceeded:
            raise SubAgentFailed(
                f"agent '{child.name}' stopped without an answer (max_steps)"
            ) from None
        return answer(state)

    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=sub.resolved_tool_name(),
        description=description,
        args_schema=SUBAGENT_PARAMETERS,
        infer_schema=False,
        metadata={
            NEX_METADATA: {
                "subagent": child.name,
                "tool_name": sub.tool_name,
                "description": sub.description,
            }
        },
    )


def handoff_tool(sub: SubAgentSpec, description: str) -> BaseTool:
    """Handoff: answers ``"Transferred to <child>."`` and moves the swarm's active agent."""
    destination = sub.child.name
    name = sub.resolved_tool_name()

    @tool(name, description=description)
    def transfer(
        state: Annotated[Any, InjectedState],
        tool_call_id: Annotated[str, InjectedToolCallId],
    ) -> Command:
        message = ToolMessage(
            content=f"Transferred to {destination}.", name=name, tool_call_id=tool_call_id
        )
        return Command(
            goto=destination,
            graph=Command.PARENT,
            update={"messages": [*state["messages"], message], "active_agent": destination},
        )

    transfer.metadata = {
        HANDOFF_DESTINATION: destination,
        NEX_METADATA: {"tool_name": sub.tool_name, "description": sub.description},
    }
    return transfer


def subagent_description(sub: SubAgentSpec) -> str:
    """The tool description the native runtime gives a sub-agent (see ``runtime.tools``)."""
    child: AgentSpec = sub.child
    if sub.mode.value == "handoff":
        return (
            sub.description
            or f"Hand the conversation over to {child.name}. {child.description}".strip()
        )
    return sub.description or child.description or f"Ask the agent {child.name}."
