"""Whatever an OpenAI-compatible server answers, a call ends in a response or a ModelError.

Broken answers are served by the real chat server on 127.0.0.1 (``Raw`` items: the body as
given), then the parsers are fuzzed with hypothesis: mutated completions and chunks, arbitrary
JSON, arbitrary event-stream text. A field of the wrong type is not retried (the server would
send it again); a body that is not JSON or a stream cut short is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nex_core.errors import ModelError
from nex_core.models._openai_stream import StreamAssembler, parse_sse
from nex_core.models.openai_compat import OpenAICompatibleModel, response_from_json
from nex_core.trajectory.schema import LLMRequest, LLMResponse, Message
from tests.chat_server import ChatServer, Raw, Reply

REQUEST = LLMRequest(messages=[Message.user("hi")])


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


def model(server: ChatServer, retries: int = 0) -> OpenAICompatibleModel:
    return OpenAICompatibleModel("test-model", base_url=server.base_url, max_retries=retries,
                                 backoff_base_s=0.001, backoff_max_s=0.002, timeout_s=10)


def completion(**message: Any) -> dict[str, Any]:
    return {
        "id": "c1", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "hi", **message}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def call(m: OpenAICompatibleModel) -> LLMResponse:
    return asyncio.run(m.acomplete(REQUEST))


def stream(m: OpenAICompatibleModel) -> LLMResponse:
    async def go() -> LLMResponse:
        final = None
        async for chunk in m.astream(REQUEST):
            final = chunk.final or final
        assert final is not None
        return final

    return asyncio.run(go())


WRONG_TYPES = {
    "prompt_tokens as a string": {**completion(), "usage": {"prompt_tokens": "3"}},
    "tool_calls as a number": completion(tool_calls=7),
    "content as a number": completion(content=5),
    "a tool call that is a list": completion(tool_calls=[[1]]),
    "function arguments as a number": completion(
        tool_calls=[{"id": "a", "function": {"name": "f", "arguments": 3}}]),
    "finish_reason as a list": {**completion(), "choices": [
        {"index": 0, "finish_reason": ["stop"], "message": {"content": "x"}}]},
    "message as a string": {**completion(), "choices": [{"message": "hello"}]},
}


@pytest.mark.parametrize("case", list(WRONG_TYPES))
def test_wrong_typed_fields_are_model_errors_not_retried(server: ChatServer, case: str) -> None:
    server.push(Raw(json.dumps(WRONG_TYPES[case])), Reply(text="never asked"))
    with pytest.raises(ModelError) as info:
        call(model(server, retries=2))
    assert not info.value.retryable and "not " in str(info.value)
    assert len(server.requests) == 1


def test_arguments_sent_as_an_object_are_kept_as_json_text(server: ChatServer) -> None:
    server.push(Raw(json.dumps(completion(
        content=None, tool_calls=[{"id": "a", "function": {"name": "f", "arguments": {"x": 1}}}]))))
    response = call(model(server))
    calls = response.message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [("f", {"x": 1})]


@pytest.mark.parametrize("body", ["<html>502 Bad Gateway</html>", '{"choices": [', ""])
def test_a_200_that_is_not_json_is_retried(server: ChatServer, body: str) -> None:
    server.push(Raw(body, content_type="text/html"), Reply(text="second time lucky"))
    assert call(model(server, retries=1)).message.content == "second time lucky"
    assert len(server.requests) == 2


def _sse(*events: Any) -> str:
    return "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events)


def _chunk(delta: Any, finish: Any = None) -> dict[str, Any]:
    return {"id": "s", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


RETRYABLE_STREAMS = {
    "JSON instead of an event stream": Raw(json.dumps(completion())),
    "an empty event stream": Raw("", content_type="text/event-stream"),
    "data that is not JSON": Raw(_sse(_chunk({"content": "a"}), "{\"choices\": [{\"de", "[DONE]"),
                                 content_type="text/event-stream"),
    "a stream cut before its end": Raw(_sse(_chunk({"content": "partial"})),
                                       content_type="text/event-stream"),
    "an error event": Raw(_sse({"error": {"message": "engine overloaded"}}),
                          content_type="text/event-stream"),
}


@pytest.mark.parametrize("case", list(RETRYABLE_STREAMS))
def test_broken_streams_are_retryable_model_errors(server: ChatServer, case: str) -> None:
    server.push(RETRYABLE_STREAMS[case])
    with pytest.raises(ModelError) as info:
        stream(model(server))
    assert info.value.retryable, str(info.value)


def test_a_broken_stream_open_is_retried(server: ChatServer) -> None:
    server.push(RETRYABLE_STREAMS["an empty event stream"], Reply(text="whole"))
    assert stream(model(server, retries=1)).message.content == "whole"
    assert len(server.requests) == 2


@pytest.mark.parametrize("chunk", [
    {"choices": 5},
    {"choices": [{"delta": []}]},
    {"choices": [{"delta": {"content": 5}}]},
    {"choices": [{"delta": {"tool_calls": 7}}]},
    {"choices": [{"delta": {"tool_calls": [{"index": "0", "function": {"name": "f"}}]}}]},
    {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": "f"}]}}]},
    {"choices": [], "usage": {"prompt_tokens": "3"}},
    ["not", "an", "object"],
])
def test_wrong_typed_chunks_are_model_errors(server: ChatServer, chunk: Any) -> None:
    server.push(Raw(_sse(chunk, "[DONE]"), content_type="text/event-stream"))
    with pytest.raises(ModelError) as info:
        stream(model(server, retries=2))
    assert not info.value.retryable
    assert len(server.requests) == 1


def test_a_stream_with_only_usage_has_no_choices(server: ChatServer) -> None:
    server.push(Raw(_sse({"choices": [], "usage": {"prompt_tokens": 1}}, "[DONE]"),
                    content_type="text/event-stream"))
    with pytest.raises(ModelError, match="no choices"):
        stream(model(server))


# --------------------------------------------------------------------------- fuzzing

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=12,
)
KEYS = ["choices", "message", "content", "tool_calls", "function", "arguments", "name", "id",
        "usage", "prompt_tokens", "finish_reason", "delta", "index", "error", "reasoning_content"]


def _mutate(value: Any, data: st.DataObject) -> Any:
    """``value`` with one node somewhere replaced by arbitrary JSON."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value) + KEYS))
        return {**value, key: _mutate(value.get(key), data)}
    if isinstance(value, list) and value and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(value) - 1))
        return [*value[:i], _mutate(value[i], data), *value[i + 1:]]
    return data.draw(JSON)


