"""The span tree of one Agents SDK run, mapped onto nex steps (see ``_recording``).

Agent spans open sub-agent steps (a handoff, or an agent called as a tool when the span sits
under a function span), function spans are tool steps, handoff spans become the handoff's tool
step; turn, task and custom spans are transparent. Call ids come from the model response of the
same turn, claimed in order by name.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from agents import Handoff
from agents.tracing import Span
from agents.tracing.span_data import (
    AgentSpanData,
    FunctionSpanData,
    HandoffSpanData,
    TurnSpanData,
)

from nex_core.protocol.approval import REJECTED_ERROR_TYPE
from nex_core.trajectory.recorder import Recorder, error_info
from nex_core.trajectory.schema import (
    ErrorInfo,
    LLMResponse,
    Message,
    StepStatus,
    SubAgentStep,
    ToolStep,
)
from nex_openai_agents._messages import InputCache
from nex_openai_agents._nested import Reopened


@dataclass(slots=True)
class _Turn:
    """One model call's answer, for claiming call ids by the tools and handoffs that follow."""

    agent: str
    parent: str | None
    calls: list[tuple[str, str, str]]
    """(call id, tool name, arguments) not yet claimed by a tool or handoff span."""
    handoffs: list[Handoff[Any, Any]]
    """The handoffs offered in this call."""


@dataclass(slots=True)
class _SpanInfo:
    agent: str | None
    parent: str | None
    """nex step that steps of this span hang under."""
    step: ToolStep | SubAgentStep | None = None


