"""Token capture through AutoGen (issue 13): a nex OpenAI-compatible model bridged into AutoGen
records the same prompt and completion ids, and logprobs, as the native runtime does for the
same script, against tests/chat_server.py answering as vLLM does over real HTTP."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from nex_autogen import AutogenAdapter
from nex_autogen.build import build
from nex_autogen.messages import to_create_result, to_nex_response

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


def _spec() -> AgentSpec:
    spec = load_spec(REPO / "examples" / "calculator" / "agent.yaml")
    assert isinstance(spec, AgentSpec)
    return spec


async def _autogen(model: OpenAICompatibleModel, how: str) -> Trajectory:
    task = TaskInfo(id="t1", turns=["2+3?"])
    if how in ("run", "run_stream"):
        return await AutogenAdapter().arun(_spec(), task, model=model, mode=how)  # type: ignore[arg-type]
    # An agent that streams its model calls: the bridge's create_stream path.
    agent = build(_spec(), model)
    agent._model_client_stream = True  # type: ignore[union-attr]
    return await AutogenAdapter().arecord(agent, task)


def _run(how: str | None) -> tuple[Trajectory, list[dict[str, Any]]]:
    """The calculator example on one server: natively (``how`` None) or through AutoGen."""
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
        if how is None:
            task = TaskInfo(id="t1", turns=["2+3?"])
            traj = asyncio.run(run_native(_spec(), task, model=model))
        else:
            traj = asyncio.run(_autogen(model, how))
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


@pytest.mark.parametrize("how", ["run", "run_stream", "model_client_stream"])
def test_bridged_runs_record_the_ids_the_native_run_records(
    how: str, native: tuple[Trajectory, list[dict[str, Any]]]
) -> None:
    native_traj, native_bodies = native
    autogen, bodies = _run(how)
    assert _prompts(bodies) == _prompts(native_bodies)
    if how == "model_client_stream":
        assert all(b.get("stream") for b in bodies)
    expected = _tokens(native_traj)
    assert len(expected) == 2 and all(t is not None for t in expected)
    first = expected[0]
    assert first is not None and first.completion_token_ids and first.logprobs
    assert first.top_logprobs is not None and first.top_logprobs.token_ids
    assert _tokens(autogen) == expected
    assert normalize(autogen) == normalize(native_traj)


def test_autogen_sees_the_result_it_always_saw() -> None:
    plain = LLMResponse(message=Message.assistant("hi"), finish_reason="stop")
    captured = plain.model_copy(update={"tokens": Tokens(completion_token_ids=[1, 2])})
    with_tokens, without = to_create_result(captured), to_create_result(plain)
    assert with_tokens == without and with_tokens.model_dump() == without.model_dump()
    assert repr(with_tokens) == repr(without)
    assert to_nex_response(with_tokens).tokens == captured.tokens
    assert to_nex_response(without).tokens is None
