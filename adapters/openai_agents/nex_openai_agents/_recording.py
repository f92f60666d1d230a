"""Recording an Agents SDK run into a nex trajectory, with no change to the app's code.

Two sources, each for what it sees exactly:

- **Model calls** go through a wrapping ``Model``: while a recording is active, the runner's
  model lookup (``agents.run_internal.run_loop.get_model``) returns the agent's own model wrapped,
  so the step records precisely what the runner passed (system instructions, input items, the
  tool and handoff schemas, the settings) and what came back, streamed or not, or the error.
- **Everything else** comes from the SDK's tracing, through one ``TracingProcessor``: agent,
  turn, function (tool) and handoff spans give the tree — a tool's latency and result, an
  agent called as a tool nested under its tool call, a handoff and the agent it hands to.
  Function spans carry no call id: it is the call of that name the same turn's model response
  asked for, claimed in order (the runner starts a turn's tool calls in the order the model
  wrote them). A tool's exception reaches tracing only as text (redacted by the SDK's default
  error handler), so the exception being handled is read where the SDK attaches it to the span.

Spans are delivered synchronously in the task that starts or ends them, so the active recording
is a context variable: concurrent runs each record into their own trajectory.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from typing import Any

from agents import Agent, Handoff, ModelSettings, RunConfig, Tool
from agents.agent_output import AgentOutputSchemaBase
from agents.items import ModelResponse, TResponseInputItem, TResponseStreamEvent
from agents.models.interface import Model, ModelTracing
from agents.tracing import Span, Trace, TracingProcessor, get_current_span
from openai.types.responses import ResponseCompletedEvent
from openai.types.responses.response_prompt_param import ResponsePromptParam

from nex_core.trajectory.recorder import Recorder
from nex_openai_agents._messages import llm_request, llm_response
from nex_openai_agents._spans import RunRecording
from nex_openai_agents.bridge import ModelCall, NexModel, current_call
from nex_openai_agents.names import recorded_name
from nex_openai_agents.structured import request_format

_active: ContextVar[RunRecording | None] = ContextVar("nex_openai_agents_recording", default=None)


def report_tool_error(tool_name: str, error: BaseException) -> None:
    """Mark the current function span failed (as the SDK's own error handler does) and hand
    the exception to the active recording."""
    from agents.tracing import SpanError, get_current_span

    span = get_current_span()
    if span is None:
        return
    span.set_error(
        SpanError(message="Error running tool (non-fatal)", data={"tool_name": tool_name})
    )
    recording = _active.get()
    if recording is not None:
        recording.tool_error(span.span_id, error)


# ---------------------------------------------------------------------- the processor


class NexTracingProcessor(TracingProcessor):
    """Hands every span to the recording active where it starts or ends (if any)."""

    def on_trace_start(self, trace: Trace) -> None:
        pass

    def on_trace_end(self, trace: Trace) -> None:
        pass

    def on_span_start(self, span: Span[Any]) -> None:
        recording = _active.get()
        if recording is not None:
            recording.span_started(span)

    def on_span_end(self, span: Span[Any]) -> None:
        recording = _active.get()
        if recording is not None:
            recording.span_ended(span)

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


PROCESSOR = NexTracingProcessor()


# ---------------------------------------------------------------------- the model wrapper


class RecordingModel(Model):
    """The agent's own model, with each call recorded as an LLM step."""

    def __init__(self, inner: Model, agent: str, recording: RunRecording) -> None:
        self.inner = inner
        self.agent = agent
        self.recording = recording
        self.model_id = _model_id(inner)
        # Whether the inner model is a bridged nex model, asked once: ``Model`` is an ABC, an
        # ``isinstance`` against it half a microsecond each call.
        self._nex: NexModel | None = inner if isinstance(inner, NexModel) else None

    def _begin(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        handoffs: list[Handoff[Any, Any]],
        output_schema: AgentOutputSchemaBase | None = None,
    ) -> tuple[Any, str | None, str | None, ModelCall]:
        if self._nex is not None:
            request = self._nex.request(
                system_instructions, input, model_settings, tools, handoffs, output_schema
            )
        else:
            cache = self.recording.input_cache(self.agent)
            request = llm_request(
                system_instructions, input, model_settings, tools, handoffs, cache
            )
            asked = request_format(output_schema)
            if asked is not None:
                request.params["response_format"] = asked
        turn_span = _current_span_id()
        recording = self.recording
        parent = recording.model_starting(turn_span, self.agent, request.messages)
        step = recording.recorder.begin_llm(
            agent=self.agent, request=request, model=self.model_id, parent_id=parent
        )
        return step, turn_span, parent, ModelCall(self.agent, request)

    def _end(
        self,
        step: Any,
        turn_span: str | None,
        parent: str | None,
        call: ModelCall,
        response: ModelResponse,
        handoffs: list[Handoff[Any, Any]],
    ) -> None:
        # A nex model's own answer (with its token ids and cached-token usage) when the bridge
        # left it; any other model's answer converted from the SDK's output items.
        answer = call.answer if call.answer is not None else llm_response(response)
        self.recording.recorder.end_llm(step, answer)
        self.recording.model_called(turn_span, self.agent, answer, handoffs, parent)

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> ModelResponse:
        step, turn_span, parent, call = self._begin(
            system_instructions, input, model_settings, tools, handoffs, output_schema
        )
        token = current_call.set(call)
        try:
            response = await self.inner.get_response(
                system_instructions,
                input,
                model_settings,
                tools,
                output_schema,
                handoffs,
                tracing,
                previous_response_id=previous_response_id,
                conversation_id=conversation_id,
                prompt=prompt,
            )
        except BaseException as exc:
            self.recording.recorder.end_llm(step, error=exc)
            raise
        finally:
            current_call.reset(token)
        self._end(step, turn_span, parent, call, response, handoffs)
        return response

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        step, turn_span, parent, call = self._begin(
            system_instructions, input, model_settings, tools, handoffs, output_schema
        )
        token = current_call.set(call)
        final: ModelResponse | None = None
        try:
            async for event in self.inner.stream_response(
                system_instructions,
                input,
                model_settings,
                tools,
                output_schema,
                handoffs,
                tracing,
                previous_response_id=previous_response_id,
                conversation_id=conversation_id,
                prompt=prompt,
            ):
                if isinstance(event, ResponseCompletedEvent):
                    final = _completed_response(event)
                yield event
        except BaseException as exc:
            self.recording.recorder.end_llm(step, error=exc)
            raise
        finally:
            current_call.reset(token)
        if final is None:
            self.recording.recorder.end_llm(step, error="the stream ended without a response")
            return
        self._end(step, turn_span, parent, call, final, handoffs)

    async def close(self) -> None:
        await self.inner.close()


def _completed_response(event: ResponseCompletedEvent) -> ModelResponse:
    from agents.usage import Usage

    usage = event.response.usage
    kept = Usage(
        requests=1,
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        total_tokens=usage.total_tokens if usage else 0,
    )
    if usage is not None and usage.input_tokens_details is not None:
        kept.input_tokens_details = usage.input_tokens_details  # cached tokens, when reported
    return ModelResponse(
        output=list(event.response.output), usage=kept, response_id=event.response.id
    )


def _model_id(model: Model) -> str | None:
    if isinstance(model, NexModel):
        return model.model_id
    return getattr(model, "model", None) or type(model).__name__


def _current_span_id() -> str | None:
    span = get_current_span()  # imported at the top: a ``from`` import here ran once per call
    return getattr(span, "span_id", None) if span is not None else None


# ---------------------------------------------------------------------- installation

_installed = False
_install_lock = threading.Lock()


def _install() -> None:
    """Wrap the runner's model lookup and the SDK's tool-error tracing (once per process); both
    wrappers do nothing unless a recording is active in the calling context."""
    global _installed
    with _install_lock:
        if not _installed:
            from agents.run_internal import run_loop
            from agents.util import _error_tracing

            original_get_model = run_loop.get_model
            original_attach = _error_tracing.attach_error_to_current_span

            def get_model(agent: Agent[Any], run_config: RunConfig) -> Model:
                model = original_get_model(agent, run_config)
                recording = _active.get()
                # An exact type check: ``Model`` is an ABC, and the runner asks every turn.
                if recording is None or type(model) is RecordingModel:
                    return model
                return recording.wrapped(model, recorded_name(recording, agent), RecordingModel)

            def attach_error_to_current_span(error: Any) -> None:
                recording = _active.get()
                handled = sys.exc_info()[1]
                span_id = _current_span_id()
                if recording is not None and handled is not None and span_id is not None:
                    recording.tool_error(span_id, handled)
                original_attach(error)

            run_loop.get_model = get_model
            _error_tracing.attach_error_to_current_span = attach_error_to_current_span
            _installed = True
    _ensure_processor()


def _ensure_processor() -> None:
    """Our processor among the SDK's (again, if the app replaced them with
    ``set_trace_processors`` since)."""
    from agents.tracing import add_trace_processor, get_trace_provider

    multi = getattr(get_trace_provider(), "_multi_processor", None)
    processors = getattr(multi, "_processors", ())
    if PROCESSOR not in processors:
        add_trace_processor(PROCESSOR)


@contextlib.contextmanager
def recording(recorder: Recorder, root_parent: str | None = None) -> Iterator[RunRecording]:
    """Record every Agents SDK run started inside the block into ``recorder``."""
    _install()
    run = RunRecording(recorder, root_parent)
    token = _active.set(run)
    try:
        with recorder.active():
            yield run
    finally:
        _active.reset(token)
