"""Any nex ``ChatModel`` as an AutoGen ``ChatCompletionClient``.

The bridge declares function calling (AutoGen refuses tools and handoffs otherwise) and passes
``agent=`` to the nex model, so a scripted model's per-agent reply queues work when several
AutoGen agents share one script.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Literal

from autogen_core import CancellationToken
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelFamily,
    ModelInfo,
    RequestUsage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from nex_autogen.messages import to_create_result, to_nex_messages, to_nex_tools
from nex_core.models.base import ChatModel
from nex_core.protocol.output_model import schema_of_model
from nex_core.protocol.spec import ModelSettings
from nex_core.runtime.structured import response_format
from nex_core.trajectory.schema import LLMRequest

BRIDGE_MODEL_INFO: ModelInfo = {
    "vision": False,
    "function_calling": True,
    "json_output": False,
    "family": ModelFamily.UNKNOWN,
    "structured_output": False,
    "multiple_system_messages": True,
}


def request_params(
    params: Mapping[str, Any],
    tool_choice: Any,
    extra_create_args: Mapping[str, Any],
    json_output: bool | type[BaseModel] | None = None,
) -> dict[str, Any]:
    """Request parameters as nex records them: sampling, then AutoGen's per-call extras, and
    the answer's format (``output_content_type`` arrives as ``json_output``)."""
    out = dict(params)
    out.update(extra_create_args)
    if isinstance(json_output, type):
        schema = schema_of_model(json_output)
        if schema is not None:
            out["response_format"] = response_format(schema)
    elif json_output:
        out["response_format"] = {"type": "json_object"}
    if isinstance(tool_choice, str):  # first: the runtime-protocol check below is slow
        if tool_choice != "auto":
            out["tool_choice"] = tool_choice
    elif isinstance(tool_choice, Tool):
        out["tool_choice"] = {"type": "function", "function": {"name": tool_choice.name}}
    return out


class NexChatCompletionClient(ChatCompletionClient):
    """Drives AutoGen agents with a nex model.

    ``settings`` are the spec's model settings: their sampling parameters go into every request,
    and conversion back to a spec reads them from here.
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        agent: str | None = None,
        settings: ModelSettings | None = None,
        parallel_tool_calls: bool = True,
        model_info: ModelInfo | None = None,
    ) -> None:
        self.model = model
        self.agent = agent
        self.settings = settings or ModelSettings()
        self.parallel_tool_calls = parallel_tool_calls
        self._model_info: ModelInfo = model_info or dict(BRIDGE_MODEL_INFO)  # type: ignore[assignment]
        self._total = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._last = RequestUsage(prompt_tokens=0, completion_tokens=0)

    def request(
        self,
        messages: Sequence[LLMMessage],
        tools: Sequence[Tool | ToolSchema],
        tool_choice: Any,
        extra_create_args: Mapping[str, Any],
        json_output: bool | type[BaseModel] | None = None,
    ) -> LLMRequest:
        """The nex request AutoGen's arguments amount to."""
        return LLMRequest(
            messages=to_nex_messages(messages),
            tools=to_nex_tools(tools),
            params=self.params_for(tools, tool_choice, extra_create_args, json_output),
        )

    def params_for(
        self,
        tools: Sequence[Tool | ToolSchema],
        tool_choice: Any,
        extra_create_args: Mapping[str, Any],
        json_output: bool | type[BaseModel] | None = None,
    ) -> dict[str, Any]:
        """The request parameters of a call: the spec's sampling, then AutoGen's extras."""
        params = self.settings.sampling()
        if tools and not self.parallel_tool_calls:
            params["parallel_tool_calls"] = False
        return request_params(params, tool_choice, extra_create_args, json_output)

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        request = self.request(messages, tools, tool_choice, extra_create_args, json_output)
        return await self.complete(request)

    async def complete(self, request: LLMRequest) -> CreateResult:
        """Answer a request already in nex form (what ``create`` does after converting)."""
        response = await self.model.acomplete(request, agent=self.agent)
        result = to_create_result(response)
        self._last = result.usage
        self._total = RequestUsage(
            prompt_tokens=self._total.prompt_tokens + result.usage.prompt_tokens,
            completion_tokens=self._total.completion_tokens + result.usage.completion_tokens,
        )
        return result

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        """Text deltas from the nex model's stream, then the whole result."""
        request = self.request(messages, tools, tool_choice, extra_create_args, json_output)
        async for chunk in self.model.astream(request, agent=self.agent):
            if chunk.final is not None:
                result = to_create_result(chunk.final)
                self._last = result.usage
                yield result
            elif chunk.content:
                yield chunk.content

    async def close(self) -> None:
        return None

    def actual_usage(self) -> RequestUsage:
        return self._last

    def total_usage(self) -> RequestUsage:
        return self._total

    def count_tokens(
        self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []
    ) -> int:
        return sum(len(m.text()) // 4 for m in to_nex_messages(messages))

    def remaining_tokens(
        self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []
    ) -> int:
        return max(0, 128_000 - self.count_tokens(messages, tools=tools))

    @property
    def capabilities(self) -> Any:  # deprecated in AutoGen; kept for its ABC
        return self._model_info

    @property
    def model_info(self) -> ModelInfo:
        return self._model_info


def bridge_model(
    model: ChatModel,
    *,
    agent: str | None = None,
    settings: ModelSettings | None = None,
    parallel_tool_calls: bool = True,
) -> NexChatCompletionClient:
    """``model`` as an AutoGen ``ChatCompletionClient`` that names ``agent`` on every call."""
    return NexChatCompletionClient(
        model, agent=agent, settings=settings, parallel_tool_calls=parallel_tool_calls
    )
