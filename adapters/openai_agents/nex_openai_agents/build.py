"""nex spec → Agents SDK ``Agent`` driven by a nex model, behaving as the protocol says.

- Every tool is a ``FunctionTool`` advertising the spec's schema as written (not made strict),
  validating arguments as the native runtime does and feeding a failure back to the model as
  ``Error: <type>: <message>`` (the SDK's default hides the error from the model).
- A sub-agent in ``tool`` mode is a tool taking ``{"task": string}`` that runs the child with
  ``Runner.run`` (nested in the same trace) — through the SDK's ``Agent.as_tool`` machinery when
  an approval tool sits under it, so the child's pause pauses the run; in ``handoff`` mode it is
  an SDK handoff whose transfer message is the protocol's ``Transferred to <name>.``.
- ``stop_tools`` become ``StopAtTools``; ``parallel_tool_calls: false`` becomes the model setting.
- MCP-bound tools call nex's MCP pool (``nex_core.runtime.mcp_tools``), not the SDK's MCP
  servers, so their servers, schemas and errors are the native runtime's.
- ``approval: required`` tools are ``needs_approval=True``; the agent's other tools wait with
  their batch (see ``approval``).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from agents import Agent, FunctionTool, Handoff, ModelSettings, RunContextWrapper, Runner
from agents.agent import StopAtTools
from agents.exceptions import MaxTurnsExceeded
from agents.tool_context import ToolContext
from pydantic import BaseModel

from nex_core.errors import AdapterError, NexError
from nex_core.models.base import ChatModel
from nex_core.protocol.spec import AgentSpec, ContextMode, MCPBinding, SubAgentSpec, TeamSpec
from nex_core.runtime.mcp_tools import MCPTools
from nex_core.runtime.tools import (
    HANDOFF_PARAMETERS,
    InvalidArguments,
    ToolHandle,
    describe_error,
    result_text,
    tool_handles,
    validate_arguments,
)
from nex_core.trajectory.recorder import error_info, parse_arguments
from nex_openai_agents._recording import report_tool_error
from nex_openai_agents.approval import Batch, Edits, HeldWithBatch
from nex_openai_agents.bridge import NexModel
from nex_openai_agents.structured import SpecOutputSchema, answer_text


class SubAgentFailed(NexError):
    """A sub-agent called as a tool ended without an answer."""


def build(
    spec: AgentSpec | TeamSpec,
    model: ChatModel,
    *,
    mcp: MCPTools | None = None,
    edits: Edits | None = None,
) -> Agent:
    """The Agents SDK agent for ``spec``; teams have no Agents SDK form. ``edits`` holds the
    human's arguments for calls a resume runs edited."""
    if isinstance(spec, TeamSpec):
        raise AdapterError(
            f"team '{spec.name}': the OpenAI Agents SDK has no teams (agents take turns only "
            "through handoffs); run it on the native, autogen or langgraph backend"
        )
    return _Builder(model, mcp, edits).agent(spec)


def needs_approval(spec: AgentSpec) -> bool:
    """Whether ``spec`` or any agent under it has a tool with ``approval: required``."""
    return any(t.approval == "required" for t in spec.tools) or any(
        needs_approval(s.child) for s in spec.sub_agents
    )


