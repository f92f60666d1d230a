"""Recording any AutoGen agent or team without changing what it does.

For the length of a run, every agent in the object tree (sub-agents behind ``AgentTool`` and
``TeamTool``, team participants) gets:

- a :class:`RecordingClient` around its model client: the exact messages and tool schemas of each
  call, its result, its error;
- a :class:`RecordingWorkbench` around each workbench: a ``StaticStreamWorkbench`` (the agent
  forwards nested sub-agent events only from those) over :class:`RecordingTool` proxies, so
  AutoGen's own workbench code still runs; each proxy records the call id, arguments, result or
  error and latency, and sets the recorder's parent context variable around the call, which nests
  ``AgentTool`` runs, parallel ones too, and ``TeamTool`` runs;
- proxies around its handoff tools;
- for team participants, a wrapper around ``on_messages_stream`` that records each turn as a
  sub-agent step (``team_turn``, or ``handoff`` in a Swarm).

:meth:`Instrumentation.restore` puts every original back.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import Response, TaskResult
from autogen_agentchat.messages import (
    BaseAgentEvent,
    BaseChatMessage,
    HandoffMessage,
    ToolCallRequestEvent,
)
from autogen_agentchat.teams import BaseGroupChat, Swarm
from autogen_agentchat.tools._task_runner_tool import TaskRunnerTool
from autogen_core import CancellationToken
from autogen_core.model_context import UnboundedChatCompletionContext
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelInfo,
    RequestUsage,
)
from autogen_core.tools import (
    BaseStreamTool,
    BaseTool,
    StaticStreamWorkbench,
    StaticWorkbench,
    Tool,
    ToolResult,
    ToolSchema,
    Workbench,
)
from autogen_core.tools._workbench import StreamWorkbench
from pydantic import BaseModel

from nex_autogen.agents import context_messages
from nex_autogen.approval import ApprovalPauseMessage
from nex_autogen.bridge import NexChatCompletionClient, request_params
from nex_autogen.messages import (
    answer_of,
    schema_to_nex,
    to_nex_message,
    to_nex_messages,
    to_nex_response,
    to_nex_tool,
)
from nex_autogen.names import AgentNames, agent_names
from nex_autogen.nested import paused_requests, paused_requests_of
from nex_autogen.tools import SerialWorkbench, ToolFailed, final_text, paused_before, skipped
from nex_core.runtime.approval import close_paused
from nex_core.trajectory import _build
from nex_core.trajectory.recorder import Recorder, current_parent_id
from nex_core.trajectory.schema import ErrorInfo, LLMRequest, Message
from nex_core.trajectory.schema import ToolSchema as NexToolSchema

# --------------------------------------------------------------------------- model calls


def client_model_id(client: ChatCompletionClient) -> str | None:
    if isinstance(client, NexChatCompletionClient):
        return client.model.model_id
    config = getattr(client, "_raw_config", None) or getattr(client, "_create_args", None) or {}
    model = config.get("model") if isinstance(config, Mapping) else None
    return str(model) if model else None


def _client_params(client: ChatCompletionClient) -> dict[str, Any]:
    create_args = getattr(client, "_create_args", None)
    if not isinstance(create_args, Mapping):
        return {}
    keep = ("temperature", "top_p", "max_tokens", "seed", "parallel_tool_calls")
    return {k: create_args[k] for k in keep if create_args.get(k) is not None}


class Conversions:
    """A run's AutoGen messages and tool schemas as nex records, each converted once.

    An agent resends its whole model context (the very same message objects) and its tools (as
    equal schema dicts) on every model call, so a run of n calls would convert O(n²) messages.
    Converting each object once also lets the requests of a run share their nex messages, as the
    native runtime's do, which keeps the trajectory's scrubbing and writing linear. The cached
    objects are kept alive with their conversions, so an id is never reused while cached.
    """

    def __init__(self) -> None:
        self._messages: dict[int, tuple[LLMMessage, list[Message]]] = {}
        self._tools: dict[str, list[tuple[Mapping[str, Any], NexToolSchema]]] = {}

    def messages(self, messages: Sequence[LLMMessage]) -> list[Message]:
        out: list[Message] = []
        cache = self._messages
        for message in messages:
            hit = cache.get(id(message))
            if hit is None or hit[0] is not message:
                hit = cache[id(message)] = (message, to_nex_message(message))
            out.extend(hit[1])
        return out

    def tools(self, tools: Sequence[Tool | ToolSchema]) -> list[NexToolSchema]:
        out: list[NexToolSchema] = []
        for tool in tools:
            if type(tool) is not dict:  # a Tool object: its schema is computed on each access
                out.append(to_nex_tool(tool))
                continue
            known = self._tools.setdefault(str(tool.get("name")), [])
            found = next((schema for seen, schema in known if seen == tool), None)
            if found is None:
                found = schema_to_nex(tool)
                known.append((tool, found))
            out.append(found)
        return out


class RecordingClient(ChatCompletionClient):
    """Records each call of the wrapped client; answers exactly what it answers."""

    def __init__(
        self,
        inner: ChatCompletionClient,
        *,
        agent: str,
        recorder: Recorder,
        conversions: Conversions | None = None,
    ) -> None:
        self.inner = inner
        self.agent = agent
        self.recorder = recorder
        self.conversions = conversions or Conversions()
        # Asked once, not per call: the class is an ABC, so the check goes through its hooks.
        self._bridged = isinstance(inner, NexChatCompletionClient)

    def _request(
        self,
        messages: Sequence[LLMMessage],
        tools: Sequence[Tool | ToolSchema],
        tool_choice: Any,
        extra: Mapping[str, Any],
        json_output: bool | type[BaseModel] | None = None,
    ) -> LLMRequest:
        # What the bridge's own request() builds, from the run's shared conversions.
        if self._bridged:
            params = cast(NexChatCompletionClient, self.inner).params_for(
                tools, tool_choice, extra, json_output
            )
        else:
            params = request_params(_client_params(self.inner), tool_choice, extra, json_output)
        converted = self.conversions.messages(messages)
        schemas = self.conversions.tools(tools)
        if _build.string_keys(params):
            # New lists of records and a new dict made here: what validation would keep
            # (once per recorded model call).
            return _build.request(converted, schemas, params)
        return LLMRequest(messages=converted, tools=schemas, params=params)

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Any = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        rec = self.recorder
        request = self._request(messages, tools, tool_choice, extra_create_args, json_output)
        step = rec.begin_llm(agent=self.agent, request=request, model=client_model_id(self.inner))
        try:
            if self._bridged:
                # the bridge's own create() would convert the same messages again
                result = await cast(NexChatCompletionClient, self.inner).complete(request)
            else:
                result = await self.inner.create(
                    messages,
                    tools=tools,
                    tool_choice=tool_choice,
                    json_output=json_output,
                    extra_create_args=extra_create_args,
                    cancellation_token=cancellation_token,
                )
        except BaseException as exc:
            rec.end_llm(step, error=exc)
            raise
        rec.end_llm(step, to_nex_response(result, step.metadata))
        return result

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Any = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        rec = self.recorder
        step = rec.begin_llm(
            agent=self.agent,
            request=self._request(messages, tools, tool_choice, extra_create_args, json_output),
            model=client_model_id(self.inner),
        )
        try:
            async for chunk in self.inner.create_stream(
                messages,
                tools=tools,
                tool_choice=tool_choice,
                json_output=json_output,
                extra_create_args=extra_create_args,
                cancellation_token=cancellation_token,
            ):
                if isinstance(chunk, CreateResult):
                    rec.end_llm(step, to_nex_response(chunk, step.metadata))
                yield chunk
        except BaseException as exc:
            rec.end_llm(step, error=exc)
            raise

    async def close(self) -> None:
        await self.inner.close()

    def actual_usage(self) -> RequestUsage:
        return self.inner.actual_usage()

    def total_usage(self) -> RequestUsage:
        return self.inner.total_usage()

    def count_tokens(
        self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []
    ) -> int:
        return self.inner.count_tokens(messages, tools=tools)

    def remaining_tokens(
        self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []
    ) -> int:
        return self.inner.remaining_tokens(messages, tools=tools)

    @property
    def capabilities(self) -> Any:
        return self.inner.capabilities

    @property
    def model_info(self) -> ModelInfo:
        return self.inner.model_info

    def dump_component(self) -> Any:
        return self.inner.dump_component()


# --------------------------------------------------------------------------- tool calls


class _nested:
    """Steps begun inside nest under ``parent``. A small class, not a generator context
    manager: entered once per tool call and turn. Only the reset is guarded: resetting a
    context variable fails when an async generator is closed from another context (a cancelled
    stream), and the value dies with that context anyway. (The generator version suppressed a
    ``ValueError`` raised *inside* the block too, so a tool that raised one was recorded as
    cancelled, without its error.)"""

    __slots__ = ("_under",)

    def __init__(self, recorder: Recorder, parent: str | None) -> None:
        self._under = recorder.under(parent)

    def __enter__(self) -> None:
        self._under.__enter__()

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ValueError):
            self._under.__exit__(*exc)


def _failure(exc: BaseException) -> BaseException | ErrorInfo:
    return exc.info if isinstance(exc, ToolFailed) else exc


class _Recording:
    """What both tool proxies share: the wrapped tool, the agent, the recorder."""

    inner: BaseTool[Any, Any]
    agent: str
    recorder: Recorder

    def _setup(self, inner: BaseTool[Any, Any], agent: str, recorder: Recorder) -> None:
        self.inner, self.agent, self.recorder = inner, agent, recorder

    @property
    def schema(self) -> ToolSchema:
        return self.inner.schema

    def return_value_as_string(self, value: Any) -> str:
        return self.inner.return_value_as_string(value)

    async def save_state_json(self) -> Mapping[str, Any]:
        return await self.inner.save_state_json()

    async def load_state_json(self, state: Mapping[str, Any]) -> None:
        await self.inner.load_state_json(state)


class RecordingTool(_Recording, BaseTool[Any, Any]):
    """Proxy of a plain tool: one tool step per call."""

    def __init__(self, inner: BaseTool[Any, Any], *, agent: str, recorder: Recorder) -> None:
        BaseTool.__init__(
            self, inner.args_type(), inner.return_type(), inner.name, inner.description
        )
        self._setup(inner, agent, recorder)

    async def run(self, args: Any, cancellation_token: CancellationToken) -> Any:
        return await self.inner.run(args, cancellation_token)

    async def run_json(
        self,
        args: Mapping[str, Any],
        cancellation_token: CancellationToken,
        call_id: str | None = None,
    ) -> Any:
        rec = self.recorder
        step = rec.begin_tool(
            agent=self.agent, name=self.name, call_id=call_id, arguments=dict(args)
        )
        try:
            with _nested(rec, step.id):
                value = await self.inner.run_json(args, cancellation_token, call_id=call_id)
        except BaseException as exc:
            rec.end_tool(step, error=_failure(exc))
            raise
        rec.end_tool(step, self.inner.return_value_as_string(value))
        return value


class RecordingStreamTool(_Recording, BaseStreamTool[Any, Any, Any]):
    """Proxy of a streaming tool; a task runner's run nests under its tool step."""

    child: str | None = None
    """The name the runner is recorded under (``nex_autogen.names``), set by the instrumentation."""

    def __init__(
        self, inner: BaseStreamTool[Any, Any, Any], *, agent: str, recorder: Recorder
    ) -> None:
        BaseStreamTool.__init__(
            self, inner.args_type(), inner.return_type(), inner.name, inner.description
        )
        self._setup(inner, agent, recorder)

    async def run(self, args: Any, cancellation_token: CancellationToken) -> Any:
        return await self.inner.run(args, cancellation_token)

    def run_stream(
        self, args: Any, cancellation_token: CancellationToken
    ) -> AsyncGenerator[Any, None]:
        return cast(BaseStreamTool[Any, Any, Any], self.inner).run_stream(args, cancellation_token)

    async def run_json(
        self,
        args: Mapping[str, Any],
        cancellation_token: CancellationToken,
        call_id: str | None = None,
    ) -> Any:
        last = None
        async for item in self.run_json_stream(args, cancellation_token, call_id=call_id):
            last = item
        return last

    async def run_json_stream(
        self,
        args: Mapping[str, Any],
        cancellation_token: CancellationToken,
        call_id: str | None = None,
    ) -> AsyncGenerator[Any, None]:
        rec = self.recorder
        tool_step = rec.begin_tool(
            agent=self.agent, name=self.name, call_id=call_id, arguments=dict(args)
        )
        runner = getattr(self.inner, "_task_runner", None)
        sub = None
        value: Any = None
        try:
            with _nested(rec, tool_step.id):
                if isinstance(self.inner, TaskRunnerTool) and runner is not None:
                    sub = rec.begin_subagent(
                        agent=self.agent,
                        child=self.child or runner.name,
                        mode="tool",
                        call_id=call_id,
                        input=[Message.user(str(args.get("task", "")))],
                    )
                with _nested(rec, sub.id if sub else tool_step.id):
                    async for value in cast(
                        BaseStreamTool[Any, Any, Any], self.inner
                    ).run_json_stream(args, cancellation_token, call_id=call_id):
                        yield value
        except BaseException as exc:
            if sub is not None:
                rec.end_subagent(sub, None, error=_failure(exc))
            rec.end_tool(tool_step, error=_failure(exc))
            raise
        paused = paused_requests(value)
        if paused is not None:  # the whole run pauses in this call (nex_autogen.nested)
            if sub is not None:
                close_paused(sub, paused)
            close_paused(tool_step, paused)
            return
        if sub is not None:
            rec.end_subagent(sub, final_text(value) if isinstance(value, TaskResult) else None)
        rec.end_tool(tool_step, self.inner.return_value_as_string(value))


