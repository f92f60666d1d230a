"""One small chat-model interface shared by the runtime, the adapters' bridges and the pipeline."""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from nex_core.protocol.spec import ToolFormat
from nex_core.trajectory import _build
from nex_core.trajectory.schema import LLMRequest, LLMResponse, Message, ToolCall


@dataclass
class ResponseChunk:
    """A piece of a streamed response (text delta or one tool call's delta)."""

    content: str = ""
    tool_call_index: int | None = None
    tool_call_id: str | None = None
    tool_name: str | None = None
    arguments_delta: str = ""
    final: LLMResponse | None = None
    """Set on the last chunk: the whole response, as ``acomplete`` would have returned it."""


@dataclass
class ModelCall:
    """What a model received, kept by test models for checking against trajectories."""

    agent: str | None
    request: LLMRequest
    tool_format: ToolFormat = ToolFormat.NATIVE
    extra: dict[str, Any] = field(default_factory=dict)


def request_snapshot(request: LLMRequest) -> LLMRequest:
    """What a test model keeps of a request it received: its lists and params copied (a caller
    may go on appending to them), the messages and tool schemas themselves shared, since nex
    never changes one once built. A deep copy per call made a run of n calls O(n²); the copy is
    ``model_copy(update=...)``'s, without its machinery (half the time)."""
    return _build.replaced(
        request,
        messages=list(request.messages),
        tools=list(request.tools),
        params=dict(request.params),
    )


class ChatModel(ABC):
    """A chat model. Implementations override :meth:`acomplete`; the rest derives from it."""

    model_id: str = "unknown"
    provider: str = "unknown"

    @abstractmethod
    async def acomplete(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> LLMResponse:
        """Answer ``request``. ``agent`` names the calling agent (scripted models key replies by
        it); ``tool_format`` says how tool calls must appear (native fields or text).
        Raises :class:`nex_core.errors.ModelError` on failure."""

    def complete(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> LLMResponse:
        """Synchronous :meth:`acomplete`; works whether or not an event loop is running."""
        coro = self.acomplete(request, agent=agent, tool_format=tool_format)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        return _run_in_thread(coro)

    async def astream(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> AsyncIterator[ResponseChunk]:
        """Stream the response. The default splits a complete response into chunks: the text,
        then each tool call's name and arguments, then a final chunk carrying the response."""
        response = await self.acomplete(request, agent=agent, tool_format=tool_format)
        for chunk in chunks_of(response):
            yield chunk


def chunks_of(response: LLMResponse) -> list[ResponseChunk]:
    message = response.message
    chunks: list[ResponseChunk] = []
    if message.content:
        chunks.append(ResponseChunk(content=message.text()))
    for i, call in enumerate(message.tool_calls or []):
        chunks.append(
            ResponseChunk(tool_call_index=i, tool_call_id=call.id, tool_name=call.function.name)
        )
        chunks.append(ResponseChunk(tool_call_index=i, arguments_delta=call.function.arguments))
    chunks.append(ResponseChunk(final=response))
    return chunks


def _run_in_thread(coro: Any) -> Any:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def assistant_response(
    text: str | None = None,
    tool_calls: list[ToolCall] | None = None,
    *,
    finish_reason: str | None = None,
    reasoning: str | None = None,
) -> LLMResponse:
    reason = finish_reason or ("tool_calls" if tool_calls else "stop")
    return LLMResponse(
        message=Message.assistant(text, tool_calls, reasoning=reasoning), finish_reason=reason
    )
