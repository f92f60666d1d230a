"""The scripted model the kit drives adapters with, keeping what it received and returned."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from nex_core import ScriptedModel
from nex_core.errors import ModelError
from nex_core.models.scripted import Script
from nex_core.protocol.spec import ToolFormat
from nex_core.trajectory.schema import LLMRequest, LLMResponse


@dataclass
class Exchange:
    """One model call as the model saw it: the request, and the response or the error it raised."""

    agent: str | None
    request: LLMRequest
    response: LLMResponse | None = None
    error: str | None = None


class RecordingModel(ScriptedModel):
    """A :class:`ScriptedModel` that also keeps each response beside its request (``exchanges``),
    so the engine can check the trajectory's LLM steps against what really went in and out."""

    def __init__(self, script: Script | dict[str, Any] | list[Any]) -> None:
        super().__init__(script)
        self.exchanges: list[Exchange] = []
        self._exchange_lock = threading.Lock()

    async def acomplete(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> LLMResponse:
        exchange = Exchange(agent=agent, request=request.model_copy(deep=True))
        with self._exchange_lock:
            self.exchanges.append(exchange)
        try:
            response = await super().acomplete(request, agent=agent, tool_format=tool_format)
        except ModelError as exc:
            exchange.error = str(exc)
            raise
        response = self.finish(request, response)
        exchange.response = response.model_copy(deep=True)
        return response

    def finish(self, request: LLMRequest, response: LLMResponse) -> LLMResponse:
        """The response as the model returns it (subclasses fill in what the script left
        open; the exchange keeps what is returned)."""
        return response