def recording_tool(
    tool: BaseTool[Any, Any], *, agent: str, recorder: Recorder
) -> BaseTool[Any, Any]:
    if isinstance(tool, BaseStreamTool):
        return RecordingStreamTool(tool, agent=agent, recorder=recorder)
    return RecordingTool(tool, agent=agent, recorder=recorder)


class RecordingWorkbench(StaticStreamWorkbench):
    """A workbench wrapper the agent treats as a ``StaticStreamWorkbench``.

    Over a static workbench it *is* one, holding recording proxies of the same tools, so AutoGen's
    own call path runs. Over any other workbench (MCP ...) it delegates each call and records it;
    the exception type is not visible there, so errors are recorded as ``ToolError``.
    """

    def __init__(self, inner: Workbench, *, agent: str, recorder: Recorder) -> None:
        self.inner, self.agent, self.recorder = inner, agent, recorder
        self._static = isinstance(inner, StaticWorkbench)
        # Calls of a sequential agent wait for their turn outside the recording, so a tool step
        # starts when its call really starts.
        self._turns = inner.turns if isinstance(inner, SerialWorkbench) else None
        tools = [
            recording_tool(t, agent=agent, recorder=recorder) for t in getattr(inner, "_tools", [])
        ]
        super().__init__(tools if self._static else [], getattr(inner, "_tool_overrides", None))

    def _turn(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self._turns.turn() if self._turns is not None else contextlib.nullcontext()

    async def list_tools(self) -> list[ToolSchema]:
        if self._static:
            return await super().list_tools()
        return await self.inner.list_tools()

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        cancellation_token: CancellationToken | None = None,
        call_id: str | None = None,
    ) -> ToolResult:
        if self._static:
            async with self._turn():
                if self._turns is not None and paused_before():
                    return skipped(name)
                return await super().call_tool(name, arguments, cancellation_token, call_id)
        return await self._delegate(name, arguments, cancellation_token, call_id)

    async def call_tool_stream(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        cancellation_token: CancellationToken | None = None,
        call_id: str | None = None,
    ) -> AsyncGenerator[Any, None]:
        if self._static and isinstance(self.inner, StaticStreamWorkbench):
            async with self._turn():
                if self._turns is not None and paused_before():
                    yield skipped(name)  # nex_autogen.tools.SerialWorkbench
                    return
                async for event in super().call_tool_stream(
                    name, arguments, cancellation_token, call_id
                ):
                    yield event
        elif self._static:  # the agent would have called call_tool: no streamed events
            async with self._turn():
                yield await super().call_tool(name, arguments, cancellation_token, call_id)
        elif isinstance(self.inner, StreamWorkbench):
            rec = self.recorder
            step = rec.begin_tool(
                agent=self.agent, name=name, call_id=call_id, arguments=dict(arguments or {})
            )
            result: Any = None
            with _nested(rec, step.id):
                async for result in self.inner.call_tool_stream(
                    name, arguments, cancellation_token, call_id
                ):
                    yield result
            self._end(step, result)
        else:
            yield await self._delegate(name, arguments, cancellation_token, call_id)

    async def _delegate(
        self,
        name: str,
        arguments: Mapping[str, Any] | None,
        cancellation_token: CancellationToken | None,
        call_id: str | None,
    ) -> ToolResult:
        rec = self.recorder
        step = rec.begin_tool(
            agent=self.agent, name=name, call_id=call_id, arguments=dict(arguments or {})
        )
        try:
            with _nested(rec, step.id):
                result = await self.inner.call_tool(name, arguments, cancellation_token, call_id)
        except BaseException as exc:
            rec.end_tool(step, error=exc)
            raise
        self._end(step, result)
        return result

    def _end(self, step: Any, result: Any) -> None:
        if isinstance(result, ToolResult) and result.is_error:
            self.recorder.end_tool(
                step, error=ErrorInfo(type="ToolError", message=result.to_text())
            )
        else:
            self.recorder.end_tool(
                step, result.to_text() if isinstance(result, ToolResult) else result
            )

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def reset(self) -> None:
        await self.inner.reset()

    async def save_state(self) -> Mapping[str, Any]:
        return await self.inner.save_state()

    async def load_state(self, state: Mapping[str, Any]) -> None:
        await self.inner.load_state(state)