class _Builder:
    def __init__(self, model: ChatModel, mcp: MCPTools | None, edits: Edits | None) -> None:
        self.model = model
        self.mcp = mcp
        self.edits = edits
        self._built: dict[int, Agent] = {}

    def agent(self, spec: AgentSpec) -> Agent:
        if id(spec) in self._built:
            return self._built[id(spec)]
        if spec.tool_format.is_text:
            raise AdapterError(
                f"agent '{spec.name}': tool_format '{spec.tool_format.value}' is not supported "
                "by the openai-agents backend (native function calling only)"
            )
        handles = tool_handles(spec)
        # The SDK runs a reply's tool calls concurrently whatever the model setting says; the
        # protocol runs them one at a time, in order, when parallel calls are off (asyncio's lock
        # is fair: calls started in the model's order acquire it in that order).
        serial = None if spec.parallel_tool_calls else asyncio.Lock()
        approval = frozenset(t.name for t in spec.tools if t.approval == "required")
        batch = Batch(approval) if approval else None
        tools: list[Any] = []
        handoffs: list[Any] = []
        for handle in handles.values():
            if handle.kind == "handoff":
                assert handle.sub_agent is not None
                handoffs.append(self._handoff(handle, handle.sub_agent))
            else:
                tools.append(self._tool(spec, handle, serial, batch))
        settings = ModelSettings(
            temperature=spec.model.temperature,
            top_p=spec.model.top_p,
            max_tokens=spec.model.max_tokens,
            parallel_tool_calls=False if not spec.parallel_tool_calls and tools else None,
            extra_args=dict(spec.model.extra) or None,
        )
        agent = Agent(
            name=spec.name,
            instructions=spec.system_prompt or None,
            handoff_description=spec.description or None,
            model=NexModel(
                self.model,
                agent=spec.name,
                settings=spec.model.sampling(),
                observer=batch.saw if batch is not None else None,
            ),
            model_settings=settings,
            tools=tools,
            handoffs=handoffs,
            tool_use_behavior=StopAtTools(stop_at_tool_names=list(spec.stop_tools))
            if spec.stop_tools
            else "run_llm_again",
            output_type=(
                None if spec.output_schema is None else SpecOutputSchema(spec.output_schema)
            ),
        )
        self._built[id(spec)] = agent
        return agent

    def _tool(
        self,
        spec: AgentSpec,
        handle: ToolHandle,
        serial: asyncio.Lock | None,
        batch: Batch | None = None,
    ) -> FunctionTool:
        schema = handle.schema
        parameters = schema.parameters
        description = schema.description
        if handle.kind == "mcp":
            assert handle.tool is not None
            if self.mcp is None:
                raise AdapterError(
                    f"tool '{schema.name}' of agent '{spec.name}' is served by an MCP server: "
                    "build it through the adapter's run (it opens nex's MCP pool)"
                )
            description, parameters = self.mcp.advertised(handle.tool)
        approval: bool | HeldWithBatch = False
        if batch is not None:
            required = handle.tool is not None and handle.tool.approval == "required"
            approval = True if required else HeldWithBatch(batch)
        run = self._runner(spec, handle)
        tool = protocol_tool(
            schema.name,
            description,
            parameters,
            run,
            serial,
            needs_approval=approval,
            edits=self.edits,
        )
        if isinstance(run, NestedRunner):
            # What the SDK's RunState reads to find (and, read back from JSON, restore) the
            # paused child run of this call: the markers Agent.as_tool puts on its own tools.
            tool._is_agent_tool = True
            tool._agent_instance = run.child
        return tool

    def _runner(self, spec: AgentSpec, handle: ToolHandle) -> Any:
        if handle.kind == "function":
            return function_runner(handle)
        if handle.kind == "mcp":
            tool = handle.tool
            assert tool is not None and isinstance(tool.binding, MCPBinding)
            mcp = self.mcp
            assert mcp is not None

            async def mcp_call(ctx: RunContextWrapper[Any], arguments: dict[str, Any]) -> Any:
                return await mcp.call(tool, arguments, handle.timeout_s)

            return mcp_call
        assert handle.sub_agent is not None
        child_spec = handle.sub_agent.child
        if needs_approval(child_spec):
            # A Runner.run of the adapter's own would end the tool call, not the run, on the
            # child's pause: the SDK's own agent tool carries the pause out (see nested_runner).
            return nested_runner(self.agent(child_spec), child_spec.limits.max_steps)
        return agent_runner(self.agent(child_spec), child_spec.limits.max_steps)

    def _handoff(self, handle: ToolHandle, sub: SubAgentSpec) -> Handoff[Any, Any]:
        assert sub.mode is ContextMode.HANDOFF
        return protocol_handoff(
            self.agent(sub.child), handle.schema.name, handle.schema.description
        )


ToolRunner = Callable[[RunContextWrapper[Any], dict[str, Any]], Awaitable[Any]]


def protocol_tool(
    name: str,
    description: str,
    parameters: dict[str, Any],
    run: ToolRunner,
    serial: asyncio.Lock | None = None,
    *,
    needs_approval: bool | HeldWithBatch = False,
    edits: Edits | None = None,
) -> FunctionTool:
    """A ``FunctionTool`` that behaves as a protocol tool: the schema advertised as given,
    arguments validated against it, a failure fed back as ``Error: <type>: <message>`` and
    recorded as the tool's error; with ``serial``, calls run one at a time; a call in ``edits``
    runs with the human's arguments."""

    # Annotated ToolContext: the SDK passes the call's ToolContext (with its call id, which an
    # edit is keyed by) only to a function that declares it.
    async def invoke(ctx: ToolContext[Any], raw: str) -> str:
        try:
            edited = edits.take(getattr(ctx, "tool_call_id", None)) if edits else None
            arguments = edited if edited is not None else parse_arguments(raw)[0]
            if arguments is None:
                raise InvalidArguments(f"arguments are not a JSON object: {raw!r}")
            validate_arguments(arguments, parameters)
            if serial is None:
                return result_text(await run(ctx, arguments))
            async with serial:
                return result_text(await run(ctx, arguments))
        except Exception as exc:  # fed back to the model, and recorded as the tool's error
            report_tool_error(name, exc)
            return describe_error(error_info(exc))

    return FunctionTool(
        name=name,
        description=description,
        params_json_schema=parameters,
        on_invoke_tool=invoke,
        strict_json_schema=False,
        needs_approval=needs_approval,
    )


