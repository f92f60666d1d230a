"""Recording LangGraph runs: a LangChain callback handler that writes nex trajectory steps.

Callbacks see every model call (full input, bound tool schemas, the answer), every tool call
(with its call id) and every graph and node run, each with its parent's run id. The handler keeps
a small tree of those runs so that each nex step lands under the right parent:

* a chain run named after a known agent is where that agent starts working;
* entered from inside a tool run, it is an agent used as a tool (``SubAgentStep`` mode ``tool``
  under the ``ToolStep``);
* entered after a handoff tool named it, it is a handoff (``SubAgentStep`` mode ``handoff``, a
  sibling of the handoff's ``ToolStep``), chained as the native runtime chains them;
* otherwise (a supervisor taking control back, the active agent of a later turn) the agent simply
  continues where its runs sit.

Runs that only bubble a ``Command`` to the parent graph (handoffs) are not errors. Messages no
model produced (a supervisor's synthetic handoff-back pair) are never LLM steps: only
``on_chat_model_start`` opens one. The handler only observes: it never changes inputs or outputs.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
)
from langgraph.errors import GraphBubbleUp, GraphInterrupt
from langgraph.types import Command, Send

from nex_core.runtime.loop import SubAgentFailed
from nex_core.trajectory import _build
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import (
    ErrorInfo,
    LLMStep,
    Message,
    SubAgentStep,
    ToolSchema,
    ToolStep,
)
from nex_langgraph._errors import MaxStepsExceeded
from nex_langgraph._messages import (
    content_text,
    recorded_message,
    response_of,
    to_nex_all,
    tool_schema,
)

_BASE_PARAMS = BaseChatModel._get_invocation_params
HANDOFF_DESTINATION = "__handoff_destination"
"""Metadata key langgraph-supervisor and langgraph-swarm put on handoff tools."""
HANDOFF_BACK = "__is_handoff_back"
"""Response-metadata key of the supervisor's synthetic handoff-back messages."""

_PARAM_KEYS = (
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "tool_choice",
    "parallel_tool_calls",
    "stop",
)
_READ_PARAMS = frozenset({*_PARAM_KEYS, "tools", "model_name", "model"})
"""The invocation parameters :meth:`NexCallbackHandler.on_chat_model_start` reads."""
_Tracing = Callable[[list[BaseMessage]], list[BaseMessage]]
"""LangChain's ``_format_for_tracing``: messages as ``on_chat_model_start`` is given them."""
_DESCRIBED_ERROR = re.compile(r"^Error: ([A-Za-z_][\w.]*): (.*)$", re.DOTALL)


@dataclass(slots=True)
class _Run:
    kind: str
    """``chain``, ``llm`` or ``tool``."""
    name: str
    agent: str
    """Agent whose work this run is."""
    ctx: str | None
    """nex step id under which steps begun inside this run nest."""
    agent_root: bool = False
    """The run is an agent's own graph (or node) run: its children are that agent's internals."""
    step: Any = None
    handoff_to: str | None = None


@dataclass
class _Pending:
    """A handoff tool has run; the destination agent has not started yet."""

    from_agent: str
    call_id: str | None
    ctx: str | None
    predecessor: SubAgentStep | None
    """The handoff step of the agent that handed off, if it was itself reached by a handoff."""


@dataclass
class _State:
    runs: dict[Hashable, _Run] = field(default_factory=dict)
    """Open runs by id: LangChain's run ids, and the hooks' own keys for tool runs."""
    pending: dict[str, _Pending] = field(default_factory=dict)
    call_args: dict[str, Any] = field(default_factory=dict)
    converted: dict[int, tuple[BaseMessage, Any, str | None]] = field(default_factory=dict)
    prompts: dict[str, Message] = field(default_factory=dict)
    """System prompt text → its nex message (agents rebuild the system message for every call)."""
    tools: dict[str, list[tuple[Any, ToolSchema]]] = field(default_factory=dict)
    """Tool name → (OpenAI tool dict, schema) pairs already converted (tools are re-bound, as
    equal new dicts, for every call)."""
    models: dict[int, tuple[Any, dict[str, Any]]] = field(default_factory=dict)
    """Chat model → its invocation parameters without the call's (the hooks ask per call)."""
    chained: dict[str, SubAgentStep] = field(default_factory=dict)
    """handoff step id → the handoff step that led to it (its output is the successor's)."""


