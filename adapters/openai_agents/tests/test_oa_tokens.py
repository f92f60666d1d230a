"""Token ids, logprobs and cached tokens through the Agents SDK (issue 13), over real HTTP
against tests/chat_server.py answering as vLLM does: a nex OpenAI-compatible model bridged as the
SDK's ``Model`` records the same ids and logprobs as the native runtime for the same script; a
user's own ``OpenAIChatCompletionsModel`` records what the SDK keeps (cached tokens, the
logprobs of a text answer; no ids)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, ModelSettings, OpenAIChatCompletionsModel, function_tool
from nex_openai_agents import OpenAIAgentsAdapter, record
from openai import AsyncOpenAI

from nex_core import TaskInfo, normalize, run_native
from nex_core.models.openai_compat import OpenAICompatibleModel
from nex_core.protocol.loader import load_spec
from nex_core.protocol.spec import AgentSpec
from nex_core.trajectory.schema import LLMStep, Tokens, Trajectory

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))  # the example spec binds examples.calculator.tools
from chat_server import ChatServer, Reply  # noqa: E402


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-123")


REPLIES = [Reply(tool_calls=[("call_1", "add", {"a": 2, "b": 3})]), Reply(text="5")]


def _run(mode: str | None) -> Trajectory:
    """The calculator example on a fresh server: natively (``mode`` None) or on the SDK."""
    spec = load_spec(REPO / "examples" / "calculator" / "agent.yaml")
    assert isinstance(spec, AgentSpec)
    task = TaskInfo(id="t1", turns=["2+3?"])
    with ChatServer(list(REPLIES)) as server:
        model = OpenAICompatibleModel(
            "m",
            base_url=server.base_url,
            timeout_s=5,
            max_retries=0,
            capture_tokens=True,
            logprobs=1,
        )
        if mode is None:
            return asyncio.run(run_native(spec, task, model=model))
        return asyncio.run(OpenAIAgentsAdapter().arun(spec, task, model=model, mode=mode))


def _llm(traj: Trajectory) -> list[LLMStep]:
    return [s for s in traj.steps if isinstance(s, LLMStep)]


def _tokens(traj: Trajectory) -> list[Tokens | None]:
    return [s.response.tokens if s.response else None for s in _llm(traj)]


@pytest.mark.parametrize("mode", ["run", "run_streamed"])
def test_a_bridged_model_brings_its_ids_logprobs_and_cached_tokens(mode: str) -> None:
    native, sdk = _run(None), _run(mode)
    tokens = _tokens(sdk)
    assert all(t is not None and t.prompt_token_ids and t.completion_token_ids for t in tokens)
    assert all(t is not None and t.logprobs and t.top_logprobs for t in tokens)
    assert tokens == _tokens(native)
    usage = [s.response.usage for s in _llm(sdk) if s.response]
    assert usage[0] is not None and usage[1] is not None
    assert usage[1].cached_tokens and usage[1].cached_tokens == len(tokens[0].prompt_token_ids)  # type: ignore[union-attr]
    assert usage == [s.response.usage for s in _llm(native) if s.response]
    assert normalize(sdk) == normalize(native)


@function_tool
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def test_an_apps_own_chat_completions_model_records_what_the_sdk_keeps() -> None:
    with ChatServer(list(REPLIES)) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="test-key-123", max_retries=0)
        agent = Agent(
            name="calc",
            instructions="Add.",
            tools=[add],
            model=OpenAIChatCompletionsModel(model="m", openai_client=client),
            model_settings=ModelSettings(top_logprobs=2, extra_body={"return_token_ids": True}),
        )
        traj = record(agent, "2+3?")
        bodies: list[dict[str, Any]] = [r.body for r in server.requests]
    assert bodies[0]["logprobs"] is True and bodies[0]["return_token_ids"] is True
    assert traj.outcome is not None and traj.outcome.final_output == "5"
    first, second = _llm(traj)
    assert first.response is not None and second.response is not None
    # The server's prompt ids of the first call count as cached in the second.
    assert first.response.usage is not None and first.response.usage.cached_tokens is None
    assert second.response.usage is not None and second.response.usage.cached_tokens
    # The SDK keeps logprobs of a text answer only, and no token ids at all.
    assert first.response.tokens is None
    tokens = second.response.tokens
    assert tokens is not None and tokens.prompt_token_ids is None
    assert tokens.completion_token_ids is None
    assert tokens.logprobs and tokens.top_logprobs is not None
    assert len(tokens.logprobs) == len(tokens.top_logprobs.logprobs)
    assert tokens.top_logprobs.tokens and tokens.top_logprobs.tokens[0][0] == "5"


def test_a_streamed_app_keeps_cached_tokens_when_it_asks_for_usage() -> None:
    """Streamed, the SDK reads usage only with ``include_usage=True`` (the stream's last chunk);
    its cached tokens then reach the record too."""
    with ChatServer(list(REPLIES)) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="test-key-123", max_retries=0)
        agent = Agent(
            name="calc",
            instructions="Add.",
            tools=[add],
            model=OpenAIChatCompletionsModel(model="m", openai_client=client),
            model_settings=ModelSettings(top_logprobs=1, include_usage=True),
        )
        traj = record(agent, "2+3?", mode="run_streamed")
    first, second = _llm(traj)
    assert second.response is not None and second.response.usage is not None
    assert first.response is not None and first.response.usage is not None
    assert second.response.usage.cached_tokens == first.response.usage.prompt_tokens
