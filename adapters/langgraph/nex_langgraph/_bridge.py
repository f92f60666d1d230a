"""Any nex ``ChatModel`` as a LangChain chat model.

The same scripted, replayed or OpenAI-compatible model must drive LangGraph and the native runtime,
so this bridge is deliberately thin: it turns LangChain's messages and bound tools into one
``LLMRequest``, asks the nex model (naming the agent, so per-agent scripts work), and turns the
answer back — whole, or as chunks whose tool-call pieces LangChain reassembles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from nex_core.models.base import ChatModel, ResponseChunk, chunks_of
from nex_core.protocol.spec import ToolFormat
from nex_core.trajectory.schema import LLMRequest, LLMResponse
from nex_langgraph._messages import response_to_ai, to_nex_all, tool_schemas


def _openai_tool(tool: Any) -> dict[str, Any]:
    """The OpenAI tool dict for ``tool``. A tool whose schema is a JSON Schema dict (every tool
    built from a spec, MCP tools included) is offered that schema unchanged: LangChain's conversion
    drops ``title`` keys and inlines ``$ref``s, so the model would see another schema than the
    native runtime offers."""
    if isinstance(tool, BaseTool) and isinstance(tool.args_schema, dict):
        return {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.args_schema,
            },
        }
    return convert_to_openai_tool(tool)


class NexChatModel(BaseChatModel):
    """A LangChain ``BaseChatModel`` backed by a nex ``ChatModel``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    nex_model: Any
    """The nex ``ChatModel`` that answers."""
    agent: str | None = None
    """Agent name passed to the nex model (scripted models keep a reply queue per agent)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Sampling parameters sent with every request (the spec's ``model.sampling()``)."""
    tool_format: ToolFormat = ToolFormat.NATIVE

    @property
    def _llm_type(self) -> str:
        return "nex"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": getattr(self.nex_model, "model_id", None), "nex_agent": self.agent}

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer ``tools`` (LangChain tools, functions, OpenAI dicts), schemas as given."""
        formatted = [_openai_tool(t) for t in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return cast(Runnable[LanguageModelInput, AIMessage], self.bind(tools=formatted, **kwargs))

    # ------------------------------------------------------------------ request

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> LLMRequest:
        params = dict(self.params)
        for key in ("tool_choice", "parallel_tool_calls"):
            value = kwargs.get(key)
            if value is not None and not (key == "parallel_tool_calls" and value is True):
                params[key] = value
        if stop:
            params["stop"] = list(stop)
        return LLMRequest(
            messages=to_nex_all(messages), tools=tool_schemas(kwargs.get("tools")), params=params
        )

    def _model(self) -> ChatModel:
        return cast(ChatModel, self.nex_model)

    def _result(self, response: LLMResponse) -> ChatResult:
        message = response_to_ai(response, model_id=getattr(self.nex_model, "model_id", None))
        info = {"finish_reason": response.finish_reason}
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=info)])

    # ------------------------------------------------------------------ whole answers

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, kwargs)
        response = self._model().complete(request, agent=self.agent, tool_format=self.tool_format)
        return self._result(response)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, kwargs)
        response = await self._model().acomplete(
            request, agent=self.agent, tool_format=self.tool_format
        )
        return self._result(response)

    # ------------------------------------------------------------------ streaming

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, stop, kwargs)
        response = self._model().complete(request, agent=self.agent, tool_format=self.tool_format)
        for piece in chunks_of(response):
            chunk = self._chunk(piece)
            if run_manager is not None and piece.content:
                run_manager.on_llm_new_token(piece.content, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request = self._request(messages, stop, kwargs)
        stream = self._model().astream(request, agent=self.agent, tool_format=self.tool_format)
        async for piece in stream:
            chunk = self._chunk(piece)
            if run_manager is not None and piece.content:
                await run_manager.on_llm_new_token(piece.content, chunk=chunk)
            yield chunk

    def _chunk(self, piece: ResponseChunk) -> ChatGenerationChunk:
        if piece.final is not None:
            final = response_to_ai(piece.final, model_id=getattr(self.nex_model, "model_id", None))
            message = AIMessageChunk(
                content="",
                usage_metadata=final.usage_metadata,
                response_metadata=final.response_metadata,
                additional_kwargs=final.additional_kwargs,
                chunk_position="last",
            )
            return ChatGenerationChunk(
                message=message, generation_info={"finish_reason": piece.final.finish_reason}
            )
        if piece.tool_call_index is not None:
            part = tool_call_chunk(
                index=piece.tool_call_index,
                id=piece.tool_call_id,
                name=piece.tool_name,
                args=piece.arguments_delta,
            )
            return ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[part]))
        return ChatGenerationChunk(message=AIMessageChunk(content=piece.content))


def bridge_model(
    model: ChatModel,
    *,
    agent: str | None = None,
    params: dict[str, Any] | None = None,
    tool_format: ToolFormat = ToolFormat.NATIVE,
) -> NexChatModel:
    """``model`` as a LangChain chat model that names ``agent`` on every call."""
    return NexChatModel(
        nex_model=model, agent=agent, params=dict(params or {}), tool_format=tool_format
    )