class RunRecording:
    """The span tree of one run, mapped onto one :class:`Recorder`."""

    def __init__(self, recorder: Recorder, root_parent: str | None = None) -> None:
        self.recorder = recorder
        self.root_parent = root_parent
        self._spans: dict[str, _SpanInfo] = {}
        self._turns: dict[str, _Turn] = {}
        self._pending_handoff: dict[str | None, tuple[str | None, str | None, str]] = {}
        """Scope (parent span of the agent spans of one ``Runner.run``) → (call id, parent step,
        agent handing off) of the handoff its next agent span continues."""
        self._handoff_steps: dict[str | None, list[SubAgentStep]] = {}
        self._errors: dict[str, BaseException] = {}
        self._span_parents: dict[str, str | None] = {}
        self._subagents_under: dict[str, list[SubAgentStep]] = {}
        """Tool step id → the sub-agent steps (agents called as tools) under it."""
        self._waiting_input: dict[str, SubAgentStep] = {}
        """Sub-agent steps whose input the child's first model call fills, by step id."""
        self._lock = threading.Lock()
        self._inputs: dict[str, InputCache] = {}
        self._wrapped: dict[tuple[int, str], tuple[Any, Any]] = {}
        """(id(model), agent) → (model, its recording wrapper); the model kept alive so its
        id is not reused within the run."""
        self.resumed_calls: list[tuple[str, str, str]] = []
        """A resumed run's pending batch (call id, name, arguments): its tool spans follow no
        model call of this run, so they claim their ids here."""
        self.reopened: dict[str, Reopened] = {}
        """A resumed run's calls carried on inside agents called as tools, by call id: their
        sub-agent steps keep the paused input and hold the calls rejected in them."""
        self.names: Any = None
        """The run's agent names (``nex_openai_agents.names``), given at its first model call."""

    def wrapped(self, model: Any, agent: str, make: Any) -> Any:
        """The recording wrapper of ``agent``'s ``model`` (``make(model, agent, self)``), one
        per model and agent for the run: the runner looks the model up again every turn."""
        key = (id(model), agent)
        hit = self._wrapped.get(key)
        if hit is None or hit[0] is not model:
            hit = self._wrapped[key] = (model, make(model, agent, self))
        return hit[1]

    def input_cache(self, agent: str) -> InputCache:
        """The incremental input conversion for ``agent``'s calls (models other than a
        bridged nex model, which keeps its own)."""
        cache = self._inputs.get(agent)
        if cache is None:
            cache = self._inputs[agent] = InputCache()
        return cache

    # ------------------------------------------------------------------ spans

    def _info(self, span_id: str | None) -> _SpanInfo | None:
        return self._spans.get(span_id) if span_id else None

    def span_started(self, span: Span[Any]) -> None:
        span_id, parent_id = span.span_id, span.parent_id
        self._span_parents[span_id] = parent_id
        data = span.span_data
        kind = _KINDS.get(type(data))
        if kind is None:
            kind = _kind_of(data)
        parent = self._spans.get(parent_id) if parent_id else None
        if parent is not None:
            parent_step, agent = parent.parent, parent.agent
        else:
            parent_step, agent = self.root_parent, None
        if kind is _TURN:
            self._spans[span_id] = _SpanInfo(data.agent_name or agent, parent_step)
        elif kind is _FUNCTION:
            call_id, arguments = self._claim(parent_id, data.name)
            step = self.recorder.begin_tool(
                agent=agent,
                name=data.name,
                call_id=call_id,
                arguments=arguments,
                parent_id=parent_step,
            )
            self._spans[span_id] = _SpanInfo(agent, step.id, step)
        elif kind is _AGENT:
            self._agent_started(span, data.name, parent, parent_step)
        elif parent is not None:  # task, handoff, guardrail, custom spans: transparent
            tool = parent.step if type(parent.step) is ToolStep else None
            self._spans[span_id] = _SpanInfo(agent, parent_step, tool)
        else:
            self._spans[span_id] = _SpanInfo(None, self.root_parent, None)

    def _agent_started(
        self, span: Span[Any], name: str, parent: _SpanInfo | None, parent_step: str | None
    ) -> None:
        scope = span.parent_id
        pending = self._pending_handoff.pop(scope, None)
        tool_step = _enclosing_tool(parent)
        if pending is not None:
            call_id, from_parent, from_agent = pending
            step = self.recorder.begin_subagent(
                agent=from_agent,
                child=name,
                mode="handoff",
                input=[],
                call_id=call_id,
                parent_id=from_parent,
            )
            self._handoff_steps.setdefault(scope, []).append(step)
            self._spans[span.span_id] = _SpanInfo(name, step.id, step)
            self._waiting_input[step.id] = step
        elif tool_step is not None and tool_step.id not in self._subagents_under:
            step = self.recorder.begin_subagent(
                agent=tool_step.agent,
                child=name,
                mode="tool",
                input=[],
                call_id=tool_step.call_id,
                parent_id=tool_step.id,
            )
            self._spans[span.span_id] = _SpanInfo(name, step.id, step)
            self._subagents_under[tool_step.id] = [step]
            carried = self.reopened.pop(tool_step.call_id or "", None)
            if carried is None:
                self._waiting_input[step.id] = step
            else:
                self._carry_on(step, carried)
        else:
            self._spans[span.span_id] = _SpanInfo(name, parent_step, None)
        if parent is not None and parent.agent is None:
            parent.agent = name

    def _carry_on(self, step: SubAgentStep, carried: Reopened) -> None:
        """A re-opened call's sub-agent step: the input it was given when it paused (its next
        model call's request holds the whole conversation since), and the calls the human
        rejected in it, which the SDK runs no span for."""
        # The agent the call was made to, as when it paused (the SDK's child run goes on
        # with the agent it last handed off to, if any).
        step.child = carried.child
        step.input = list(carried.input)
        for asker, call_id, name, arguments, message in carried.rejected:
            tool = self.recorder.begin_tool(
                agent=asker or step.child,
                name=name,
                call_id=call_id,
                arguments=arguments,
                parent_id=step.id,
            )
            self.recorder.end_tool(tool, error=ErrorInfo(type=REJECTED_ERROR_TYPE, message=message))

    def span_ended(self, span: Span[Any]) -> None:
        info = self._spans.get(span.span_id)
        if info is None:
            return
        data = span.span_data
        kind = _KINDS.get(type(data))
        if kind is None:
            kind = _kind_of(data)
        if kind is _FUNCTION:
            if type(info.step) is ToolStep:
                self._tool_ended(span, data, info.step)
        elif kind is _HANDOFF:
            self._handoff_ended(span, data, info)

    def _tool_ended(self, span: Span[Any], data: FunctionSpanData, step: ToolStep) -> None:
        if step.arguments is None and step.raw_arguments is None and data.input is not None:
            from nex_core.trajectory.recorder import parse_arguments

            step.arguments, step.raw_arguments = parse_arguments(data.input)
        for child in self._subagents_under.get(step.id, ()):
            if child.status is StepStatus.RUNNING:
                self.recorder.end_subagent(child, _text(data.output))
        error = self._errors.pop(span.span_id, None)
        if error is not None or span.error is not None:
            self.recorder.end_tool(step, error=_error(error, span.error, data.output))
        else:
            self.recorder.end_tool(step, data.output)

    def _handoff_ended(self, span: Span[Any], data: HandoffSpanData, info: _SpanInfo) -> None:
        turn = self._turns.get(span.parent_id or "")
        target = data.to_agent
        if turn is None or target is None:
            return
        handoff = next((h for h in turn.handoffs if h.agent_name == target), None)
        tool_name = handoff.tool_name if handoff is not None else None
        call_id, arguments = self._claim(span.parent_id, tool_name) if tool_name else (None, None)
        step = self.recorder.begin_tool(
            agent=turn.agent,
            name=tool_name or f"transfer_to_{target}",
            call_id=call_id,
            arguments=arguments,
            parent_id=turn.parent,
        )
        self.recorder.end_tool(step, _transfer_message(handoff, target))
        scope = self._agent_scope(span.parent_id)
        self._pending_handoff[scope] = (call_id, turn.parent, turn.agent)

    def _agent_scope(self, turn_span: str | None) -> str | None:
        """The scope of the agent span a turn belongs to (its parent span)."""
        return self._span_parents.get(self._span_parents.get(turn_span or "", "") or "", None)

    # ------------------------------------------------------------------ model calls

    def turn(self, turn_span: str | None) -> _Turn | None:
        return self._turns.get(turn_span or "")

    def model_called(
        self,
        turn_span: str | None,
        agent: str,
        answer: LLMResponse,
        handoffs: list[Any],
        parent: str | None,
    ) -> None:
        """``parent``: what :meth:`model_starting` gave for this call."""
        calls = answer.message.tool_calls
        self._turns[turn_span or ""] = _Turn(
            agent,
            parent,
            [(c.id, c.function.name, c.function.arguments) for c in calls] if calls else [],
            list(handoffs),  # read when a handoff span of this turn ends
        )

    def model_starting(
        self, turn_span: str | None, agent: str, messages: list[Message]
    ) -> str | None:
        """A model call of ``agent`` in turn span ``turn_span`` begins: the step it hangs under
        (returned), its name on the spans (:meth:`_named`), and the input of the sub-agent
        step it is the child's first call in (:meth:`_fill_subagent_input`)."""
        info = self._spans.get(turn_span) if turn_span else None
        if info is None:
            parent = self.root_parent
        else:
            parent = info.parent
            if info.agent != agent:
                self._named(turn_span, info, agent)
        if parent is not None and self._waiting_input:
            self._fill_subagent_input(parent, messages)
        return parent

    def _named(self, turn_span: str | None, turn: _SpanInfo, agent: str) -> None:
        """Spans carry the SDK's agent name, which two agents may share: the name the model
        call is recorded under (``nex_openai_agents.names``) replaces it on the turn, its agent
        span and the sub-agent step that span opened, before their tool steps begin."""
        turn.agent = agent
        span = self._info(self._span_parents.get(turn_span or ""))
        if span is not None:
            span.agent = agent
            if isinstance(span.step, SubAgentStep):
                span.step.child = agent

    def _fill_subagent_input(self, parent: str, messages: list[Message]) -> None:
        """A child's first request shows what it was given (its messages after the system
        prompt): the input of the sub-agent step it runs under."""
        step = self._waiting_input.pop(parent, None)
        if step is not None and not step.input:
            step.input = [m for m in messages if m.role != "system"]

    def _claim(self, turn_span: str | None, name: str | None) -> tuple[str | None, str | None]:
        turn = self._turns.get(turn_span or "")
        calls = turn.calls if turn is not None else self.resumed_calls
        with self._lock:
            for i, (call_id, call_name, arguments) in enumerate(calls):
                if call_name == name:
                    del calls[i]
                    return call_id, arguments
        return None, None

    def tool_error(self, span_id: str, error: BaseException) -> None:
        self._errors[span_id] = error

    # ------------------------------------------------------------------ ending

    def close_handoffs(self, output: str | None, error: BaseException | None = None) -> None:
        """End the handoff steps still open (innermost first) with the run's final output."""
        for steps in self._handoff_steps.values():
            for step in reversed(steps):
                if step.status is StepStatus.RUNNING:
                    step.output = output
                    self.recorder.end_subagent(step, output, error=error)