class NexCallbackHandler(BaseCallbackHandler):
    """Writes LLM, tool and sub-agent steps of a LangGraph run into a :class:`Recorder`."""

    run_inline = True
    raise_error = False

    def __init__(self, recorder: Recorder, *, root_agent: str, agents: Iterable[str]) -> None:
        self.recorder = recorder
        self.root_agent = root_agent
        self.agents = set(agents) | {root_agent}
        self._lock = threading.RLock()
        self._s = _State()
        self.deferred: list[Any] | None = None
        """Events the hooks keep for later (see ``_hooks.flush``); ``None``: record at once."""
        self.began: dict[str, float] = {}
        """Step id → the monotonic clock when its deferred event began it."""
        self.finished = False
        """The session's run has ended: a model, tool or graph call made later from a context
        copied inside it (a background task or thread the run started) is not recorded, and
        the returned trajectory is not changed by it (the hooks stay installed after a run)."""

    def open_runs(self) -> dict[Hashable, _Run]:
        """The open runs by id (the hooks' replay reads which step an event ends)."""
        return self._s.runs

    # ------------------------------------------------------------------ run tree

    def _parent(self, parent_run_id: Hashable | None) -> _Run | None:
        return self._s.runs.get(parent_run_id) if parent_run_id is not None else None

    def _context(self, parent: _Run | None) -> tuple[str, str | None]:
        if parent is None:
            return self.root_agent, None
        return parent.agent, parent.ctx

    def _converted(
        self, messages: Sequence[BaseMessage], traced: _Tracing | None = None
    ) -> list[Any]:
        """Messages as nex messages. Each model call resends the history, mostly the very same
        message objects, so each object is converted once per run (kept alive with its result,
        so an id is never reused while cached). ``traced`` (the hooks') gives a message as
        ``on_chat_model_start`` would have seen it: applied to the messages converted only."""
        out = []
        cache = self._s.converted
        for message in messages:
            hit = cache.get(id(message))
            # create_agent names the model's answer after the model call ended, so a cached
            # conversion is stale once the object's name differs from the one converted (the
            # name LangChain had then, kept beside it: a nex tool message has no name).
            if hit is None or hit[0] is not message:
                seen = traced([message])[0] if traced is not None else message
                hit = cache[id(message)] = (message, self._convert(seen), message.name)
            elif hit[2] != message.name:
                # Only the name changed: for an answer (which keeps its name), a copy with the
                # new name rather than a second conversion.
                renamed = (
                    _build.replaced(hit[1], name=message.name)
                    if isinstance(message, AIMessage)
                    else self._convert(traced([message])[0] if traced is not None else message)
                )
                hit = cache[id(message)] = (message, renamed, message.name)
            out.append(hit[1])
        return out

    def _convert(self, message: BaseMessage) -> Message:
        if type(message) is SystemMessage and isinstance(message.content, str):
            # to_nex keeps only a system message's text, so equal texts convert equally.
            prompt = self._s.prompts.get(message.content)
            if prompt is None:
                prompt = self._s.prompts[message.content] = recorded_message(message)
            return prompt
        return recorded_message(message)

    def _tool_schemas(self, tools: Sequence[Any] | None) -> list[ToolSchema]:
        """The offered tools as schemas, each distinct tool converted once per run."""
        out = []
        cache = self._s.tools
        for tool in tools or ():
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(function, dict) or tool.get("type") != "function":
                out.append(tool_schema(tool))
                continue
            known = cache.setdefault(str(function.get("name")), [])
            found = next((schema for seen, schema in known if seen == tool), None)
            if found is None:
                found = tool_schema(tool)
                known.append((tool, found))
            out.append(found)
        return out

    # ------------------------------------------------------------------ for the hooks (_hooks)

    def knows_call(self, call_id: Any) -> bool:
        """A tool call whose arguments the model's answer gave (``on_tool_start`` uses those)."""
        return bool(call_id) and call_id in self._s.call_args

    def model_params(
        self, model: Any, stop: Any, kwargs: dict[str, Any], skip: frozenset[str]
    ) -> dict[str, Any]:
        """The part of ``model._get_invocation_params(stop, **kwargs)`` (the parameters
        callbacks are given) that a request records (:data:`_READ_PARAMS`). LangChain's own
        method is ``{**model.dict(), "stop": stop, **kwargs}``: for a model that keeps it, the
        model's part is read once per model per run, and only the keys recorded are copied."""
        if type(model)._get_invocation_params is not _BASE_PARAMS:
            call = {k: v for k, v in kwargs.items() if k not in skip}
            return model._get_invocation_params(stop=stop, **call)
        own = self._s.models.get(id(model))
        if own is None or own[0] is not model:
            full = model._get_invocation_params()
            own = self._s.models[id(model)] = (
                model,
                {k: full[k] for k in _READ_PARAMS if k in full},
            )
        params = dict(own[1])
        params["stop"] = stop
        for key, value in kwargs.items():
            if key in _READ_PARAMS and key not in skip:
                params[key] = value
        return params

    # ------------------------------------------------------------------ chains (graphs, nodes)

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        run_name = name or kwargs.get("run_name") or (serialized or {}).get("name") or ""
        with self._lock:
            parent = self._parent(parent_run_id)
            agent, ctx = self._context(parent)
            run = _Run("chain", run_name, agent, ctx)
            self._s.runs[run_id] = run
            if run_name not in self.agents:
                return
            internal = parent is not None and parent.kind == "chain" and parent.agent_root
            pending = self._s.pending.pop(run_name, None) if not internal else None
            if pending is not None:
                step = self.recorder.begin_subagent(
                    agent=pending.from_agent,
                    child=run_name,
                    mode="handoff",
                    call_id=pending.call_id,
                    input=_input_messages(inputs),
                    parent_id=pending.ctx,
                )
                if pending.predecessor is not None:
                    self._s.chained[step.id] = pending.predecessor
                run.step, run.ctx = step, step.id
            elif parent is not None and parent.kind == "tool" and run_name != agent:
                step = self.recorder.begin_subagent(
                    agent=agent,
                    child=run_name,
                    mode="tool",
                    call_id=parent.step.call_id,
                    input=_input_messages(inputs),
                    parent_id=parent.step.id,
                )
                run.step, run.ctx = step, step.id
            elif internal or run_name == agent:
                run.agent_root = run_name == agent
                return
            run.agent, run.agent_root = run_name, True

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            run = self._s.runs.pop(run_id, None)
            if run is not None and isinstance(run.step, SubAgentStep):
                self._close_subagent(run.step, _output_text(outputs))

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            run = self._s.runs.pop(run_id, None)
            if run is None or not isinstance(run.step, SubAgentStep):
                return
            if isinstance(error, GraphBubbleUp):
                # Handed off further: this step ends when its successor does (see _close_subagent).
                for pending in self._s.pending.values():
                    if pending.ctx == run.step.id and pending.predecessor is None:
                        pending.predecessor = run.step
                return
            if isinstance(error, MaxStepsExceeded) and error.agent == run.step.child:
                # As natively: a handed-over agent simply stops; an agent used as a tool fails.
                if run.step.mode == "handoff":
                    self._close_subagent(run.step, None)
                    return
                error = SubAgentFailed(
                    f"agent '{run.step.child}' stopped without an answer (max_steps)"
                )
            self.recorder.end_subagent(run.step, error=error)

    def _close_subagent(self, step: SubAgentStep, output: str | None) -> None:
        current: SubAgentStep | None = step
        while current is not None:
            self.recorder.end_subagent(current, output)
            current = self._s.chained.pop(current.id, None)

    def close_chains(self, output: str | None) -> None:
        """At the end of a run, close handoff steps still waiting for their successor."""
        with self._lock:
            for step in list(self._s.chained.values()):
                if step.ended_at is None:
                    self._close_subagent(step, output)

    # ------------------------------------------------------------------ model calls

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.llm_started(
            run_id, parent_run_id, messages[0] if messages else [], invocation_params or {}
        )

    def llm_started(
        self,
        run_id: UUID,
        parent_run_id: Hashable | None,
        prompt: Sequence[BaseMessage],
        params: dict[str, Any],
        traced: _Tracing | None = None,
    ) -> None:
        """A model call began (``on_chat_model_start`` of one prompt; the hooks call it
        directly, with the prompt as the model got it and ``traced``, which formats a message
        as the callback would have got it): its request, with the messages exactly as sent."""
        # A new list of nex messages, a new list of schemas and a new dict of string keys:
        # what validation would keep, so the request is built without it.
        request = _build.request(
            self._converted(prompt, traced),
            self._tool_schemas(params.get("tools")),
            {k: params[k] for k in _PARAM_KEYS if params.get(k) is not None},
        )
        model = params.get("model_name") or params.get("model")
        with self._lock:
            agent, ctx = self._context(self._parent(parent_run_id))
            step = self.recorder.begin_llm(
                agent=agent,
                request=request,
                model=str(model) if model else None,
                parent_id=ctx,
                metadata={"langchain_run_id": str(run_id)},
            )
            self._s.runs[run_id] = _Run("llm", "", agent, ctx, step=step)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        generations = response.generations
        message = generations[0][0].message if generations and generations[0] else None
        self.llm_ended(run_id, response, getattr(message, "name", None))

    def llm_ended(self, run_id: Hashable, response: Any, name: str | None) -> None:
        """A model call answered; ``name`` is the answer's name when it was given (the hooks
        replay the event later, and create_agent renames the answer once the call is over)."""
        with self._lock:
            run = self._s.runs.pop(run_id, None)
            if run is None:
                return
            generation = response.generations[0][0]
            message = generation.message
            answer = response_of(message, generation.generation_info, run.step.metadata)
            # The answer is usually the very object the next request resends: cached as it is
            # now (with the name it has now, as the next request will convert it).
            self._s.converted[id(message)] = (message, answer.message, message.name)
            if name != message.name:  # renamed since: recorded as it was answered
                _build.assign(answer, "message", _build.replaced(answer.message, name=name))
            for call in answer.message.tool_calls or []:
                self._s.call_args[call.id] = call.function.arguments
            self.recorder.end_llm(run.step, answer)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            run = self._s.runs.pop(run_id, None)
            if run is not None:
                self.recorder.end_llm(run.step, error=error)

    # ------------------------------------------------------------------ tools

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        destination = (metadata or {}).get(HANDOFF_DESTINATION)
        self.tool_started(
            run_id,
            parent_run_id,
            kwargs.get("name") or (serialized or {}).get("name") or "",
            kwargs.get("tool_call_id"),
            inputs,
            input_str,
            str(destination) if destination else None,
        )

    def tool_started(
        self,
        run_id: Hashable,
        parent_run_id: Hashable | None,
        name: str,
        call_id: str | None,
        inputs: dict[str, Any] | None,
        input_str: str,
        destination: str | None,
    ) -> None:
        """A tool's run began (``on_tool_start``; the hooks call it directly, and name runs
        with keys of their own). Its arguments are the model's tool call's where the answer
        gave them, else the tool's input as given (injected arguments left out)."""
        with self._lock:
            agent, ctx = self._context(self._parent(parent_run_id))
            arguments: Any = self._s.call_args.pop(call_id, None) if call_id else None
            if arguments is None:
                arguments = _visible_inputs(inputs) if inputs is not None else input_str
            step = self.recorder.begin_tool(
                agent=agent,
                name=name,
                call_id=call_id,
                arguments=arguments,
                parent_id=ctx,
            )
            self._s.runs[run_id] = _Run(
                "tool", name, agent, ctx, step=step, handoff_to=destination
            )

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.tool_ended(run_id, output)

    def tool_ended(self, run_id: Hashable, output: Any) -> None:
        with self._lock:
            run = self._s.runs.pop(run_id, None)
            if run is None:
                return
            step: ToolStep = run.step
            if isinstance(output, Command):
                destination = run.handoff_to or _goto(output)
                message = _tool_message(output, step.call_id)
                if destination:
                    self._s.pending[destination] = _Pending(run.agent, step.call_id, run.ctx, None)
                self.recorder.end_tool(step, message.content if message is not None else None)
                return
            if isinstance(output, ToolMessage):
                if output.status == "error":
                    error = _described_error(content_text(output.content))
                    self.recorder.end_tool(step, error=error)
                elif isinstance(output.content, list):
                    self.recorder.end_tool(step, content_text(output.content))
                else:
                    self.recorder.end_tool(step, output.content)
                return
            self.recorder.end_tool(step, output)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.tool_failed(run_id, error)

    def tool_failed(self, run_id: Hashable, error: BaseException) -> None:
        with self._lock:
            run = self._s.runs.pop(run_id, None)
            if run is not None and not isinstance(error, GraphInterrupt):
                self.recorder.end_tool(run.step, error=error)
            # A sub-agent's pause interrupts its tool call: left open, closed as the pause's
            # (``_approval.nest_requests``), as the native runtime records it.


