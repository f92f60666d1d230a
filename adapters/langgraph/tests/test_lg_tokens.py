"""Token capture through LangGraph (issue 13): a nex OpenAI-compatible model bridged into
LangGraph records the same prompt and completion ids, and logprobs, as the native runtime does
for the same script, against tests/chat_server.py answering as vLLM does over real HTTP."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from nex_langgraph import arun
from nex_langgraph._messages import TOKENS_KEY, response_of, response_to_ai

from nex_core import TaskInfo, normalize, run_native
from nex_core.models.openai_compat import OpenAICompatibleModel
from nex_core.protocol.loader import load_spec
from nex_core.protocol.spec import AgentSpec
from nex_core.trajectory.schema import LLMResponse, LLMStep, Message, Tokens, Trajectory

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
# The example spec binds `examples.calculator.tools`, importable from the repository root as
# `nex` makes it (tox runs the `pytest` script, which does not put the working folder first).
sys.path.insert(0, str(REPO))
from chat_server import ChatServer, Reply  # noqa: E402


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-123")


def _replies() -> list[Reply]:
    return [Reply(tool_calls=[("call_1", "add", {"a": 2, "b": 3})]), Reply(text="5")]


def _run(mode: str | None) -> tuple[Trajectory, list[dict[str, Any]]]:
    """The calculator example on one server: natively (``mode`` None) or through LangGraph."""
    spec = load_spec(REPO / "examples" / "calculator" / "agent.yaml")
    assert isinstance(spec, AgentSpec)
    task = TaskInfo(id="t1", turns=["2+3?"])
    with ChatServer(_replies()) as server:
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
            traj = asyncio.run(arun(spec, task, model=model, mode=mode))  # type: ignore[arg-type]
        bodies = [r.body for r in server.requests]
    return traj, bodies


def _tokens(traj: Trajectory) -> list[Tokens | None]:
    return [s.response.tokens if s.response else None for s in traj.steps if isinstance(s, LLMStep)]


@pytest.fixture(scope="module")
def native() -> tuple[Trajectory, list[dict[str, Any]]]:
    return _run(None)


@pytest.mark.parametrize("mode", ["ainvoke", "invoke", "astream", "stream"])
def test_bridged_runs_record_the_ids_the_native_run_records(
    mode: str, native: tuple[Trajectory, list[dict[str, Any]]]
) -> None:
    native_traj, native_bodies = native
    graph, bodies = _run(mode)
    _same_prompts(bodies, native_bodies)
    expected = _tokens(native_traj)
    assert len(expected) == 2 and all(t is not None for t in expected)
    first = expected[0]
    assert first is not None and first.completion_token_ids and first.logprobs
    assert first.top_logprobs is not None and first.top_logprobs.token_ids
    assert _tokens(graph) == expected
    assert normalize(graph) == normalize(native_traj)


def test_the_metadata_is_only_added_when_there_are_tokens() -> None:
    plain = LLMResponse(message=Message.assistant("hi"), finish_reason="stop")
    message = response_to_ai(plain, model_id="m")
    assert TOKENS_KEY not in message.response_metadata
    assert response_of(message).tokens is None
    captured = plain.model_copy(update={"tokens": Tokens(completion_token_ids=[1, 2])})
    message = response_to_ai(captured, model_id="m")
    assert message.response_metadata[TOKENS_KEY] == {"completion_token_ids": [1, 2]}
    assert response_of(message) == captured


def _same_prompts(bodies: list[dict[str, Any]], native: list[dict[str, Any]]) -> None:
    """The same conversations and tools, so the server tokenised the same prompts (LangGraph
    names the agent on its assistant messages, which the server's chat template does not render;
    streaming modes add the stream fields)."""

    def unnamed(body: dict[str, Any]) -> dict[str, Any]:
        messages = [{k: v for k, v in m.items() if k != "name"} for m in body["messages"]]
        return {"messages": messages, "tools": body.get("tools")}

    assert [unnamed(b) for b in bodies] == [unnamed(b) for b in native]