# --------------------------------------------------------------------------- team turns


async def turn_input(agent: Any, messages: Sequence[BaseChatMessage]) -> list[Message]:
    """The history an agent works from when its turn starts (its context plus what arrived)."""
    base: list[LLMMessage] = []
    context = getattr(agent, "model_context", None)
    if context is not None:
        base = list(await context.get_messages())
    adder = getattr(type(agent), "_add_messages_to_context", None)
    if isinstance(agent, AssistantAgent) and adder is not None:
        scratch = UnboundedChatCompletionContext(initial_messages=base)
        await adder(scratch, messages)
        return to_nex_messages(await scratch.get_messages())
    return to_nex_messages(base + context_messages(messages))


def _answer(message: BaseChatMessage) -> str:
    return answer_of(message)[0]


def _handoff_call_id(agent: Any, response: Response) -> str | None:
    message = response.chat_message
    assert isinstance(message, HandoffMessage)
    handoffs = getattr(agent, "_handoffs", {}) or {}
    names = {name for name, h in handoffs.items() if h.target == message.target}
    for event in reversed(list(response.inner_messages or [])):
        if isinstance(event, ToolCallRequestEvent):
            for call in event.content:
                if call.name in names:
                    return call.id
    return None


@dataclass
class SwarmState:
    """Where each Swarm speaker's steps go, and the handoff steps still open."""

    container: dict[str, str | None] = field(default_factory=dict)
    handoff_call: dict[str, str | None] = field(default_factory=dict)
    open_steps: list[Any] = field(default_factory=list)
    members: frozenset[str] = frozenset()

    def end_turn(self, recorder: Recorder, output: str | None) -> None:
        """A run of the team ended (answered, or handed off to the user): the handoff steps it
        opened end with it, and the next run starts from the top again."""
        for step in reversed(self.open_steps):
            recorder.end_subagent(step, output)
        self.open_steps.clear()
        self.container.clear()
        self.handoff_call.clear()


