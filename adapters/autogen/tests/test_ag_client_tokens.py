"""Token logprobs from AutoGen's own ``OpenAIChatCompletionClient`` (issue 13): an app that talks
to a vLLM server through it, recorded as it is, gets the logprobs and completion ids the client
keeps, as nex's own OpenAI-compatible model stores them; what the client drops (prompt ids,
top-k tokens, cached-token usage) is named in the step's metadata. Real HTTP against
tests/chat_server.py answering as vLLM does."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_core.models import CreateResult, RequestUsage
from autogen_ext.models.openai import OpenAIChatCompletionClient
from nex_autogen import AutogenAdapter
from nex_autogen.messages import to_create_result, to_nex_response

from nex_core.models import TOKEN_CAPTURE_KEY
from nex_core.models.openai_compat import OpenAICompatibleModel
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    Tokens,
    TopLogprobs,
    Usage,
)

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from chat_server import ChatServer, Reply  # noqa: E402

INFO = {
    "vision": False,
    "function_calling": True,
    "json_output": False,
    "family": "unknown",
    "structured_output": False,
}


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-123")


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def _replies() -> list[Reply]:
    return [Reply(tool_calls=[("call_1", "add", {"a": 2, "b": 3})]), Reply(text="5")]


def _native_tokens(reply: Reply) -> Tokens:
    with ChatServer([reply]) as server:
        model = OpenAICompatibleModel(
            "m", base_url=server.base_url, timeout_s=5, max_retries=0,
            capture_tokens=True, logprobs=2,
        )
        answer = asyncio.run(model.acomplete(LLMRequest(messages=[Message.user("x")])))
    assert answer.tokens is not None
    return answer.tokens


def test_openai_client_logprobs_are_recorded_and_the_rest_noted() -> None:
    with ChatServer(_replies()) as server:
        client = OpenAIChatCompletionClient(
            model="m",
            base_url=server.base_url,
            api_key="k",
            model_info=INFO,  # type: ignore[arg-type]
            logprobs=True,
            top_logprobs=2,
            extra_body={"return_token_ids": True, "return_tokens_as_token_ids": True},
        )
        agent = AssistantAgent("calc", model_client=client, tools=[add], reflect_on_tool_use=True)
        traj = asyncio.run(AutogenAdapter().arecord(agent, "2+3?"))
        assert server.requests[0].body["logprobs"] is True
    calls = [s for s in traj.steps if isinstance(s, LLMStep)]
    assert len(calls) == 2
    for call, reply in zip(calls, _replies(), strict=True):
        assert call.response is not None
        native = _native_tokens(reply)
        assert native.top_logprobs is not None
        # The client keeps the top-k logprobs but not their tokens, and never the prompt ids.
        expected = native.model_copy(
            update={
                "prompt_token_ids": None,
                "top_logprobs": TopLogprobs(logprobs=native.top_logprobs.logprobs),
            }
        )
        assert call.response.tokens == expected
        assert call.metadata[TOKEN_CAPTURE_KEY] == {
            "source": "autogen:openai",
            "dropped": ["prompt_token_ids", "cached_tokens", "top_logprobs.token_ids"],
            "retokenize": True,
        }


def test_logprobs_short_of_the_completion_are_not_passed_off_as_whole() -> None:
    # AutoGen's stream keeps only its last chunk's logprob entries.
    from autogen_core.models import ChatCompletionTokenLogprob

    entry = ChatCompletionTokenLogprob(token="token_id:5", logprob=-0.5)
    result = CreateResult(
        finish_reason="stop", content="hello", cached=False,
        usage=RequestUsage(prompt_tokens=3, completion_tokens=4), logprobs=[entry],
    )
    notes: dict[str, object] = {}
    assert to_nex_response(result, notes).tokens is None
    note = notes[TOKEN_CAPTURE_KEY]
    assert isinstance(note, dict) and "logprobs" in note["dropped"] and note["incomplete"]


def test_cached_tokens_cross_the_bridge_and_back() -> None:
    usage = Usage(prompt_tokens=10, completion_tokens=2, total_tokens=12, cached_tokens=7)
    result = to_create_result(LLMResponse(message=Message.assistant("hi"), usage=usage))
    assert result.usage == RequestUsage(prompt_tokens=10, completion_tokens=2)
    assert to_nex_response(result).usage == usage