def _enclosing_tool(info: _SpanInfo | None) -> ToolStep | None:
    if info is not None and type(info.step) is ToolStep:
        return info.step
    return None


# What a span's data is, by its exact class: the SDK's span data classes are ABCs, where an
# ``isinstance`` costs about half a microsecond, and every span was tested against up to four of
# them when it started and two when it ended. A class is sorted once by ``isinstance`` (so a
# subclass of one of them counts as it), then looked up by ``type()``.
_AGENT, _TURN, _FUNCTION, _HANDOFF, _OTHER = "agent", "turn", "function", "handoff", "other"
_KINDS: dict[type, str] = {}


def _kind_of(data: Any) -> str:
    if isinstance(data, AgentSpanData):
        kind = _AGENT
    elif isinstance(data, TurnSpanData):
        kind = _TURN
    elif isinstance(data, FunctionSpanData):
        kind = _FUNCTION
    elif isinstance(data, HandoffSpanData):
        kind = _HANDOFF
    else:
        kind = _OTHER
    _KINDS[type(data)] = kind  # a race fills the same value twice: harmless
    return kind


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _transfer_message(handoff: Handoff[Any, Any] | None, target: str) -> str:
    if handoff is None:
        return f'{{"assistant": "{target}"}}'
    return handoff.get_transfer_message(_NamedAgent(target))  # type: ignore[arg-type]


@dataclass
class _NamedAgent:
    name: str


def _error(error: BaseException | None, span_error: Any, output: Any) -> ErrorInfo:
    if error is not None:
        return error_info(error)
    message = None
    if isinstance(span_error, dict):
        data = span_error.get("data") or {}
        message = data.get("error") or span_error.get("message")
    return ErrorInfo(type="ToolError", message=str(message or output or "tool failed"))
