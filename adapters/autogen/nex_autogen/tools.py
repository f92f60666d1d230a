"""AutoGen tools that behave as the nex protocol says tools behave.

- :class:`SchemaTool` advertises a spec's JSON Schema exactly as given (``FunctionTool`` infers a
  schema from type hints and fails on untyped callables), validates arguments against it, and
  turns a failure into the protocol's error text ``Error: <ExcType>: <message>``.
- :class:`MCPTool` does the same for a tool served by an MCP server, through the run's pool
  (the schema is the spec's, else the server's).
- :class:`ProtocolAgentTool` / :class:`ProtocolTeamTool` are AutoGen's ``AgentTool`` /
  ``TeamTool`` with the protocol's agent-as-tool semantics: the child starts fresh on every call
  (it receives only the task), and its final answer is the tool's result.
- :class:`ProtocolHandoff` is a ``Handoff`` whose tool takes the protocol's empty arguments.
- :class:`SerialWorkbench` runs an agent's tool calls one at a time, for
  ``parallel_tool_calls: false``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, cast

from autogen_agentchat.base import Handoff, TaskResult
from autogen_agentchat.messages import BaseAgentEvent, BaseChatMessage, ToolCallSummaryMessage
from autogen_agentchat.teams import BaseGroupChat
from autogen_agentchat.tools import AgentTool, TeamTool
from autogen_agentchat.tools._task_runner_tool import TaskRunnerToolArgs
from autogen_core import CancellationToken
from autogen_core.tools import (
    BaseTool,
    ParametersSchema,
    StaticStreamWorkbench,
    TextResultContent,
    ToolOverride,
    ToolResult,
)
from autogen_core.tools import ToolSchema as AutogenToolSchema
from pydantic import BaseModel, ConfigDict

from nex_autogen.mcp import MCPTools
from nex_autogen.messages import answer_of
from nex_autogen.nested import CHILD_PAUSES, note_pause
from nex_core.protocol.spec import ToolSpec
from nex_core.runtime.loop import SubAgentFailed
from nex_core.runtime.tools import (
    ANY_OBJECT,
    HANDOFF_PARAMETERS,
    SUBAGENT_PARAMETERS,
    describe_error,
    function_of,
    result_text,
    validate_arguments,
)
from nex_core.trajectory.recorder import error_info
from nex_core.trajectory.schema import ErrorInfo


class ToolFailed(Exception):
    """A protocol tool failed; ``str()`` is the text the model is shown, ``original`` the cause.

    AutoGen shows the model ``str(exception)``; raising this makes that the protocol's text while
    the recorder still sees the original exception's type.
    """

    def __init__(self, original: BaseException | ErrorInfo) -> None:
        self.info = error_info(original)
        self.original = original
        super().__init__(describe_error(self.info))


class AnyArguments(BaseModel):
    """Arguments are validated against the spec's JSON Schema, not by pydantic."""

    model_config = ConfigDict(extra="allow")


class SchemaTool(BaseTool[AnyArguments, BaseModel]):
    """A spec tool: the spec's schema as given, its errors as the protocol's error text."""

    def __init__(self, spec: ToolSpec, *, timeout_s: float | None = None) -> None:
        super().__init__(AnyArguments, BaseModel, spec.name, spec.description)
        self.spec = spec
        self.timeout_s = spec.timeout_s or timeout_s
        # Resolved when the agent is built, before any model call: an unresolvable binding is
        # a ToolBindingError here, and no call counts the import of its module as latency.
        self.func = function_of(spec)

    @property
    def schema(self) -> AutogenToolSchema:
        parameters = self.spec.parameters if self.spec.parameters is not None else ANY_OBJECT
        return {
            "name": self.name,
            "description": self.description,
            "parameters": cast(ParametersSchema, parameters),
        }

    async def run(self, args: AnyArguments, cancellation_token: CancellationToken) -> Any:
        arguments = args.model_dump()
        try:
            validate_arguments(arguments, self.spec.parameters)
            func = self.func
            if inspect.iscoroutinefunction(func):
                coro = func(**arguments)
            else:
                coro = asyncio.to_thread(func, **arguments)
            try:
                return await asyncio.wait_for(coro, timeout=self.timeout_s)
            except TimeoutError:
                raise TimeoutError(
                    f"tool '{self.name}' timed out after {self.timeout_s} s"
                ) from None
        except Exception as exc:
            raise ToolFailed(exc) from exc

    def return_value_as_string(self, value: Any) -> str:
        return result_text(value)