TurnStream = Callable[[Sequence[BaseChatMessage], CancellationToken], AsyncGenerator[Any, None]]


def team_turn_stream(
    agent: Any, original: TurnStream, team_name: str, recorder: Recorder, child: str | None = None
) -> TurnStream:
    """``on_messages_stream`` of a group-chat participant, recording each turn."""

    async def on_messages_stream(
        messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken
    ) -> AsyncGenerator[BaseAgentEvent | BaseChatMessage | Response, None]:
        step = recorder.begin_subagent(
            agent=team_name,
            child=child or agent.name,
            mode="team_turn",
            input=await turn_input(agent, messages),
        )
        output = None
        paused = None
        try:
            with _nested(recorder, step.id):
                async for item in original(messages, cancellation_token):
                    if isinstance(item, Response):
                        paused = paused_requests_of(item.chat_message)
                        output = None if paused is not None else _answer(item.chat_message)
                    yield item
        except BaseException as exc:
            recorder.end_subagent(step, output, error=exc)
            raise
        if paused is not None:  # the whole run pauses in this turn (nex_autogen.resume_team)
            close_paused(step, paused)
            return
        recorder.end_subagent(step, output)

    return on_messages_stream


def swarm_turn_stream(
    agent: Any, original: TurnStream, state: SwarmState, recorder: Recorder
) -> TurnStream:
    """``on_messages_stream`` of a Swarm participant: a turn that follows a handoff is recorded
    as a handoff sub-agent step under the handing agent's steps, as the native runtime nests it."""

    async def on_messages_stream(
        messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken
    ) -> AsyncGenerator[BaseAgentEvent | BaseChatMessage | Response, None]:
        last = messages[-1] if messages else None
        step = None
        # A handoff from outside the team (the user answering) resumes the run: the agent
        # simply takes its turn (the input step records the answer).
        if (
            isinstance(last, HandoffMessage)
            and last.target == agent.name
            and last.source in state.members
        ):
            source = last.source
            step = recorder.begin_subagent(
                agent=source,
                child=agent.name,
                mode="handoff",
                call_id=state.handoff_call.get(source),
                input=await turn_input(agent, messages),
                parent_id=state.container.get(source, current_parent_id()),
            )
            state.container[agent.name] = step.id
            state.open_steps.append(step)
        else:
            state.container[agent.name] = current_parent_id()
        try:
            with _nested(recorder, step.id if step else current_parent_id()):
                async for item in original(messages, cancellation_token):
                    if isinstance(item, Response):
                        _after_swarm_turn(agent, item, state, recorder)
                    yield item
        except BaseException as exc:
            for open_step in reversed(state.open_steps):
                recorder.end_subagent(open_step, None, error=exc)
            state.open_steps.clear()
            raise

    return on_messages_stream


