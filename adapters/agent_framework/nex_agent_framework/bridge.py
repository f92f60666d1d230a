"""Any nex ``ChatModel`` as an Agent Framework chat client.

:class:`NexChatClient` is composed from Agent Framework's own layers, in the order its public
clients use (function invocation, then chat middleware, then telemetry, then the base client), so
an ``Agent`` built on it runs the framework's real tool loop, middleware and OpenTelemetry spans;
only the model behind it is nex's. Each request names the calling agent (``agent=``), so one
scripted model can answer several agents from per-agent reply queues.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from typing import Any, ClassVar

from agent_framework import (
    BaseChatClient,
    ChatMiddlewareLayer,
    ChatResponse,
    ChatResponseUpdate,
    Content,
    FunctionInvocationConfiguration,
    FunctionInvocationLayer,
    Message,
    ResponseStream,
)
from agent_framework.observability import ChatTelemetryLayer

from nex_agent_framework.messages import (
    ConversionCache,
    to_chat_response,
    to_nex_request,
    to_updates,
)
from nex_core.models.base import ChatModel
from nex_core.protocol.spec import ModelSettings
from nex_core.trajectory.schema import LLMRequest, LLMResponse


class NexChatClient(
    FunctionInvocationLayer[Any],
    ChatMiddlewareLayer[Any],
    ChatTelemetryLayer[Any],
    BaseChatClient[Any],
):
    """Drives Agent Framework agents with a nex model.

    ``settings`` are the spec's model settings (conversion back to a spec reads them here);
    ``agent`` is the name passed to the nex model with every request.
    """

    OTEL_PROVIDER_NAME: ClassVar[str] = "nex"

    def __init__(
        self,
        model: ChatModel,
        *,
        agent: str | None = None,
        settings: ModelSettings | None = None,
        function_invocation_configuration: FunctionInvocationConfiguration | None = None,
        middleware: Sequence[Any] | None = None,
    ) -> None:
        super().__init__(
            middleware=list(middleware or []),
            function_invocation_configuration=function_invocation_configuration,
        )
        self.nex_model = model
        self.agent = agent
        self.settings = settings or ModelSettings()
        self.model = settings.id if settings is not None and settings.id else model.model_id
        self.raw_arguments: dict[str, str] = {}
        """Call id → the arguments exactly as the model wrote them (read by the protocol's
        middleware: Agent Framework parses them before any middleware sees the call)."""
        self._cache = ConversionCache(bounded=True)
        """The function loop resends the whole conversation with every request: converting
        only what a request adds keeps a run's conversion linear in its length."""

    def _inner_get_response(
        self,
        *,
        messages: Sequence[Message],
        stream: bool,
        options: Mapping[str, Any],
        nex_request: LLMRequest | None = None,
        **kwargs: Any,
    ) -> Awaitable[ChatResponse] | ResponseStream[ChatResponseUpdate, ChatResponse]:
        # ``nex_request``: the request already converted by the recording of this very call
        # (record_light), the object the trajectory records; the model is sent that one.
        if nex_request is None:
            nex_request = to_nex_request(messages, options, self._cache)
        if stream:
            return self._build_response_stream(self._stream(nex_request))
        return self._complete(nex_request)

    async def _complete(self, request: LLMRequest) -> ChatResponse:
        response = await self.nex_model.acomplete(request, agent=self.agent)
        self._note_calls(response)
        return to_chat_response(response, model=self.nex_model.model_id)

    async def _stream(self, request: LLMRequest) -> AsyncIterator[ChatResponseUpdate]:
        model_id = self.nex_model.model_id
        async for chunk in self.nex_model.astream(request, agent=self.agent):
            if chunk.content:
                yield ChatResponseUpdate(
                    role="assistant", contents=[Content.from_text(chunk.content)], model=model_id
                )
            if chunk.final is not None:
                self._note_calls(chunk.final)
                # Tool calls come whole from the final chunk: a model's own deltas may split
                # their arguments anywhere.
                for update in to_updates(chunk.final, model=model_id, text=False):
                    yield update

    def _note_calls(self, response: LLMResponse) -> None:
        for call in response.message.tool_calls or []:
            self.raw_arguments[call.id] = call.function.arguments


def bridge_model(
    model: ChatModel, *, agent: str | None = None, settings: ModelSettings | None = None
) -> NexChatClient:
    """``model`` as an Agent Framework chat client (pass it as ``Agent(client=...)``)."""
    return NexChatClient(model, agent=agent, settings=settings)
