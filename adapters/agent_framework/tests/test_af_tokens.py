"""Token capture through Agent Framework (issue 13): a nex OpenAI-compatible model bridged into
Agent Framework records the same prompt and completion ids, and logprobs, as the native runtime
does for the same script, against tests/chat_server.py answering as vLLM does over real HTTP."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from nex_agent_framework import AgentFrameworkAdapter
from nex_agent_framework.messages import (
    TOKENS_KEY,
    to_chat_response,
    to_nex_response,
    to_updates,
)

from nex_core import TaskInfo, normalize, run_native
from nex_core.models.openai_compat import OpenAICompatibleModel
from nex_core.protocol.loader import load_spec
from nex_core.protocol.spec import AgentSpec
from nex_core.trajectory.schema import (
    LLMResponse,
    LLMStep,
    Message,
    Tokens,
    Trajectory,
    Usage,
)

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
# The example spec binds `examples.calculator.tools`, importable from the repository root as
# `nex` makes it (tox runs the `pytest` script, which does not put the working folder first).
sys.path.insert(0, str(REPO))
from chat_server import ChatServer, Reply  # noqa: E402


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-123")


def _run(mode: str | None) -> tuple[Trajectory, list[dict[str, Any]]]:
    """The calculator example on one server: natively (``mode`` None) or through the framework."""
    spec = load_spec(REPO / "examples" / "calculator" / "agent.yaml")
    assert isinstance(spec, AgentSpec)
    task = TaskInfo(id="t1", turns=["2+3?"])
    replies = [Reply(tool_calls=[("call_1", "add", {"a": 2, "b": 3})]), Reply(text="5")]
    with ChatServer(replies) as server:
        model = OpenAICompatibleModel(
            "m",
            base_url=server.base_url,
            timeout_s=5,
            max_retries=0,
            capture_tokens=True,
            logprobs=1,
        )
        if mode is None:
            traj = asyncio.run(run_native(spec, task, model=model))
        else:
            traj = asyncio.run(AgentFrameworkAdapter().arun(spec, task, model=model, mode=mode))
        bodies = [r.body for r in server.requests]
    return traj, bodies


def _tokens(traj: Trajectory) -> list[Tokens | None]:
    return [s.response.tokens if s.response else None for s in traj.steps if isinstance(s, LLMStep)]


def _prompts(bodies: list[dict[str, Any]]) -> list[Any]:
    """What the server tokenises: the conversation (speaker names aside, which its chat template
    does not render) and the tools; streaming adds only the stream fields."""
    return [
        ([{k: v for k, v in m.items() if k != "name"} for m in b["messages"]], b.get("tools"))
        for b in bodies
    ]


@pytest.fixture(scope="module")
def native() -> tuple[Trajectory, list[dict[str, Any]]]:
    return _run(None)


@pytest.mark.parametrize("mode", ["run", "stream"])
def test_bridged_runs_record_the_ids_the_native_run_records(
    mode: str, native: tuple[Trajectory, list[dict[str, Any]]]
) -> None:
    native_traj, native_bodies = native
    framework, bodies = _run(mode)
    assert _prompts(bodies) == _prompts(native_bodies)
    assert all(bool(b.get("stream")) is (mode == "stream") for b in bodies)
    expected = _tokens(native_traj)
    assert len(expected) == 2 and all(t is not None for t in expected)
    first = expected[0]
    assert first is not None and first.completion_token_ids and first.logprobs
    assert first.top_logprobs is not None and first.top_logprobs.token_ids
    assert _tokens(framework) == expected
    assert normalize(framework) == normalize(native_traj)
    # Usage (normalize drops it) crosses the bridge whole, the server's cached tokens included.
    usages = [s.response.usage for s in framework.steps if isinstance(s, LLMStep) and s.response]
    assert usages == [
        s.response.usage for s in native_traj.steps if isinstance(s, LLMStep) and s.response
    ]
    assert usages[1] is not None and usages[1].cached_tokens


def test_cached_tokens_survive_the_usage_conversion() -> None:
    usage = Usage(prompt_tokens=10, completion_tokens=2, total_tokens=12, cached_tokens=7)
    response = LLMResponse(message=Message.assistant("hi"), finish_reason="stop", usage=usage)
    assert to_nex_response(to_chat_response(response)).usage == usage
    plain = usage.model_copy(update={"cached_tokens": None})
    assert to_nex_response(
        to_chat_response(response.model_copy(update={"usage": plain}))
    ).usage == (plain)


def test_the_properties_are_only_added_when_there_are_tokens() -> None:
    plain = LLMResponse(message=Message.assistant("hi"), finish_reason="stop")
    assert TOKENS_KEY not in (to_chat_response(plain).additional_properties or {})
    assert all(TOKENS_KEY not in (u.additional_properties or {}) for u in to_updates(plain))
    assert to_nex_response(to_chat_response(plain)).tokens is None
    captured = plain.model_copy(update={"tokens": Tokens(completion_token_ids=[1, 2])})
    response = to_chat_response(captured)
    assert response.additional_properties[TOKENS_KEY] == {"completion_token_ids": [1, 2]}
    assert to_nex_response(response).tokens == captured.tokens
