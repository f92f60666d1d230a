"""Any nex model as an Agent Framework chat client, called directly and streamed."""

from __future__ import annotations

from af_support import run
from agent_framework import Content, FunctionTool, Message
from nex_agent_framework import NexChatClient, bridge_model

from nex_core import ScriptedModel


def _tool() -> FunctionTool:
    return FunctionTool(
        name="add",
        description="Add two numbers.",
        func=lambda a, b: a + b,
        input_model={"type": "object", "properties": {"a": {"type": "number"}}},
    )


SCRIPT = {
    "replies": [
        {"text": "Let me add.", "tool_calls": [{"id": "c1", "name": "add", "arguments": {"a": 1}}]},
        {"text": "Hello there."},
    ]
}


def test_a_request_reaches_the_nex_model_as_sent_and_the_reply_comes_back() -> None:
    model = ScriptedModel(SCRIPT)
    client = bridge_model(model, agent="calc")
    assert isinstance(client, NexChatClient)
    messages = [Message("user", ["Add 1."])]
    options = {"instructions": "Be brief.", "tools": [_tool()], "temperature": 0.2}
    # Without the function loop: the raw response, tool call and all.
    response = run(client._inner_get_response(messages=messages, stream=False, options=options))
    (sent,) = model.calls
    assert sent.agent == "calc"
    assert [(m.role, m.text()) for m in sent.request.messages] == [
        ("system", "Be brief."),
        ("user", "Add 1."),
    ]
    assert [t.name for t in sent.request.tools] == ["add"]
    assert sent.request.params == {"temperature": 0.2}
    (reply,) = response.messages
    calls = [c for c in reply.contents if c.type == "function_call"]
    assert [(c.call_id, c.name, c.arguments) for c in calls] == [("c1", "add", '{"a": 1}')]
    assert reply.text == "Let me add."
    assert client.raw_arguments == {"c1": '{"a": 1}'}


def test_a_streamed_reply_yields_the_text_then_the_tool_calls() -> None:
    model = ScriptedModel(SCRIPT)
    client = bridge_model(model, agent="calc")

    async def go() -> tuple[list[list[str]], str]:
        stream = client._inner_get_response(
            messages=[Message("user", ["Hi"])], stream=True, options={"tools": [_tool()]}
        )
        kinds = [[c.type for c in update.contents] async for update in stream]
        final = await stream.get_final_response()
        return kinds, final.text

    kinds, text = run(go())
    assert kinds[0] == ["text"] and ["function_call"] in kinds
    assert text == "Let me add."


def test_tool_results_reach_the_model_one_tool_message_each() -> None:
    model = ScriptedModel({"replies": [{"text": "ok"}]})
    client = bridge_model(model)
    history = [
        Message("user", ["go"]),
        Message(
            "assistant",
            [
                Content.from_function_call("a", "add", arguments="{}"),
                Content.from_function_call("b", "add", arguments="{}"),
            ],
        ),
        Message(
            "tool",
            [
                Content.from_function_result("a", result="1"),
                Content.from_function_result("b", result="2"),
            ],
        ),
    ]
    run(client._inner_get_response(messages=history, stream=False, options={}))
    sent = model.calls[0].request.messages
    assert [(m.role, m.tool_call_id, m.text()) for m in sent[2:]] == [
        ("tool", "a", "1"),
        ("tool", "b", "2"),
    ]
    assert [c.id for c in sent[1].tool_calls or []] == ["a", "b"]
