"""An ``AssistantAgent`` that passes context the way the nex protocol does.

Two differences from a stock ``AssistantAgent``, both about what the *next* agent sees:

- Handoff: the protocol hands over the shared history, including the handing agent's tool calls,
  its handoff call and the ``Transferred to <child>.`` result. AutoGen puts only the calls made
  beside the handoff into ``HandoffMessage.context`` and then adds the handoff text once more as a
  user message. Here the context is the whole turn, and the receiving agent reads only it.
- Team turns: a member of a protocol team sees the transcript (each member's final answer), not
  its own earlier tool calls. With ``team_view=True`` the agent keeps only its answer in its model
  context after each turn.

A third, for an agent built with an output schema (``output_content_type``): an answer that
fails it is fed back to the model (the native runtime's feedback text, as a user message) up to
``max_output_retries`` times, where AutoGen would end the run with pydantic's error.

A fourth, for an agent with tools that need approval: an answer calling one ends the turn
before AutoGen runs any call of its batch (an :class:`~nex_autogen.approval.ApprovalPauseMessage`
is the turn's answer; see :mod:`nex_autogen.approval`), and so does a batch in which an agent it
calls as a tool paused (:mod:`nex_autogen.nested`).

Everything else — the tool loop, the model calls — is AutoGen's own.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import Response
from autogen_agentchat.messages import (
    BaseAgentEvent,
    BaseChatMessage,
    HandoffMessage,
    ModelClientStreamingChunkEvent,
    ToolCallExecutionEvent,
)
from autogen_core import CancellationToken
from autogen_core.model_context import ChatCompletionContext
from autogen_core.models import AssistantMessage, CreateResult, LLMMessage, UserMessage
from pydantic import ValidationError

from nex_autogen.approval import ApprovalPause, pause_message, pending_in
from nex_autogen.messages import USER_SOURCE
from nex_autogen.nested import CHILD_PAUSES, Sink, batch_pause
from nex_core.errors import StructuredOutputError
from nex_core.protocol.output_model import schema_of_model
from nex_core.protocol.spec import Limits
from nex_core.runtime.structured import feedback_text, parse_output

DEFAULT_OUTPUT_RETRIES = Limits().max_output_retries


def context_messages(messages: Sequence[BaseChatMessage]) -> list[LLMMessage]:
    """What a protocol agent adds to its model context for incoming chat messages."""
    out: list[LLMMessage] = []
    for msg in messages:
        if isinstance(msg, HandoffMessage):
            out.extend(msg.context)
        else:
            out.append(msg.to_model_message())
    return out


class ProtocolAssistantAgent(AssistantAgent):
    """``AssistantAgent`` with the protocol's handoff history and team-turn view."""

    def __init__(
        self,
        *args: Any,
        team_view: bool = False,
        max_output_retries: int = DEFAULT_OUTPUT_RETRIES,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.team_view = team_view
        self.max_output_retries = max_output_retries

    @staticmethod
    async def _add_messages_to_context(
        model_context: ChatCompletionContext, messages: Sequence[BaseChatMessage]
    ) -> None:
        for message in context_messages(messages):
            await model_context.add_message(message)

    @classmethod
    async def _call_llm(
        cls, *args: Any, **kwargs: Any
    ) -> AsyncGenerator[CreateResult | ModelClientStreamingChunkEvent, None]:
        # AutoGen's every model call, the first of a turn and each one of its tool loop (both
        # pass their arguments by keyword): an answer that must wait for approval stops here,
        # before it enters the context and before any call of its batch starts.
        async for output in super()._call_llm(*args, **kwargs):
            if isinstance(output, CreateResult):
                agent = str(kwargs.get("agent_name", ""))
                pending = pending_in(output, agent, kwargs.get("workbench", ()))
                if pending:
                    raise ApprovalPause(output, pending)
            yield output

    async def on_messages_stream(
        self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken
    ) -> AsyncGenerator[BaseAgentEvent | BaseChatMessage | Response, None]:
        before = list(await self._model_context.get_messages())
        incoming = context_messages(messages)
        pending, retries = messages, 0
        # Agents this turn calls as tools report their pauses here (nex_autogen.nested).
        sink: Sink = {}
        CHILD_PAUSES.set(sink)  # in the task running this turn: its tool tasks copy it
        while True:
            stream = super().on_messages_stream(pending, cancellation_token)
            try:
                async for item in stream:
                    if isinstance(item, ToolCallExecutionEvent):
                        paused = batch_pause(sink, item.content, self.name)
                        if paused is not None:
                            # The whole run pauses; the resume rebuilds this agent's context.
                            yield Response(chat_message=paused)
                            return
                    if isinstance(item, Response):
                        item = await self._end_turn(item, before, incoming)
                    yield item
                return
            except ApprovalPause as pause:
                # The resume rebuilds the context from the trajectory (nex_autogen.resume).
                yield Response(chat_message=pause_message(pause, self.name))
                return
            except ValidationError:
                error = await self._output_error()
                if error is None:
                    raise
                if retries >= self.max_output_retries:
                    raise error from None
            finally:
                await stream.aclose()
            retries, pending = retries + 1, []
            await self._model_context.add_message(
                UserMessage(content=feedback_text(error), source=USER_SOURCE)
            )

    async def _output_error(self) -> StructuredOutputError | None:
        """Why the answer just added to the context fails the output schema (``None`` when the
        failure was something else)."""
        schema = (
            None if self._output_content_type is None
            else schema_of_model(self._output_content_type)
        )
        messages = list(await self._model_context.get_messages())
        last = messages[-1] if messages else None
        if schema is None or not isinstance(last, AssistantMessage):
            return None
        if not isinstance(last.content, str):
            return None
        try:
            parse_output(last.content, schema)
        except StructuredOutputError as exc:
            return exc
        return None

    async def _end_turn(
        self, response: Response, before: list[LLMMessage], incoming: list[LLMMessage]
    ) -> Response:
        message = response.chat_message
        if isinstance(message, HandoffMessage):
            own_turn = list(await self._model_context.get_messages())[len(before) + len(incoming) :]
            handoff = HandoffMessage(
                content=message.content,
                target=message.target,
                source=message.source,
                context=own_turn,
                models_usage=message.models_usage,
            )
            return Response(chat_message=handoff, inner_messages=response.inner_messages)
        if self.team_view:
            answer = AssistantMessage(content=message.to_model_text(), source=self.name)
            await self._model_context.clear()
            for m in [*before, *incoming, answer]:
                await self._model_context.add_message(m)
        return response
