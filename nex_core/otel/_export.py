"""One trajectory as GenAI-convention spans: the run, its model calls, tools and sub-agents.

The run is an ``invoke_agent`` span; each LLM step a ``chat`` span (CLIENT), each tool step an
``execute_tool`` span, each sub-agent call an ``invoke_agent`` span, every step under its
parent step's span, so sub-agents nest by span parent. A failed step has status ERROR and
``error.type``. Times are the recorded ones. Message content, tool definitions, arguments and
results are written only with ``capture_content`` (the conventions make them opt-in).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nex_core.otel import semconv as sc
from nex_core.otel._messages import message_to_genai, messages_to_genai, tools_to_genai
from nex_core.otel._require import require
from nex_core.trajectory.schema import (
    InputStep,
    LLMStep,
    Message,
    OutcomeStatus,
    StepStatus,
    SubAgentStep,
    ToolStep,
    Trajectory,
)

if TYPE_CHECKING:  # the otel extra is imported when a writer is made, not with this module
    from opentelemetry.trace import Span, SpanKind, Tracer

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
AnyStep = LLMStep | ToolStep | SubAgentStep


def nanos(when: datetime) -> int:
    """Exact nanoseconds since the epoch (``timestamp()`` is a float and drops microseconds)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _provider(trajectory: Trajectory) -> str:
    model = trajectory.provenance.model or ""
    provider, sep, _ = model.partition(":")
    return provider if sep and provider else trajectory.provenance.framework


