"""Recording Agent Framework runs through the framework's own middleware hooks.

:class:`Instrumentation` puts two recording middlewares at the front of every agent's middleware
list (the agent, and every agent reachable through ``as_tool`` tools, to any depth) and takes
them out again afterwards; the user's code does not change.

- :class:`ChatRecorder` (chat middleware: once per model call, inside the function loop) records
  the request exactly as the model receives it — the instructions as the system message, the
  messages, the tool schemas offered, the sampling options — and the response, streamed or not.
- :class:`FunctionRecorder` (function middleware: once per tool call) records call id, the
  arguments as the model wrote them, the result or error and the latency; a tool that is an
  agent (``as_tool``) opens a sub-agent step, so the child's calls nest under it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agent_framework import (
    AgentContext,
    AgentExecutor,
    AgentMiddleware,
    BaseAgent,
    ChatContext,
    ChatMiddleware,
    ChatResponse,
    FunctionInvocationContext,
    FunctionMiddleware,
    MiddlewareTermination,
    Workflow,
)

from nex_agent_framework.messages import (
    ConversionCache,
    kept_as_given,
    result_text,
    to_nex_messages,
    to_nex_request,
    to_nex_response,
)
from nex_agent_framework.names import AgentNames, agent_names
from nex_agent_framework.nested import member_paused
from nex_agent_framework.record_handoffs import HandoffRecorder, HandoffState, is_handoff_workflow
from nex_agent_framework.record_light import LightRun, eligible
from nex_agent_framework.teams import TeamView, team_state
from nex_agent_framework.tools import (
    ERROR_KEY,
    ERROR_TYPE_KEY,
    PAUSED_KEY,
    VALUE_KEY,
    ProtocolMiddleware,
    agent_of_tool,
)
from nex_core.runtime.approval import close_paused
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import (
    ErrorInfo,
    LLMResponse,
    LLMStep,
    Message,
    StepStatus,
    ToolStep,
)

if TYPE_CHECKING:
    from nex_agent_framework.record_executors import ExecutorCalls


def model_id(client: Any, options: Any = None) -> str | None:
    """The model a client (or a request's options) names."""
    nex_model = getattr(client, "nex_model", None)
    if nex_model is not None:
        return str(nex_model.model_id)
    if isinstance(options, dict) and options.get("model"):
        return str(options["model"])
    model = getattr(client, "model", None) or getattr(client, "model_id", None)
    return str(model) if model else None


class _Shared:
    """What the recorders of one run share: arguments as the model wrote them, by call id."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.raw_arguments: dict[str, str] = {}
        self.open_llm: set[str] = set()
        self.cache = ConversionCache()
        self.calls: dict[str, tuple[str, str, str | None]] = {}
        """Call id → (tool name, arguments as written, parent step) of every call a recorded
        model response made that no tool step has answered yet."""
        self.names = AgentNames()
        """The run's agent names (:mod:`.names`), given when the root is instrumented."""


class ChatRecorder(ChatMiddleware):
    """Records every model call of one agent."""

    def __init__(self, agent: str, shared: _Shared) -> None:
        self.agent = agent
        self.shared = shared

    async def process(self, context: ChatContext, call_next: Callable[[], Awaitable[None]]) -> None:
        given = context.messages
        step = self.begin(given, context.options, context.client)
        try:
            await call_next()
        except BaseException as exc:
            self._end(step, None, exc)
            raise
        if context.messages is not given:
            # A middleware after this one replaced the request (Agent Framework's per-call
            # history, ``require_per_service_call_history_persistence``, loads the session's
            # messages there): the step records what the model was sent.
            options = context.options or {}
            step.request = to_nex_request(context.messages, options, self.shared.cache)
        self.settle(step, context.result)

    def begin(self, messages: Any, options: Any, client: Any) -> LLMStep:
        """Open the model call's step with the request as the model receives it."""
        shared = self.shared
        if shared.calls:  # else every call of the last answer has its tool step
            self._settle_unanswered(messages)
        options = options or {}
        step = shared.recorder.begin_llm(
            agent=self.agent,
            request=to_nex_request(messages, options, shared.cache),
            model=model_id(client, options),
        )
        shared.open_llm.add(step.id)
        return step

    def settle(self, step: LLMStep, result: Any, *, bridged: bool = False) -> None:
        """End the step with the answer, now or, for a stream, when it is complete.
        ``bridged``: ``result`` is what nex's bridge returned, untouched (the light path)."""
        if isinstance(result, ChatResponse):
            answer = result.raw_representation if bridged else None
            if isinstance(answer, LLMResponse) and kept_as_given(answer):
                if step.status is StepStatus.RUNNING:
                    self._answered(step, answer)
                messages = result.messages
                if len(messages) == 1:  # resent by the next request: converted once
                    self.shared.cache.remember(messages[0], answer.message)
                return
            self._end(step, result, None)
        elif result is not None and hasattr(result, "with_result_hook"):
            result.with_result_hook(lambda final: self._end(step, final, None))
        else:
            self._end(step, None, RuntimeError("the model call returned no response"))

    def _end(
        self,
        step: LLMStep,
        response: Any,
        error: BaseException | None,
        answer: LLMResponse | None = None,
    ) -> None:
        """``answer``: the nex model's own record of ``response`` (see :meth:`settle`)."""
        if step.status is not StepStatus.RUNNING:
            return
        if error is not None or not isinstance(response, ChatResponse):
            self.shared.open_llm.discard(step.id)
            self.shared.recorder.end_llm(step, error=error or RuntimeError("no response"))
            return
        self._answered(step, answer if answer is not None else to_nex_response(response))

    def _answered(self, step: LLMStep, recorded: LLMResponse) -> None:
        """End a running step with its answer; the calls it makes await their tool steps."""
        shared = self.shared
        shared.open_llm.discard(step.id)
        calls = recorded.message.tool_calls
        if calls:
            raw, waiting, parent = shared.raw_arguments, shared.calls, step.parent_id
            for call in calls:
                function = call.function
                raw[call.id] = function.arguments
                waiting[call.id] = (function.name, function.arguments, parent)
        shared.recorder.end_llm(step, recorded)

    def _settle_unanswered(self, messages: Any) -> None:
        """Record the calls Agent Framework answered itself, before any middleware ran (a call
        of a tool the agent does not have): their result is in the request, with the exception
        the framework raised, and no tool ran."""
        for message in messages:
            if str(message.role) != "tool":
                continue
            for content in message.contents:
                if content.type != "function_result" or content.call_id not in self.shared.calls:
                    continue
                name, arguments, parent = self.shared.calls.pop(content.call_id)
                rec = self.shared.recorder
                step = rec.begin_tool(
                    agent=self.agent,
                    name=name,
                    call_id=content.call_id,
                    arguments=arguments,
                    parent_id=parent,
                    metadata={"answered_by": "agent_framework"},
                )
                text = content.exception or result_text(content.result)
                kind = content.additional_properties.get(ERROR_TYPE_KEY) or "KeyError"
                rec.end_tool(step, error=ErrorInfo(type=str(kind), message=text))


class FunctionRecorder(FunctionMiddleware):
    """Records every tool call of one agent (agents as tools nest their steps under it)."""

    def __init__(self, agent: str, shared: _Shared) -> None:
        self.agent = agent
        self.shared = shared

    async def process(
        self, context: FunctionInvocationContext, call_next: Callable[[], Awaitable[None]]
    ) -> None:
        rec = self.shared.recorder
        call_id = context.metadata.get("call_id")
        call_id = call_id if isinstance(call_id, str) else None
        raw = self.shared.raw_arguments.get(call_id) if call_id else None
        arguments: Any = raw if raw is not None else _mapping(context.arguments)
        if call_id is not None:
            self.shared.calls.pop(call_id, None)
        step = rec.begin_tool(
            agent=self.agent, name=context.function.name, call_id=call_id, arguments=arguments
        )
        child = agent_of_tool(context.function)
        try:
            with rec.under(step.id):
                if child is None:
                    await call_next()
                else:
                    await self._call_child(context, call_next, child, call_id)
        except MiddlewareTermination:
            pending = context.metadata.get(PAUSED_KEY)
            if pending is not None:  # paused inside the agent it called: carried on in a resume
                close_paused(step, pending)
            else:
                rec.end_tool(step, self._value(context))
            raise
        except BaseException as exc:
            rec.end_tool(step, error=exc)
            raise
        error = context.metadata.get(ERROR_KEY)
        if isinstance(error, BaseException):
            rec.end_tool(step, error=error)
        else:
            rec.end_tool(step, self._value(context))

    async def _call_child(
        self,
        context: FunctionInvocationContext,
        call_next: Callable[[], Awaitable[None]],
        child: BaseAgent,
        call_id: str | None,
    ) -> None:
        arguments = _mapping(context.arguments)
        task = next(iter(arguments.values()), "") if len(arguments) == 1 else arguments
        rec = self.shared.recorder
        sub = rec.begin_subagent(
            agent=self.agent,
            child=self.shared.names.of(child),
            mode="tool",
            call_id=call_id,
            input=[Message.user(str(task))],
        )
        try:
            with rec.under(sub.id):
                await call_next()
        except BaseException as exc:
            pending = context.metadata.get(PAUSED_KEY)
            if isinstance(exc, MiddlewareTermination) and pending is not None:
                close_paused(sub, pending)
            else:
                rec.end_subagent(sub, sub.output, error=exc)
            raise
        output = None if ERROR_KEY in context.metadata else result_text(context.result)
        rec.end_subagent(sub, output)

    def open(self, tool: Any, call_id: str | None, arguments: Any) -> ToolStep:
        """The step of one tool call made without middleware (:mod:`.record_light`), begun from
        ``invoke``'s arguments."""
        shared = self.shared
        raw = None
        if call_id is not None:
            raw = shared.raw_arguments.get(call_id) if call_id else None
            shared.calls.pop(call_id, None)
        return shared.recorder.begin_tool(
            agent=self.agent,
            name=tool.name,
            call_id=call_id,
            arguments=raw if raw is not None else _mapping(arguments),
        )

    async def around_child(
        self,
        step: ToolStep,
        child: Any,
        call_id: str | None,
        arguments: Any,
        call: Callable[[], Awaitable[Any]],
    ) -> Any:
        """A tool call that runs an agent (``as_tool``), opened by :meth:`open`: the middleware
        path's sub-agent step under the tool step, and the tool step ended."""
        rec = self.shared.recorder
        try:
            with rec.under(step.id):
                given = _mapping(arguments)
                task = next(iter(given.values()), "") if len(given) == 1 else given
                with rec.subagent(
                    agent=self.agent,
                    child=self.shared.names.of(child),
                    mode="tool",
                    call_id=call_id,
                    input=[Message.user(str(task))],
                ) as sub:
                    result = await call()
                    sub.output = result_text(result)
        except BaseException as exc:
            rec.end_tool(step, error=exc)
            raise
        rec.end_tool(step, result_text(result))
        return result

    @staticmethod
    def _value(context: FunctionInvocationContext) -> Any:
        if VALUE_KEY in context.metadata:
            return context.metadata[VALUE_KEY]
        return result_text(context.result)


def _mapping(arguments: Any) -> dict[str, Any]:
    if hasattr(arguments, "model_dump"):
        return dict(arguments.model_dump())
    return dict(arguments or {})


class TurnRecorder(AgentMiddleware):
    """Records each run of an agent inside a workflow as one turn of the workflow (a sub-agent
    step, mode ``team_turn``): what the agent was given, what it answered; its calls nest."""

    def __init__(self, workflow: str, agent: str, shared: _Shared) -> None:
        self.workflow = workflow
        self.agent = agent
        self.shared = shared

    async def process(
        self, context: AgentContext, call_next: Callable[[], Awaitable[None]]
    ) -> None:
        with self.shared.recorder.subagent(
            agent=self.workflow,
            child=self.agent,
            mode="team_turn",
            input=to_nex_messages(list(context.messages), cache=self.shared.cache),
        ) as step:
            given = context.messages
            await call_next()
            if context.messages is not given:  # a later middleware gave the agent other input
                step.input = to_nex_messages(list(context.messages), cache=self.shared.cache)
            paused = member_paused(context)
            if paused is not None:  # the run pauses in this turn: a resume carries it on
                close_paused(step, paused[1])
                return
            result = context.result
            messages = getattr(result, "messages", None) or []
            step.output = messages[-1].text if messages else None


def workflow_agents(workflow: Any) -> list[Any]:
    """The agents a workflow's executors run, in the workflow's order."""
    executors = getattr(workflow, "executors", None) or {}
    return [e.agent for e in executors.values() if isinstance(e, AgentExecutor)]


def manager_agents(workflow: Any) -> list[Any]:
    """The agents that manage a group chat (``GroupChatBuilder(orchestrator_agent=...)``)."""
    from agent_framework_orchestrations import AgentBasedGroupChatOrchestrator

    executors = getattr(workflow, "executors", None) or {}
    return [
        e._agent  # the orchestrator keeps its agent only there
        for e in executors.values()
        if isinstance(e, AgentBasedGroupChatOrchestrator) and getattr(e, "_agent", None)
    ]


def selection_clients(workflow: Any) -> list[Any]:
    """The chat clients a group chat's selection function asks who speaks next (a function
    that closes over a client, as ``nex convert --to agent-framework`` writes one), when no
    member uses that client: their requests are the team's model calls, as natively."""
    from agent_framework import BaseChatClient
    from agent_framework_orchestrations import GroupChatOrchestrator

    members = {id(getattr(a, "client", None)) for a in workflow_agents(workflow)}
    out: list[Any] = []
    for executor in (getattr(workflow, "executors", None) or {}).values():
        if not isinstance(executor, GroupChatOrchestrator):
            continue
        func = getattr(executor, "_selection_func", None)  # kept only there
        for cell in getattr(func, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if (
                isinstance(value, BaseChatClient)
                and hasattr(value, "chat_middleware")
                and id(value) not in members
                and all(value is not c for c in out)
            ):
                out.append(value)
    return out


def _is_team_view(middleware: Any) -> bool:
    return isinstance(middleware, TeamView)


def agents_of(agent: Any) -> list[Any]:
    """``agent`` and every agent its ``as_tool`` tools reach, depth first, each once."""
    out: list[Any] = []
    seen: set[int] = set()

    def visit(a: Any) -> None:
        if id(a) in seen:
            return
        seen.add(id(a))
        out.append(a)
        for tool in (getattr(a, "default_options", None) or {}).get("tools") or ():
            child = agent_of_tool(tool)
            if child is not None:
                visit(child)
        for middleware in getattr(a, "middleware", None) or ():
            if isinstance(middleware, ProtocolMiddleware):
                for target in middleware.handoffs.values():
                    visit(target)

    visit(agent)
    return out


class Instrumentation:
    """Recording middleware on an agent tree for the length of one recorded run."""

    def __init__(self, recorder: Recorder, names: AgentNames | None = None) -> None:
        """``names``: the names of the root this will instrument (:func:`.names.agent_names`),
        if the caller made them already."""
        self.shared = _Shared(recorder)
        self._names = names
        self._added: list[tuple[Any, list[Any]]] = []
        self._client_added: list[tuple[Any, Any]] = []
        self.handoffs: HandoffState | None = None
        self.light: LightRun | None = None
        self.executors: ExecutorCalls | None = None
        """Made for a workflow only (its module imports this one, so it is imported there: an
        import statement costs 5 to 9 k instructions each time it runs, and agents run more)."""
        self._root: Any = None

    def instrument(self, root: Any) -> None:
        if self._root is None:
            self._root, self.shared.names = root, self._names or agent_names(root)
        names = self.shared.names
        if isinstance(root, Workflow):
            workflow = names.of(root)
            if self.executors is None:
                from nex_agent_framework.record_executors import ExecutorCalls

                self.executors = ExecutorCalls()
            self.executors.instrument(root, self.shared)
            if is_handoff_workflow(root):
                self._instrument_handoffs(root)
                return
            for participant in workflow_agents(root):
                name = names.of(participant)
                self._add(participant, [TurnRecorder(workflow, name, self.shared)])
                self.instrument(participant)
            self._instrument_manager(root, workflow)
            return
        agents = agents_of(root)
        if self.light is None and eligible(agents):
            self._instrument_light(agents)
            return
        for agent in agents:
            name = names.of(agent)
            self._add(agent, [FunctionRecorder(name, self.shared), ChatRecorder(name, self.shared)])

    def _instrument_light(self, agents: list[Any]) -> None:
        """Plain agents are recorded below the framework's middleware (:mod:`.record_light`)."""
        self.light = LightRun()
        for agent in agents:
            name = self.shared.names.of(agent)
            self.light.add_client(agent.client, ChatRecorder(name, self.shared))
            functions = FunctionRecorder(name, self.shared)
            for tool in (agent.default_options or {}).get("tools") or ():
                self.light.add_tool(tool, functions)

    def active(self) -> contextlib.AbstractContextManager[None]:
        """The recorded run's extent: the wrappers of the light path act only inside it."""
        return contextlib.nullcontext() if self.light is None else self.light.active()

    def _instrument_handoffs(self, workflow: Any) -> None:
        self.handoffs = HandoffState(self.shared.recorder, self.shared.cache)
        for participant in workflow_agents(workflow):
            name = self.shared.names.of(participant)
            self._add(participant, [HandoffRecorder(participant, name, self.handoffs)])
            self.instrument(participant)

    def _instrument_manager(self, workflow: Any, name: str) -> None:
        """The requests that choose speakers are the team's model calls: the selector client
        of a team this adapter built, or the manager agent of an agent-managed group chat."""
        state = team_state(workflow)
        selectors = [state.selector] if state is not None and state.selector is not None else []
        if state is None:
            selectors = selection_clients(workflow)
        for client in selectors:
            recorder = ChatRecorder(name, self.shared)
            client.chat_middleware.insert(0, recorder)
            self._client_added.append((client, recorder))
        for manager in manager_agents(workflow):
            self._add(manager, [ChatRecorder(name, self.shared)])

    def _add(self, agent: Any, added: list[Any]) -> None:
        current = list(getattr(agent, "middleware", None) or [])
        # A team member's recorders come after its protocol view, so a turn is recorded with
        # the messages the member really works from.
        at = max((i + 1 for i, m in enumerate(current) if _is_team_view(m)), default=0)
        agent.middleware = [*current[:at], *added, *current[at:]]
        self._added.append((agent, added))

    def restore(self) -> None:
        for agent, added in self._added:
            agent.middleware = [m for m in agent.middleware or [] if m not in added]
        self._added.clear()
        for client, recorder in self._client_added:
            client.chat_middleware[:] = [m for m in client.chat_middleware if m is not recorder]
        self._client_added.clear()
        if self.light is not None:
            self.light.restore()
        if self.executors is not None:
            self.executors.restore()

    def close_open(self, error: BaseException) -> None:
        """End the model calls still open when a run failed (a stream that broke off)."""
        rec = self.shared.recorder
        for step in rec.trajectory.steps:
            if step.id in self.shared.open_llm and isinstance(step, LLMStep):
                rec.end_llm(step, error=error)
        self.shared.open_llm.clear()
        if self.handoffs is not None:
            self.handoffs.close_open(error)
