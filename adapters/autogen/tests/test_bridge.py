"""The model bridge and the message conversion it shares with the recorder."""

from __future__ import annotations

import asyncio

from autogen_core import FunctionCall
from autogen_core.models import (
    AssistantMessage,
    CreateResult,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    SystemMessage,
    UserMessage,
)
from nex_autogen import AutogenAdapter, bridge_model
from nex_autogen.messages import to_nex_messages

from nex_core import Message, ScriptedModel, ToolCall


def test_bridge_declares_function_calling_and_names_the_agent() -> None:
    model = ScriptedModel({"agents": {"alice": [{"text": "hi from alice"}]}})
    client = AutogenAdapter().bridge_model(model, agent="alice")
    assert client.model_info["function_calling"] is True
    result = asyncio.run(client.create([UserMessage(content="hello", source="user")]))
    assert result.content == "hi from alice"
    assert model.calls[0].agent == "alice"


def test_tool_calls_keep_ids_and_raw_arguments() -> None:
    model = ScriptedModel(
        [
            {
                "text": "Let me check.",
                "tool_calls": [{"id": "x1", "name": "f", "arguments": '{"a": 1'}],
            }
        ]
    )
    result = asyncio.run(bridge_model(model).create([UserMessage(content="go", source="user")]))
    assert isinstance(result, CreateResult) and result.finish_reason == "function_calls"
    assert result.content == [FunctionCall(id="x1", name="f", arguments='{"a": 1')]
    assert result.thought == "Let me check."


def test_stream_yields_text_then_the_result() -> None:
    async def collect() -> list[object]:
        client = bridge_model(ScriptedModel([{"text": "streamed"}]))
        return [c async for c in client.create_stream([UserMessage(content="go", source="user")])]

    chunks = asyncio.run(collect())
    assert chunks[0] == "streamed" and isinstance(chunks[-1], CreateResult)


def test_llm_messages_become_openai_shaped_messages() -> None:
    messages = to_nex_messages(
        [
            SystemMessage(content="sys"),
            UserMessage(content="task", source="user"),
            AssistantMessage(
                content=[FunctionCall(id="c1", name="f", arguments="{}")],
                thought="why",
                source="bot",
            ),
            FunctionExecutionResultMessage(
                content=[
                    FunctionExecutionResult(content="ok", name="f", call_id="c1", is_error=False),
                    FunctionExecutionResult(content="bad", name="g", call_id="c2", is_error=True),
                ]
            ),
            UserMessage(content="from a peer", source="critic"),
            AssistantMessage(content="answer", thought="thinking", source="bot"),
        ]
    )
    assert messages == [
        Message.system("sys"),
        Message.user("task"),
        Message(
            role="assistant", content="why", tool_calls=[ToolCall.make("c1", "f", "{}")], name="bot"
        ),
        Message.tool("c1", "ok"),
        Message.tool("c2", "bad"),
        Message.user("from a peer", name="critic"),
        Message(role="assistant", content="answer", reasoning="thinking", name="bot"),
    ]