class SpanWriter:
    """Writes trajectories through one tracer."""

    def __init__(self, tracer: Tracer, *, capture_content: bool) -> None:
        self.otel = require("opentelemetry.trace", "writing spans")
        self.tracer = tracer
        self.capture_content = capture_content

    def _error(self, message: str | None) -> Any:
        return self.otel.Status(self.otel.StatusCode.ERROR, message)

    def write(self, trajectory: Trajectory) -> None:
        end = trajectory.ended_at or trajectory.started_at
        root_agent = trajectory.root_agent or "agent"
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_INVOKE_AGENT,
            sc.PROVIDER_NAME: _provider(trajectory),
            sc.AGENT_NAME: root_agent,
            sc.CONVERSATION_ID: trajectory.id,
            sc.NEX_TRAJECTORY_ID: trajectory.id,
            sc.NEX_PROVENANCE: trajectory.provenance.model_dump_json(exclude_none=True),
        }
        if trajectory.task.id is not None:
            attributes[sc.NEX_TASK_ID] = trajectory.task.id
        outcome = trajectory.outcome
        if outcome is not None:
            attributes[sc.NEX_OUTCOME_STATUS] = outcome.status.value
            if outcome.stop_reason:
                attributes[sc.NEX_STOP_REASON] = outcome.stop_reason
        if self.capture_content:
            attributes[sc.NEX_TASK_TURNS] = _json(list(trajectory.task.turns))
            attributes[sc.INPUT_MESSAGES] = messages_to_genai(
                [Message.user(t) for t in trajectory.task.turns]
            )
            if outcome is not None and outcome.final_output is not None:
                attributes[sc.NEX_FINAL_OUTPUT] = outcome.final_output
                attributes[sc.OUTPUT_MESSAGES] = _json(
                    [
                        {
                            "role": "assistant",
                            "parts": [{"type": "text", "content": outcome.final_output}],
                            "finish_reason": "stop",
                        }
                    ]
                )
        root = self.tracer.start_span(
            f"{sc.OP_INVOKE_AGENT} {root_agent}",
            kind=self.otel.SpanKind.INTERNAL,
            attributes=attributes,
            start_time=nanos(trajectory.started_at),
        )
        if outcome is not None and outcome.status in (OutcomeStatus.ERROR, OutcomeStatus.CANCELLED):
            error = outcome.error
            root.set_attribute(sc.ERROR_TYPE, error.type if error else outcome.status.value)
            root.set_status(self._error(error.message if error else None))
        by_parent: dict[str | None, list[AnyStep]] = {}
        known = {s.id for s in trajectory.steps}
        for step in trajectory.steps:
            if isinstance(step, InputStep):
                # What a human sent to a paused run has no GenAI span kind: it is an event
                # on the run's span (its value only with content capture).
                event: dict[str, Any] = {sc.NEX_INPUT_MODE: step.mode}
                if self.capture_content:
                    event[sc.NEX_INPUT_VALUE] = json.dumps(step.value, default=str)
                root.add_event(sc.NEX_INPUT_EVENT, event, timestamp=nanos(step.started_at))
                continue
            by_parent.setdefault(step.parent_id if step.parent_id in known else None, []).append(
                step
            )
        self._children(None, root, by_parent, trajectory, end)
        root.end(end_time=nanos(end))

    def _children(
        self,
        parent_id: str | None,
        parent_span: Span,
        by_parent: Mapping[str | None, list[AnyStep]],
        trajectory: Trajectory,
        default_end: datetime,
    ) -> None:
        context = self.otel.set_span_in_context(parent_span)
        for step in by_parent.get(parent_id, []):
            name, kind, attributes = self._describe(step, trajectory)
            attributes[sc.NEX_STEP_ID] = step.id
            attributes[sc.NEX_STEP_STATUS] = step.status.value
            if step.agent is not None:
                attributes[sc.NEX_STEP_AGENT] = step.agent
            span = self.tracer.start_span(
                name,
                context=context,
                kind=kind,
                attributes=attributes,
                start_time=nanos(step.started_at),
            )
            if step.status in (StepStatus.ERROR, StepStatus.CANCELLED):
                span.set_attribute(sc.ERROR_TYPE, step.error.type if step.error else "cancelled")
                span.set_status(
                    self._error(step.error.message if step.error else "cancelled")
                )
            self._children(step.id, span, by_parent, trajectory, default_end)
            span.end(end_time=nanos(step.ended_at or default_end))

    def _describe(
        self, step: AnyStep, trajectory: Trajectory
    ) -> tuple[str, SpanKind, dict[str, Any]]:
        if isinstance(step, LLMStep):
            return self._llm(step, trajectory)
        if isinstance(step, ToolStep):
            return self._tool(step)
        return self._subagent(step)

    def _llm(self, step: LLMStep, trajectory: Trajectory) -> tuple[str, SpanKind, dict[str, Any]]:
        model = step.model or trajectory.provenance.model or "unknown"
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_CHAT,
            sc.PROVIDER_NAME: _provider(trajectory),
            sc.REQUEST_MODEL: model,
        }
        if step.agent is not None:
            attributes[sc.AGENT_NAME] = step.agent
        others: dict[str, Any] = {}
        for key, value in step.request.params.items():
            name = sc.REQUEST_PARAMS.get(key)
            if name is not None and isinstance(value, int | float | str) and key != "stop":
                attributes[name] = value
            elif key == "stop" and isinstance(value, list | str):
                attributes[name or key] = [value] if isinstance(value, str) else list(value)
            elif key != "tools":
                others[key] = value
        if others:
            attributes[sc.NEX_REQUEST_PARAMS] = _json(others)
        response = step.response
        if response is not None:
            if response.finish_reason:
                attributes[sc.RESPONSE_FINISH_REASONS] = [response.finish_reason]
            if response.usage is not None:
                attributes[sc.USAGE_INPUT_TOKENS] = response.usage.prompt_tokens
                attributes[sc.USAGE_OUTPUT_TOKENS] = response.usage.completion_tokens
                if response.usage.cached_tokens is not None:
                    attributes[sc.USAGE_CACHE_READ_TOKENS] = response.usage.cached_tokens
        if self.capture_content:
            attributes[sc.INPUT_MESSAGES] = messages_to_genai(step.request.messages)
            if step.request.tools:
                attributes[sc.TOOL_DEFINITIONS] = tools_to_genai(step.request.tools)
            if response is not None:
                out = message_to_genai(response.message)
                out["finish_reason"] = response.finish_reason or "stop"
                attributes[sc.OUTPUT_MESSAGES] = _json([out])
        return f"{sc.OP_CHAT} {model}", self.otel.SpanKind.CLIENT, attributes

    def _tool(self, step: ToolStep) -> tuple[str, SpanKind, dict[str, Any]]:
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL,
            sc.TOOL_NAME: step.name,
            sc.TOOL_TYPE: "function",
        }
        if step.call_id is not None:
            attributes[sc.TOOL_CALL_ID] = step.call_id
        if self.capture_content:
            if step.arguments is not None:
                attributes[sc.TOOL_CALL_ARGUMENTS] = _json(step.arguments)
            if step.raw_arguments is not None:
                attributes[sc.NEX_RAW_ARGUMENTS] = step.raw_arguments
            if step.error is None and step.status is StepStatus.OK:
                attributes[sc.TOOL_CALL_RESULT] = _json(step.result)
        return f"{sc.OP_EXECUTE_TOOL} {step.name}", self.otel.SpanKind.INTERNAL, attributes

    def _subagent(self, step: SubAgentStep) -> tuple[str, SpanKind, dict[str, Any]]:
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_INVOKE_AGENT,
            sc.AGENT_NAME: step.child,
            sc.NEX_SUBAGENT_MODE: step.mode,
        }
        if step.call_id is not None:
            attributes[sc.NEX_CALL_ID] = step.call_id
        if self.capture_content:
            attributes[sc.INPUT_MESSAGES] = messages_to_genai(step.input)
            if step.output is not None:
                attributes[sc.OUTPUT_MESSAGES] = _json(
                    [
                        {
                            "role": "assistant",
                            "parts": [{"type": "text", "content": step.output}],
                            "finish_reason": "stop",
                        }
                    ]
                )
        return f"{sc.OP_INVOKE_AGENT} {step.child}", self.otel.SpanKind.INTERNAL, attributes