VALID = completion(content=None, tool_calls=[{"id": "a", "type": "function",
                                              "function": {"name": "f", "arguments": "{}"}}])


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_response_parser_gives_a_response_or_a_model_error(data: st.DataObject) -> None:
    answer = _mutate(VALID, data)
    with contextlib.suppress(ModelError):
        assert isinstance(response_from_json(answer), LLMResponse)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_stream_parser_gives_chunks_or_a_model_error(data: st.DataObject) -> None:
    chunks = [_chunk({"role": "assistant", "content": ""}), _chunk({"content": "hi"}),
              _chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f",
                                                                           "arguments": "{"}}]}),
              _chunk({}, "stop"), {"choices": [], "usage": {"prompt_tokens": 2}}]
    i = data.draw(st.integers(0, len(chunks) - 1))
    chunks[i] = _mutate(chunks[i], data)
    body = _sse(*chunks, "[DONE]")
    if data.draw(st.booleans()):  # and cut it somewhere
        body = body[: data.draw(st.integers(0, len(body)))]
    assembler = StreamAssembler()
    try:
        for event in parse_sse(body.split("\n")):
            assembler.event(event)
        assert isinstance(assembler.response(), LLMResponse)
    except ModelError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("data: {}[]\"DONE\n\r:event,choices0")), max_size=200))
def test_arbitrary_event_stream_text_gives_events_or_a_model_error(text: str) -> None:
    assembler = StreamAssembler()
    try:
        for event in parse_sse(text.splitlines()):
            assembler.event(event)
        assembler.response()
    except ModelError:
        pass
