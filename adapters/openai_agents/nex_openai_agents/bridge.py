"""Any nex ``ChatModel`` as an Agents SDK ``Model`` and ``ModelProvider``.

The SDK does not tell a model which agent calls it, but scripted models key their replies by
agent: the bridge passes its own ``agent`` when it was made for one agent, else the name of the
agent the SDK is running (the recorder's current agent, or the current agent span of the SDK's
tracing).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from agents import Handoff, ModelSettings, Tool
from agents.agent_output import AgentOutputSchemaBase
from agents.items import ModelResponse, TResponseInputItem, TResponseStreamEvent
from agents.models.interface import Model, ModelProvider, ModelTracing
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseTextDeltaEvent,
)
from openai.types.responses.response_prompt_param import ResponsePromptParam

from nex_core.models.base import ChatModel
from nex_core.protocol.spec import ToolFormat
from nex_core.trajectory.schema import LLMRequest, LLMResponse
from nex_openai_agents._messages import InputCache, llm_request, model_response
from nex_openai_agents.structured import request_format


@dataclass(slots=True)
class ModelCall:
    """A model call the recorder makes through a :class:`NexModel`: the agent calling and the
    request the recorder built (sent as it is, not built twice); the bridge leaves the nex
    model's answer here, so the step records it as the model gave it (token ids, logprobs,
    cached tokens) without converting the SDK's items back."""

    agent: str
    request: LLMRequest
    answer: LLMResponse | None = None


current_call: ContextVar[ModelCall | None] = ContextVar(
    "nex_openai_agents_model_call", default=None
)


class NexModel(Model):
    """Drives Agents SDK agents with a nex model.

    ``agent`` names the agent this bridge serves (scripted models reply per agent); ``None``
    means: whichever agent is calling. ``settings`` are the spec's sampling parameters, sent
    with every request unless the SDK's ``ModelSettings`` set them. ``observer`` sees every
    answer before the SDK does (a built agent's approval tools watch the batch).
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        agent: str | None = None,
        settings: dict[str, Any] | None = None,
        observer: Callable[[LLMResponse], None] | None = None,
    ) -> None:
        self.model = model
        self.agent = agent
        self.settings = dict(settings or {})
        self.observer = observer
        self._inputs = InputCache(ordered_results=True)

    @property
    def model_id(self) -> str:
        return self.model.model_id

    def request(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        handoffs: list[Handoff[Any, Any]],
        output_schema: AgentOutputSchemaBase | None = None,
    ) -> LLMRequest:
        request = llm_request(
            system_instructions, input, model_settings, tools, handoffs, self._inputs
        )
        for key, value in self.settings.items():
            request.params.setdefault(key, value)
        asked = request_format(output_schema)
        if asked is not None:
            request.params["response_format"] = asked
        return request

    def _agent(self, call: ModelCall | None) -> str | None:
        return self.agent or (call.agent if call else None) or _current_agent_span_name()

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
        call = current_call.get()
        request = call.request if call else None
        if request is None:
            request = self.request(
                system_instructions, input, model_settings, tools, handoffs, output_schema
            )
        response = await self.model.acomplete(
            request, agent=self._agent(call), tool_format=ToolFormat.NATIVE
        )
        if call is not None:
            call.answer = response
        if self.observer is not None:
            self.observer(response)
        return model_response(response)

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
        """The nex model's stream as Responses events: created, a text delta per text chunk,
        then completed with the whole response (which is what the SDK's runner keeps)."""
        call = current_call.get()
        request = call.request if call else None
        if request is None:
            request = self.request(
                system_instructions, input, model_settings, tools, handoffs, output_schema
            )
        response_id = f"resp_{uuid.uuid4().hex[:24]}"
        item_id = f"msg_{uuid.uuid4().hex[:24]}"
        sequence = 0
        yield ResponseCreatedEvent(
            type="response.created",
            sequence_number=sequence,
            response=_response(response_id, self.model_id, [], model_settings),
        )
        final: LLMResponse | None = None
        async for chunk in self.model.astream(
            request, agent=self._agent(call), tool_format=ToolFormat.NATIVE
        ):
            if chunk.final is not None:
                final = chunk.final
            elif chunk.content:
                sequence += 1
                yield ResponseTextDeltaEvent(
                    type="response.output_text.delta",
                    item_id=item_id,
                    output_index=0,
                    content_index=0,
                    delta=chunk.content,
                    logprobs=[],
                    sequence_number=sequence,
                )
        if final is None:
            from nex_core.errors import ModelError

            raise ModelError("the model's stream ended without a final response")
        if call is not None:
            call.answer = final
        if self.observer is not None:
            self.observer(final)
        answer = model_response(final)
        sequence += 1
        yield ResponseCompletedEvent(
            type="response.completed",
            sequence_number=sequence,
            response=_response(response_id, self.model_id, answer.output, model_settings, answer),
        )


_NO_DETAILS_IN = {"cached_tokens": 0, "cache_write_tokens": 0}
_NO_DETAILS_OUT = {"reasoning_tokens": 0}


def _response(
    response_id: str,
    model: str,
    output: list[Any],
    settings: ModelSettings,
    answer: ModelResponse | None = None,
) -> Response:
    from openai.types.responses import ResponseUsage
    from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

    usage = None
    if answer is not None:
        usage = ResponseUsage(
            input_tokens=answer.usage.input_tokens,
            output_tokens=answer.usage.output_tokens,
            total_tokens=answer.usage.total_tokens,
            input_tokens_details=InputTokensDetails.model_validate(_NO_DETAILS_IN),
            output_tokens_details=OutputTokensDetails.model_validate(_NO_DETAILS_OUT),
        )
    return Response(
        id=response_id,
        created_at=time.time(),
        model=model,
        object="response",
        output=output,
        parallel_tool_calls=settings.parallel_tool_calls is not False,
        tool_choice="auto",
        tools=[],
        usage=usage,
    )


class NexModelProvider(ModelProvider):
    """Every model name the SDK asks for answers with the same nex model (``RunConfig(
    model_provider=NexModelProvider(model))`` drives agents whose ``model`` is a string)."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model

    def get_model(self, model_name: str | None) -> Model:
        return NexModel(self.model)


def bridge_model(model: ChatModel, *, agent: str | None = None) -> NexModel:
    """``model`` as an Agents SDK ``Model`` (for ``Agent(model=...)``)."""
    return NexModel(model, agent=agent)


def _current_agent_span_name() -> str | None:
    from agents.tracing import get_current_span
    from agents.tracing.span_data import AgentSpanData, TurnSpanData

    data = getattr(get_current_span(), "span_data", None)
    if isinstance(data, AgentSpanData):
        return data.name
    if isinstance(data, TurnSpanData):
        return data.agent_name
    return None
