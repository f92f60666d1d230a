"""Token ids, logprobs and cached tokens from LangChain's own ``ChatOpenAI`` (issue 13): an app
that talks to a vLLM server through it, recorded as it is, gets the same token record nex's own
OpenAI-compatible model stores, minus what ``ChatOpenAI`` drops (the prompt ids), which the
step's metadata names. Real HTTP against tests/chat_server.py answering as vLLM does."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from nex_langgraph import record
from nex_langgraph._messages import response_of, response_to_ai

from nex_core.models import TOKEN_CAPTURE_KEY
from nex_core.models.openai_compat import OpenAICompatibleModel
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    Tokens,
    Trajectory,
    Usage,
)

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from chat_server import ChatServer, Reply  # noqa: E402


@tool
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def _replies() -> list[Reply]:
    return [Reply(tool_calls=[("call_1", "add", {"a": 2, "b": 3})]), Reply(text="5")]


def _app(server: ChatServer, **kw: Any) -> Any:
    llm = ChatOpenAI(
        model="m",
        base_url=server.base_url,
        api_key="test-key-123",  # type: ignore[arg-type]
        max_retries=0,
        logprobs=True,
        top_logprobs=2,
        extra_body={"return_token_ids": True, "return_tokens_as_token_ids": True},
        **kw,
    )
    return create_agent(llm, [add], system_prompt="Add.", name="calc")


def _calls(traj: Trajectory) -> list[LLMStep]:
    return [s for s in traj.steps if isinstance(s, LLMStep)]


def _native_tokens(reply: Reply) -> Tokens:
    """What nex's own model records for ``reply`` from the same server settings."""
    with ChatServer([reply]) as server:
        model = OpenAICompatibleModel(
            "m", base_url=server.base_url, timeout_s=5, max_retries=0,
            capture_tokens=True, logprobs=2,
        )
        answer = asyncio.run(model.acomplete(LLMRequest(messages=[Message.user("x")])))
    assert answer.tokens is not None
    return answer.tokens


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
def test_chat_openai_tokens_are_recorded_as_nex_records_them(
    monkeypatch: pytest.MonkeyPatch, streaming: bool
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-123")
    with ChatServer(_replies()) as server:
        extra = {"streaming": True, "stream_usage": True} if streaming else {}
        traj = record(_app(server, **extra), "2+3?")
        assert server.requests[0].body["logprobs"] is True
    calls = _calls(traj)
    assert len(calls) == 2
    for call, reply in zip(calls, _replies(), strict=True):
        assert call.response is not None
        native = _native_tokens(reply)
        # ChatOpenAI drops prompt_token_ids: all the rest is what nex's own model stores.
        assert call.response.tokens == native.model_copy(update={"prompt_token_ids": None})
        assert call.metadata[TOKEN_CAPTURE_KEY] == {
            "source": "langchain:openai",
            "dropped": ["prompt_token_ids"],
            "retokenize": True,
        }
    first, second = (c.response.usage for c in calls if c.response is not None)
    assert first is not None and second is not None
    # The second prompt repeats the first: the server's prefix cache served part of it.
    assert first.cached_tokens == 0 and second.cached_tokens is not None
    assert 0 < second.cached_tokens < second.prompt_tokens


def test_without_logprobs_nothing_is_recorded_or_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-123")
    with ChatServer(_replies()) as server:
        llm = ChatOpenAI(
            model="m", base_url=server.base_url, api_key="k", max_retries=0  # type: ignore[arg-type]
        )
        traj = record(create_agent(llm, [add], system_prompt="Add.", name="calc"), "2+3?")
    for call in _calls(traj):
        assert call.response is not None and call.response.tokens is None
        assert TOKEN_CAPTURE_KEY not in call.metadata


def test_cached_tokens_cross_the_bridge_and_back() -> None:
    # A nex model's cached tokens reach LangChain where ChatOpenAI puts them, and come back.
    usage = Usage(prompt_tokens=10, completion_tokens=2, total_tokens=12, cached_tokens=7)
    answer = LLMResponse(message=Message.assistant("hi"), usage=usage)
    message = response_to_ai(answer, model_id="m")
    assert message.usage_metadata is not None
    assert message.usage_metadata.get("input_token_details") == {"cache_read": 7}
    assert response_of(message).usage == usage
