"""A model behind a semaphore: at most ``concurrency`` requests in flight per endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from nex_core.gap.shared_limits import SharedSemaphore
from nex_core.models.base import ChatModel, ResponseChunk
from nex_core.protocol.spec import ToolFormat
from nex_core.trajectory.schema import LLMRequest, LLMResponse


class LimitedModel(ChatModel):
    """Delegates to ``inner`` while holding ``semaphore`` (shared by an endpoint's models)."""

    def __init__(self, inner: ChatModel, semaphore: asyncio.Semaphore | SharedSemaphore) -> None:
        self.inner = inner
        self.semaphore = semaphore
        self.model_id = inner.model_id
        self.provider = inner.provider

    async def acomplete(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> LLMResponse:
        async with self.semaphore:
            response = await self.inner.acomplete(request, agent=agent, tool_format=tool_format)
        # The release woke the next episode waiting for this endpoint: let it send its request
        # before this episode goes on to its CPU work (finishing the record, the checks, the
        # log line). asyncio runs ready tasks in order, so without this a burst of answers
        # delays every next request behind the others' post-processing, and the endpoint idles.
        await asyncio.sleep(0)
        return response

    async def astream(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> AsyncIterator[ResponseChunk]:
        async with self.semaphore:
            async for chunk in self.inner.astream(request, agent=agent, tool_format=tool_format):
                yield chunk
        await asyncio.sleep(0)  # as in acomplete: the request the release admits goes first

    def __getattr__(self, name: str) -> Any:
        # Adapters may read provider-specific attributes (``calls`` of a scripted model).
        return getattr(self.inner, name)