def _after_swarm_turn(
    agent: Any, response: Response, state: SwarmState, recorder: Recorder
) -> None:
    if isinstance(response.chat_message, HandoffMessage):
        state.handoff_call[agent.name] = _handoff_call_id(agent, response)
        return
    # A turn that paused for approval has no answer (the native handoff step's output is None).
    paused = isinstance(response.chat_message, ApprovalPauseMessage)
    output = None if paused else _answer(response.chat_message)
    for step in reversed(state.open_steps):
        recorder.end_subagent(step, output)
    state.open_steps.clear()


# --------------------------------------------------------------------------- the object tree


_MISSING = object()


class Instrumentation:
    """Swaps recording wrappers into an AutoGen object tree, and back out."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.conversions = Conversions()
        self._undo: list[tuple[Any, str, Any]] = []
        self._seen: dict[int, Any] = {}  # holds the objects too, so their ids are not reused
        self._swarms: dict[int, SwarmState] = {}
        self.names: AgentNames | None = None
        """Unique names of the tree's agents, given when its root is instrumented."""

    def end_turn(self, output: str | None) -> None:
        """One ``run`` of the recorded object ended."""
        for state in self._swarms.values():
            state.end_turn(self.recorder, output)

    def handed_off(self, swarm: Swarm, source: str, call_id: str | None) -> None:
        """``source`` handed off in ``swarm`` by the call ``call_id`` before this recording began
        (a resumed batch): the turn it hands to is that call's handoff step."""
        state = self._swarms.get(id(swarm))
        if state is not None and call_id is not None:
            state.handoff_call[source] = call_id

    def _swap(self, obj: Any, attr: str, value: Any) -> None:
        old = obj.__dict__.get(attr, _MISSING)
        self._undo.append((obj, attr, old))
        setattr(obj, attr, value)

    def restore(self) -> None:
        while self._undo:
            obj, attr, old = self._undo.pop()
            if old is _MISSING:
                obj.__dict__.pop(attr, None)
            else:
                setattr(obj, attr, old)
        self._seen.clear()

    def _name(self, obj: Any) -> str:
        return self.names.of(obj) if self.names is not None else str(obj.name)

    def instrument(self, obj: Any, like: Any = None) -> None:
        """Wrap ``obj``'s tree; ``like`` is the child ``obj`` is a fresh copy of, if it is one
        (``NEW_RUNNER_HOOK``), whose names the copy is recorded under."""
        if id(obj) in self._seen:
            return
        self._seen[id(obj)] = obj
        if self.names is None:
            self.names = agent_names(obj)
        elif like is not None:
            self.names.alias(obj, like)
        if isinstance(obj, BaseGroupChat):
            self._team(obj)
        else:
            self._agent(obj)

    def _agent(self, agent: Any) -> None:
        rec, name = self.recorder, self._name(agent)
        client = getattr(agent, "_model_client", None)
        if isinstance(client, ChatCompletionClient):
            wrapped = RecordingClient(
                client, agent=name, recorder=rec, conversions=self.conversions
            )
            self._swap(agent, "_model_client", wrapped)
        workbenches = getattr(agent, "_workbench", None)
        if isinstance(workbenches, Sequence):
            self._swap(
                agent,
                "_workbench",
                [RecordingWorkbench(wb, agent=name, recorder=rec) for wb in workbenches],
            )
            for wb in workbenches:
                for tool in getattr(wb, "_tools", []):
                    if isinstance(tool, TaskRunnerTool):
                        self.instrument(tool._task_runner)
            for wb in agent._workbench:
                for proxy in getattr(wb, "_tools", []):
                    if isinstance(proxy, RecordingStreamTool):
                        runner = getattr(proxy.inner, "_task_runner", None)
                        proxy.child = self._name(runner) if runner is not None else None
        handoff_tools = getattr(agent, "_handoff_tools", None)
        if handoff_tools:
            self._swap(
                agent,
                "_handoff_tools",
                [RecordingTool(t, agent=name, recorder=rec) for t in handoff_tools],
            )

    def _team(self, team: BaseGroupChat) -> None:
        rec = self.recorder
        client = getattr(team, "_model_client", None)
        if isinstance(client, ChatCompletionClient):
            self._swap(
                team,
                "_model_client",
                RecordingClient(
                    client, agent=self._name(team), recorder=rec, conversions=self.conversions
                ),
            )
        state = SwarmState(members=frozenset(p.name for p in team._participants))
        if isinstance(team, Swarm):
            self._swarms[id(team)] = state
        for participant in team._participants:
            self.instrument(participant)
            if isinstance(participant, BaseGroupChat):
                continue
            original = getattr(participant, "on_messages_stream")  # noqa: B009 - Team or agent
            if isinstance(team, Swarm):
                wrapped = swarm_turn_stream(participant, original, state, rec)
            else:
                wrapped = team_turn_stream(
                    participant, original, self._name(team), rec, self._name(participant)
                )
            self._swap(participant, "on_messages_stream", wrapped)
