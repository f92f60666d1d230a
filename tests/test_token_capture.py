"""Token capture (issue 13 item 2): the OpenAI-compatible model asks for token ids and logprobs
and records them, against tests/chat_server.py answering as vLLM does, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nex_core.errors import ModelError
from nex_core.models.openai_compat import OpenAICompatibleModel
from nex_core.protocol.loader import load_spec
from nex_core.protocol.spec import AgentSpec, ModelSettings
from nex_core.runtime.loop import run_native
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    TaskInfo,
    Trajectory,
)
from tests.chat_server import ChatServer, Reply

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-123")


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


def model(server: ChatServer, **kw: Any) -> OpenAICompatibleModel:
    return OpenAICompatibleModel(
        "m", base_url=server.base_url, timeout_s=5, max_retries=0, **kw
    )


def ask() -> LLMRequest:
    return LLMRequest(messages=[Message.system("Be brief."), Message.user("hi")])


def complete(m: OpenAICompatibleModel) -> LLMResponse:
    return asyncio.run(m.acomplete(ask()))


def streamed(m: OpenAICompatibleModel) -> LLMResponse:
    async def collect() -> LLMResponse:
        final = None
        async for chunk in m.astream(ask()):
            final = chunk.final or final
        assert final is not None
        return final

    return asyncio.run(collect())


PROMPT = list(b"<system>Be brief.</system><user>hi</user><assistant>")


@pytest.mark.parametrize("call", [complete, streamed], ids=["json", "stream"])
def test_ids_and_logprobs_are_asked_for_and_recorded(server: ChatServer, call: Any) -> None:
    server.push(Reply(text="Hello.", tool_calls=[("c1", "add", {"a": 1})]))
    response = call(model(server, capture_tokens=True, logprobs=2))
    body = server.requests[0].body
    assert body["return_token_ids"] is True and body["logprobs"] is True
    assert body["top_logprobs"] == 2 and body["return_tokens_as_token_ids"] is True
    tokens = response.tokens
    assert tokens is not None
    assert tokens.prompt_token_ids == PROMPT
    expected = list(b'Hello.<call name="add">{"a": 1}</call></assistant>')
    assert tokens.completion_token_ids == expected
    assert tokens.logprobs == [-((t % 7) + 1) / 10 for t in expected]
    assert tokens.top_logprobs is not None and tokens.top_logprobs.tokens is None
    assert tokens.top_logprobs.token_ids == [[t, (t + 1) % 256] for t in expected]
    assert response.usage is not None and response.usage.prompt_tokens == len(PROMPT)
    assert response.usage.cached_tokens == 0


def test_settings_turn_capture_on_and_nothing_is_asked_without_them(server: ChatServer) -> None:
    server.push(Reply(text="a"), Reply(text="b"), Reply(text="c"))
    plain = complete(model(server))
    assert plain.tokens is None
    assert not {"return_token_ids", "logprobs"} & set(server.requests[0].body)
    settings = ModelSettings(id="m", capture_tokens=True)
    captured = complete(model(server, settings=settings))
    assert server.requests[1].body["return_token_ids"] is True
    assert "logprobs" not in server.requests[1].body
    assert captured.tokens is not None and captured.tokens.logprobs is None
    assert captured.tokens.completion_token_ids == list(b"b</assistant>")
    assert captured.usage is not None and captured.usage.cached_tokens == 0
    # The same prompt again: the server's prefix cache served all of it.
    again = complete(model(server, settings=settings))
    assert again.usage is not None and again.usage.cached_tokens == len(PROMPT)


def test_logprobs_alone_give_text_candidates(server: ChatServer) -> None:
    server.push(Reply(text="ok"))
    tokens = complete(model(server, logprobs=1)).tokens
    assert tokens is not None and tokens.completion_token_ids is None
    assert tokens.logprobs is not None and len(tokens.logprobs) == len(b"ok</assistant>")
    assert tokens.top_logprobs is not None and tokens.top_logprobs.tokens is not None
    assert tokens.top_logprobs.tokens[0] == ["o"]


@pytest.mark.parametrize("call", [complete, streamed], ids=["json", "stream"])
def test_a_server_rejecting_the_fields_names_the_setting(call: Any) -> None:
    rejecting = ChatServer([Reply(text="x")], tokens="reject")
    with rejecting as server, pytest.raises(ModelError) as info:
        call(model(server, capture_tokens=True))
    message = str(info.value)
    assert "return_token_ids" in message and "capture_tokens" in message
    assert "turn capture_tokens off" in message and not info.value.retryable


def test_malformed_token_fields_name_the_field() -> None:
    from nex_core.models._openai_tokens import tokens_from_json

    answer = {"choices": [{"message": {}, "token_ids": [1, "two"]}]}
    with pytest.raises(ModelError, match=r"choices\[0\]\.token_ids"):
        tokens_from_json(answer)
    answer = {"choices": [{"logprobs": {"content": [{"token": "a", "logprob": "x"}]}}]}
    with pytest.raises(ModelError, match=r"logprobs\.content\[0\]\.logprob"):
        tokens_from_json(answer)


def test_a_native_run_records_prefix_exact_ids(server: ChatServer) -> None:
    spec = load_spec(EXAMPLES / "calculator" / "agent.yaml")
    assert isinstance(spec, AgentSpec)
    server.push(
        Reply(tool_calls=[("call_1", "add", {"a": 2, "b": 3})]),
        Reply(text="5"),
    )
    m = model(server, capture_tokens=True, logprobs=0)
    traj = asyncio.run(run_native(spec, TaskInfo(turns=["2+3?"]), model=m))
    llm = [s for s in traj.steps if isinstance(s, LLMStep)]
    assert len(llm) == 2
    first, second = (s.response.tokens for s in llm if s.response is not None)
    assert first is not None and second is not None
    assert first.prompt_token_ids is not None and second.prompt_token_ids is not None
    assert first.completion_token_ids is not None
    whole = first.prompt_token_ids + first.completion_token_ids
    assert second.prompt_token_ids[: len(whole)] == whole
    # Stored compactly: the second prompt names the first call instead of repeating it.
    stored = traj.to_json()
    assert '"prompt_from"' in stored
    assert Trajectory.model_validate_json(stored) == traj