# --------------------------------------------------------------------------- helpers


def _input_messages(inputs: Any) -> list[Any]:
    raw = inputs.get("messages") if isinstance(inputs, dict) else None
    if not raw:
        return []
    try:
        return to_nex_all(convert_to_messages(raw))
    except (ValueError, TypeError, NotImplementedError):
        return []


def _output_text(outputs: Any) -> str | None:
    """The answer an agent's run returned: its last assistant message that a model wrote."""
    raw = outputs.get("messages") if isinstance(outputs, dict) else None
    if isinstance(outputs, Command) and isinstance(outputs.update, dict):
        raw = outputs.update.get("messages")
    if not raw:
        return None
    messages: Sequence[BaseMessage] = convert_to_messages(raw)
    for message in reversed(messages):
        if (message.response_metadata or {}).get(HANDOFF_BACK):
            continue
        if isinstance(message, AIMessage | ToolMessage):
            return content_text(message.content)
        return None
    return None


def _visible_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    hidden = {"state", "tool_call_id", "runtime", "config", "store"}
    return {k: v for k, v in inputs.items() if k not in hidden}


def _goto(command: Command) -> str | None:
    goto = command.goto
    targets = goto if isinstance(goto, list | tuple) else [goto]
    for target in targets:
        if isinstance(target, Send):
            return target.node
        if isinstance(target, str) and target:
            return target
    return None


def _tool_message(command: Command, call_id: str | None) -> ToolMessage | None:
    updates: list[Any] = []
    if isinstance(command.update, dict):
        updates += list(command.update.get("messages") or [])
    goto = command.goto if isinstance(command.goto, list | tuple) else [command.goto]
    for target in goto:
        if isinstance(target, Send) and isinstance(target.arg, dict):
            updates += list(target.arg.get("messages") or [])
    for message in reversed(updates):
        if isinstance(message, ToolMessage) and (
            call_id is None or message.tool_call_id == call_id
        ):
            return message
    return None


def _described_error(text: str) -> ErrorInfo:
    """A handled tool error, typed when it reads like nex's ``"Error: Type: message"``."""
    match = _DESCRIBED_ERROR.match(text)
    if match:
        return ErrorInfo(type=match.group(1), message=match.group(2))
    return ErrorInfo(type="ToolException", message=text)


def llm_steps(recorder: Recorder) -> list[LLMStep]:
    return [s for s in recorder.trajectory.steps if isinstance(s, LLMStep)]