class MCPTool(BaseTool[AnyArguments, BaseModel]):
    """An MCP-bound spec tool: the advertised schema, the server's errors as the protocol's text."""

    def __init__(self, spec: ToolSpec, mcp: MCPTools, *, timeout_s: float | None = None) -> None:
        description, self.parameters = mcp.advertised(spec)
        super().__init__(AnyArguments, BaseModel, spec.name, description)
        self.spec = spec
        self.mcp = mcp
        self.timeout_s = spec.timeout_s or timeout_s

    @property
    def schema(self) -> AutogenToolSchema:
        return {
            "name": self.name,
            "description": self.description,
            "parameters": cast(ParametersSchema, self.parameters),
        }

    async def run(self, args: AnyArguments, cancellation_token: CancellationToken) -> Any:
        arguments = args.model_dump()
        try:
            validate_arguments(arguments, self.parameters)
            return await self.mcp.call(self.spec, arguments, self.timeout_s)
        except Exception as exc:
            raise ToolFailed(exc) from exc

    def return_value_as_string(self, value: Any) -> str:
        return result_text(value)


class _FixedReplyTool(BaseTool[AnyArguments, BaseModel]):
    """A tool with a given schema that always returns one text (a handoff's confirmation)."""

    def __init__(self, name: str, description: str, reply: str) -> None:
        super().__init__(AnyArguments, BaseModel, name, description)
        self.reply = reply

    @property
    def schema(self) -> AutogenToolSchema:
        return {
            "name": self.name,
            "description": self.description,
            "parameters": cast(ParametersSchema, HANDOFF_PARAMETERS),
        }

    async def run(self, args: AnyArguments, cancellation_token: CancellationToken) -> Any:
        return self.reply

    def return_value_as_string(self, value: Any) -> str:
        return str(value)


class ProtocolHandoff(Handoff):
    """A handoff whose tool has the protocol's schema (``{"type": "object", "properties": {}}``)."""

    @property
    def handoff_tool(self) -> BaseTool[BaseModel, BaseModel]:
        return _FixedReplyTool(self.name, self.description, self.message)  # type: ignore[return-value]


class CallTurns:
    """A first-come, first-served lock per event loop: the calls of one reply take it in the
    order AutoGen starts them, which is the model's order (its tasks reach the lock without
    suspending on the way)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        async with lock:
            yield


def paused_before() -> bool:
    """Whether a call of this batch paused for approval below (an agent used as a tool): a
    sequential batch stops there, as natively; the calls after it run in the resume."""
    return bool(CHILD_PAUSES.get())


def skipped(name: str) -> ToolResult:
    """The result of a call a pause kept from starting (no one reads it: the turn pauses)."""
    return ToolResult(name=name, result=[TextResultContent(content="")], is_error=False)


class SerialWorkbench(StaticStreamWorkbench):
    """The tools of an agent with ``parallel_tool_calls: false``: AutoGen starts every call of a
    reply at once (``asyncio.gather``); here each waits for the one before it, as the native
    runtime runs them. The recorder's workbench keeps the same turns (see ``record``)."""

    def __init__(
        self,
        tools: Sequence[BaseTool[Any, Any]],
        tool_overrides: Mapping[str, ToolOverride] | None = None,
    ) -> None:
        super().__init__(list(tools), tool_overrides=dict(tool_overrides or {}))
        self.turns = CallTurns()

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        cancellation_token: CancellationToken | None = None,
        call_id: str | None = None,
    ) -> ToolResult:
        async with self.turns.turn():
            if paused_before():
                return skipped(name)
            return await super().call_tool(name, arguments, cancellation_token, call_id)

    async def call_tool_stream(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        cancellation_token: CancellationToken | None = None,
        call_id: str | None = None,
    ) -> AsyncGenerator[Any, None]:
        async with self.turns.turn():
            if paused_before():
                yield skipped(name)
                return
            async for event in super().call_tool_stream(
                name, arguments, cancellation_token, call_id
            ):
                yield event


def final_text(result: TaskResult) -> str | None:
    """The last chat message a task runner produced, as the model would read it."""
    for message in reversed(result.messages):
        if isinstance(message, BaseChatMessage):
            return answer_of(message)[0]
    return None


def is_protocol_agent(agent: Any) -> bool:
    from nex_autogen.agents import ProtocolAssistantAgent

    return isinstance(agent, ProtocolAssistantAgent)


def stopped_at_max_steps(result: TaskResult) -> bool:
    """True when the last answer is a protocol agent's tool summary: it ran out of steps."""
    chats = [m for m in result.messages if isinstance(m, BaseChatMessage)]
    return bool(chats) and isinstance(chats[-1], ToolCallSummaryMessage)