def function_runner(handle: ToolHandle) -> ToolRunner:
    """Calls a function-bound tool under its timeout (sync functions in a worker thread)."""

    async def function(ctx: RunContextWrapper[Any], arguments: dict[str, Any]) -> Any:
        try:
            return await handle.call_function(arguments)
        except TimeoutError:
            raise TimeoutError(
                f"tool '{handle.schema.name}' timed out after {handle.timeout_s} s"
            ) from None

    return function


def agent_runner(child: Agent, max_turns: int) -> ToolRunner:
    """Runs ``child`` on ``{"task": ...}`` (nested in the caller's trace); an answerless child
    fails the call as the protocol says."""

    async def sub_agent(ctx: RunContextWrapper[Any], arguments: dict[str, Any]) -> Any:
        try:
            result = await Runner.run(
                child, str(arguments["task"]), context=ctx.context, max_turns=max_turns
            )
        except MaxTurnsExceeded:
            raise SubAgentFailed(
                f"agent '{child.name}' stopped without an answer (max_steps)"
            ) from None
        return output_text(result.final_output)

    return sub_agent


class _Task(BaseModel):
    task: str


def _task_text(options: Any) -> str:
    return str(options["params"]["task"])


class NestedRunner:
    """Runs ``child`` on ``{"task": ...}`` through the SDK's own ``Agent.as_tool`` machinery,
    which keeps a paused child run by its tool call, surfaces its approval requests on the
    outer run, serializes it into the outer ``RunState`` and continues it when the outer run
    resumes. The protocol tool around it still validates, serializes and reports errors."""

    def __init__(self, child: Agent, max_turns: int) -> None:
        self.child = child
        self._tool = child.as_tool(
            tool_name=child.name,
            tool_description=None,
            max_turns=max_turns,
            failure_error_function=None,  # the protocol tool around it reports failures
            parameters=_Task,
            input_builder=_task_text,
            custom_output_extractor=_final_text,
        )

    async def __call__(self, ctx: RunContextWrapper[Any], arguments: dict[str, Any]) -> Any:
        try:
            return await self._tool.on_invoke_tool(
                ctx,  # type: ignore[arg-type]  # the call's ToolContext (protocol_tool's)
                json.dumps({"task": str(arguments["task"])}),
            )
        except MaxTurnsExceeded:
            raise SubAgentFailed(
                f"agent '{self.child.name}' stopped without an answer (max_steps)"
            ) from None


def nested_runner(child: Agent, max_turns: int) -> NestedRunner:
    return NestedRunner(child, max_turns)


async def _final_text(result: Any) -> str:
    return output_text(result.final_output)


def protocol_handoff(child: Agent, tool_name: str, description: str) -> Handoff[Any, Any]:
    """A handoff to ``child`` taking no arguments, with the protocol's transfer message."""
    handoff = ProtocolHandoff(
        tool_name=tool_name,
        tool_description=description,
        input_json_schema=dict(HANDOFF_PARAMETERS),
        on_invoke_handoff=_returns(child),
        agent_name=child.name,
        strict_json_schema=False,
    )
    # As the SDK's handoff() does: a RunState read back finds the agents through it.
    handoff._agent_ref = weakref.ref(child)
    return handoff


class ProtocolHandoff(Handoff[Any, Any]):
    """A handoff whose transfer message is the protocol's (``Transferred to <name>.``)."""

    def get_transfer_message(self, agent: Any) -> str:
        return f"Transferred to {agent.name}."


def _returns(child: Agent) -> Any:
    async def invoke(ctx: RunContextWrapper[Any], raw: str) -> Agent:
        return child

    return invoke


def output_text(output: Any) -> str:
    """A final output as text (structured outputs as JSON, as every adapter writes it)."""
    return answer_text(output)