RunnerFactory = Callable[[], Any]

NEW_RUNNER_HOOK: ContextVar[Callable[[Any, Any], None] | None] = ContextVar(
    "nex_autogen_new_runner_hook", default=None
)
"""Called with each child a protocol agent-tool builds for a call and the child it is a copy of
(the recorder instruments it, under the copied child's name)."""


class _ProtocolRunner:
    """Fresh child per call; its final answer (not a transcript) is the result.

    With a ``factory`` each call runs a newly built child, so parallel calls of one sub-agent do
    not share a model context (the protocol gives each call its own history). Without one, the
    single child is reset before each call.
    """

    _task_runner: Any
    _factory: RunnerFactory | None = None
    name: str
    description: str

    async def _fresh(self, cancellation_token: CancellationToken) -> Any:
        if self._factory is not None:
            runner = self._factory()
            hook = NEW_RUNNER_HOOK.get()
            if hook is not None:
                hook(runner, self._task_runner)
            return runner
        runner = self._task_runner
        if isinstance(runner, BaseGroupChat):
            await runner.reset()
        else:
            await runner.on_reset(cancellation_token)
        return runner

    @property
    def schema(self) -> AutogenToolSchema:
        """The protocol's agent-as-tool schema (AutoGen's adds titles and closes the object)."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": cast(ParametersSchema, SUBAGENT_PARAMETERS),
        }

    def _check(self, result: TaskResult) -> None:
        if stopped_at_max_steps(result):
            raise ToolFailed(
                SubAgentFailed(
                    f"agent '{self._task_runner.name}' stopped without an answer (max_steps)"
                )
            )

    async def run(
        self, args: TaskRunnerToolArgs, cancellation_token: CancellationToken
    ) -> TaskResult:
        runner = await self._fresh(cancellation_token)
        try:
            result: TaskResult = await runner.run(
                task=args.task, cancellation_token=cancellation_token
            )
        except ToolFailed:
            raise
        except Exception as exc:
            raise ToolFailed(exc) from exc
        self._check(result)
        return result

    async def run_stream(
        self, args: TaskRunnerToolArgs, cancellation_token: CancellationToken
    ) -> AsyncGenerator[BaseAgentEvent | BaseChatMessage | TaskResult, None]:
        runner = await self._fresh(cancellation_token)
        try:
            async for event in runner.run_stream(
                task=args.task, cancellation_token=cancellation_token
            ):
                if isinstance(event, TaskResult):
                    self._check(event)
                yield event
        except ToolFailed:
            raise
        except Exception as exc:
            raise ToolFailed(exc) from exc

    def return_value_as_string(self, value: TaskResult) -> str:
        return final_text(value) or ""

    # A child that paused for approval pauses the caller's turn (nex_autogen.nested): the
    # caller's sink is taken before the child runs, as the child opens a sink of its own.
    async def run_json(
        self,
        args: Mapping[str, Any],
        cancellation_token: CancellationToken,
        call_id: str | None = None,
    ) -> Any:
        sink = CHILD_PAUSES.get()
        value = await super().run_json(args, cancellation_token, call_id)  # type: ignore[misc]
        note_pause(sink, call_id, value)
        return value

    async def run_json_stream(
        self,
        args: Mapping[str, Any],
        cancellation_token: CancellationToken,
        call_id: str | None = None,
    ) -> AsyncGenerator[Any, None]:
        sink = CHILD_PAUSES.get()
        last = None
        async for last in super().run_json_stream(  # type: ignore[misc]
            args, cancellation_token, call_id
        ):
            yield last
        note_pause(sink, call_id, last)


class ProtocolAgentTool(_ProtocolRunner, AgentTool):
    """``AgentTool`` with the protocol's agent-as-tool semantics."""

    def __init__(
        self,
        agent: Any,
        *,
        name: str | None = None,
        description: str | None = None,
        factory: RunnerFactory | None = None,
    ) -> None:
        AgentTool.__init__(self, agent, return_value_as_last_message=True)
        self._name = name or agent.name
        self._description = description or agent.description
        self._factory = factory


class ProtocolTeamTool(_ProtocolRunner, TeamTool):
    """``TeamTool`` (a child that hands off inside a Swarm) with agent-as-tool semantics."""

    def __init__(
        self,
        team: BaseGroupChat,
        *,
        name: str,
        description: str,
        factory: RunnerFactory | None = None,
    ) -> None:
        TeamTool.__init__(self, team, name, description, return_value_as_last_message=True)
        self._factory = factory
