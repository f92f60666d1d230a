"""The OpenAI-compatible model against a real chat-completions server on 127.0.0.1.

No mocked client: the ``openai`` package talks HTTP to ``tests/chat_server.py``, which scripts
replies and injects 429s, 500s and slow answers.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nex_core.errors import ModelError, SpecError
from nex_core.models.base import ResponseChunk
from nex_core.models.openai_compat import (
    PLACEHOLDER_KEY,
    OpenAICompatibleModel,
    RetryPolicy,
    retry_after_seconds,
)
from nex_core.models.registry import make_model
from nex_core.models.scripted import ScriptedModel
from nex_core.protocol.loader import load_spec
from nex_core.protocol.spec import AgentSpec, ModelSettings, ToolFormat
from nex_core.runtime.loop import run_native
from nex_core.trajectory.normalize import normalize
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    OutcomeStatus,
    StepStatus,
    TaskInfo,
    ToolCall,
    ToolSchema,
    ToolStep,
)
from nex_core.trajectory.sinks import MemorySink
from tests.chat_server import ChatServer, Fault, Reply

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ADD = ToolSchema(
    name="add",
    description="Add two numbers.",
    parameters={"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
)


def calculator() -> AgentSpec:
    spec = load_spec(EXAMPLES / "calculator" / "agent.yaml")
    assert isinstance(spec, AgentSpec)
    return spec


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


def model_for(server: ChatServer, **kw: Any) -> OpenAICompatibleModel:
    options: dict[str, Any] = {
        "timeout_s": 5.0,
        "max_retries": 3,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "jitter_seed": 7,
    }
    options.update(kw)
    return OpenAICompatibleModel("test-model", base_url=server.base_url, **options)


def ask(text: str = "hi", **params: Any) -> LLMRequest:
    return LLMRequest(messages=[Message.system("Be brief."), Message.user(text)], params=params)


def complete(model: OpenAICompatibleModel, request: LLMRequest, **kw: Any) -> LLMResponse:
    return asyncio.run(model.acomplete(request, **kw))


def stream(model: OpenAICompatibleModel, request: LLMRequest, **kw: Any) -> list[ResponseChunk]:
    async def collect() -> list[ResponseChunk]:
        return [c async for c in model.astream(request, **kw)]

    return asyncio.run(collect())


@pytest.fixture(autouse=True)
def _test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-123")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


# --------------------------------------------------------------------------- replies


def test_plain_reply(server: ChatServer) -> None:
    server.push(Reply(text="Hello there.", usage=(11, 3)))
    model = model_for(server, sampling={"temperature": 0.2})
    response = complete(model, ask(max_tokens=50))

    assert response.message == Message.assistant("Hello there.")
    assert response.finish_reason == "stop"
    assert response.usage is not None and response.usage.total_tokens == 14
    [received] = server.requests
    assert received.path == "/v1/chat/completions"
    assert received.headers["authorization"] == "Bearer test-key-123"
    assert received.body["model"] == "test-model"
    assert received.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert received.body["temperature"] == 0.2 and received.body["max_tokens"] == 50
    assert "tools" not in received.body and "stream" not in received.body


def test_reasoning_is_kept_beside_the_content(server: ChatServer) -> None:
    server.push(Reply(text="4", reasoning="2+2 is 4"))
    response = complete(model_for(server), ask("2+2?"))
    assert response.message.content == "4"
    assert response.message.reasoning == "2+2 is 4"


def test_tool_calls_round_trip(server: ChatServer) -> None:
    server.push(
        Reply(
            text="Adding.",
            tool_calls=[("call_a", "add", {"a": 2, "b": 3}), ("call_b", "add", '{"a": 1, "b":')],
        ),
        Reply(text="5"),
    )
    model = model_for(server)
    request = LLMRequest(
        messages=[Message.user("2+3?")],
        tools=[ADD],
        params={"parallel_tool_calls": True, "tool_choice": "auto"},
    )
    response = complete(model, request)

    calls = response.message.tool_calls
    assert calls is not None
    assert [(c.id, c.name) for c in calls] == [("call_a", "add"), ("call_b", "add")]
    assert json.loads(calls[0].function.arguments) == {"a": 2, "b": 3}
    assert calls[1].function.arguments == '{"a": 1, "b":'  # raw, even when malformed
    assert response.finish_reason == "tool_calls"
    first = server.requests[0].body
    assert first["tools"] == [ADD.openai()]
    assert first["parallel_tool_calls"] is True and first["tool_choice"] == "auto"

    history = [
        *request.messages,
        response.message,
        Message.tool("call_a", "5"),
        Message.tool("call_b", "Error: InvalidArguments: bad JSON"),
    ]
    assert complete(model, LLMRequest(messages=history, tools=[ADD])).message.content == "5"
    sent = server.requests[1].body["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": "Adding.",
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "add", "arguments": json.dumps({"a": 2, "b": 3})},
            },
            {
                "id": "call_b",
                "type": "function",
                "function": {"name": "add", "arguments": '{"a": 1, "b":'},
            },
        ],
    }
    assert sent[2] == {"role": "tool", "content": "5", "tool_call_id": "call_a"}


def test_text_tool_format_sends_no_tools(server: ChatServer) -> None:
    server.push(Reply(text="<tool_call>...</tool_call>"))
    request = LLMRequest(
        messages=[Message.user("go")],
        tools=[ADD],
        params={"parallel_tool_calls": False, "tool_choice": "auto"},
    )
    complete(model_for(server), request, tool_format=ToolFormat.XML)
    body = server.requests[0].body
    assert "tools" not in body and "parallel_tool_calls" not in body and "tool_choice" not in body


def test_params_nex_only_stripped_and_unknown_go_in_the_body(server: ChatServer) -> None:
    server.push(Reply(text="ok"))
    model = model_for(server, sampling={"temperature": 0.7, "top_k": 20})
    complete(
        model,
        ask(
            temperature=0.0,
            nex_trace="x",
            agent="a",
            seed=3,
            repetition_penalty=1.1,
            parallel_tool_calls=False,
        ),
    )
    body = server.requests[0].body
    assert body["temperature"] == 0.0  # the request wins over the model's defaults
    assert body["seed"] == 3 and body["top_k"] == 20 and body["repetition_penalty"] == 1.1
    assert not {"nex_trace", "agent", "parallel_tool_calls"} & set(body)


def test_usage_recorded_per_response_and_in_total(server: ChatServer) -> None:
    server.push(Reply(text="a", usage=(10, 2)), Reply(text="b", usage=(20, 5)))
    model = model_for(server)
    first = complete(model, ask())
    chunks = stream(model, ask())
    assert first.usage is not None and first.usage.model_dump(exclude_none=True) == {
        "prompt_tokens": 10,
        "completion_tokens": 2,
        "total_tokens": 12,
    }
    final = chunks[-1].final
    assert final is not None and final.usage is not None and final.usage.total_tokens == 25
    assert model.stats.usage.model_dump(exclude_none=True) == {
        "prompt_tokens": 30,
        "completion_tokens": 7,
        "total_tokens": 37,
    }
    assert model.stats.calls == 2 and model.stats.retries == 0


def test_sync_complete_from_the_base_class(server: ChatServer) -> None:
    server.push(Reply(text="one"), Reply(text="two"))
    model = model_for(server)
    # Each call runs in a fresh event loop; the model keeps one client per loop.
    assert model.complete(ask()).message.content == "one"
    assert model.complete(ask()).message.content == "two"


# --------------------------------------------------------------------------- streaming


def test_streaming_assembles_the_same_response(server: ChatServer) -> None:
    reply = Reply(
        text="Let me add these numbers.",
        reasoning="use the tool",
        tool_calls=[("call_1", "add", {"a": 2, "b": 3}), ("call_2", "add", {"a": 5, "b": 7})],
    )
    server.push(reply, reply)
    model = model_for(server)
    request = LLMRequest(messages=[Message.user("sum?")], tools=[ADD])
    whole = complete(model, request)
    chunks = stream(model, request)

    final = chunks[-1].final
    assert final == whole
    assert all(c.final is None for c in chunks[:-1])
    assert "".join(c.content for c in chunks) == "Let me add these numbers."
    assert len([c for c in chunks if c.content]) > 1  # really streamed, not one piece
    for i, call in enumerate(whole.message.tool_calls or []):
        mine = [c for c in chunks if c.tool_call_index == i]
        assert [c.tool_call_id for c in mine if c.tool_call_id] == [call.id]
        assert [c.tool_name for c in mine if c.tool_name] == [call.name]
        assert "".join(c.arguments_delta for c in mine) == call.function.arguments
    body = server.requests[1].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_stream_open_is_retried(server: ChatServer) -> None:
    server.push(Fault(503, "warming up"), Reply(text="streamed"))
    model = model_for(server)
    chunks = stream(model, ask())
    assert chunks[-1].final is not None and chunks[-1].final.message.content == "streamed"
    assert len(server.requests) == 2 and model.stats.retries == 1


# --------------------------------------------------------------------------- retries


def test_429_then_success_waits_retry_after(server: ChatServer) -> None:
    server.push(Fault(429, "slow down", retry_after=0.3), Reply(text="ok"))
    model = model_for(server, backoff_max_s=1.0)
    started = time.monotonic()
    assert complete(model, ask()).message.content == "ok"
    elapsed = time.monotonic() - started

    assert len(server.requests) == 2
    assert model.stats.retries == 1 and model.stats.waits == [pytest.approx(0.3)]
    gap = server.requests[1].at - server.requests[0].at
    assert gap >= 0.3 and elapsed >= 0.3


def test_retry_after_is_capped(server: ChatServer) -> None:
    server.push(Fault(429, "come back in an hour", retry_after=3600), Reply(text="ok"))
    model = model_for(server, backoff_max_s=0.05)
    started = time.monotonic()
    assert complete(model, ask()).message.content == "ok"
    assert time.monotonic() - started < 2
    assert model.stats.waits == [0.05]


def test_500_then_success_backs_off_with_jitter(server: ChatServer) -> None:
    server.push(Fault(500, "boom"), Fault(502, "bad gateway"), Reply(text="ok"))
    model = model_for(server, backoff_base_s=0.04, backoff_max_s=1.0)
    assert complete(model, ask()).message.content == "ok"
    assert len(server.requests) == 3 and model.stats.retries == 2
    first, second = model.stats.waits
    assert 0 <= first <= 0.04 and 0 <= second <= 0.08  # full jitter under base * 2**retry


def test_slow_reply_times_out_and_is_retried(server: ChatServer) -> None:
    server.push(Reply(text="too late", delay_s=3.0), Reply(text="fast"))
    model = model_for(server, timeout_s=0.3)
    started = time.monotonic()
    assert complete(model, ask()).message.content == "fast"
    assert time.monotonic() - started < 2.5
    assert len(server.requests) == 2 and model.stats.retries == 1


def test_non_retryable_400_raises_at_once(server: ChatServer) -> None:
    server.push(Fault(400, "temperature must be at most 2"), Reply(text="never sent"))
    model = model_for(server)
    with pytest.raises(ModelError) as info:
        complete(model, ask(temperature=5))
    err = info.value
    assert err.retryable is False and err.status == 400
    assert "temperature must be at most 2" in str(err) and "HTTP 400" in str(err)
    assert len(server.requests) == 1 and model.stats.retries == 0 and model.stats.failures == 1


def test_exhausted_retries_raise_retryable_model_error(server: ChatServer) -> None:
    server.push(*[Fault(500, "still broken")] * 3)
    model = model_for(server, max_retries=2)
    with pytest.raises(ModelError) as info:
        complete(model, ask())
    err = info.value
    assert err.retryable is True and err.status == 500
    assert "gave up after 3 attempts" in str(err) and "still broken" in str(err)
    assert len(server.requests) == 3 and model.stats.retries == 2


def test_connection_refused_is_retried_then_raised() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    model = OpenAICompatibleModel(
        "m",
        base_url=f"http://127.0.0.1:{port}/v1",
        max_retries=1,
        backoff_base_s=0.01,
        backoff_max_s=0.01,
    )
    with pytest.raises(ModelError) as info:
        complete(model, ask())
    assert info.value.retryable and "could not connect" in str(info.value)
    assert model.stats.attempts == 2


def test_runtime_retries_a_model_error_the_provider_gave_up_on(server: ChatServer) -> None:
    """Provider retries are invisible to the trajectory; an exhausted one becomes a failed LLM
    step that the runtime's own ``max_model_retries`` may try again."""
    spec = calculator()
    spec.limits.max_model_retries = 1
    server.push(Fault(500, "a"), Fault(500, "b"), Reply(text="done"))
    model = model_for(server, max_retries=1)
    traj = asyncio.run(run_native(spec, TaskInfo(turns=["hi"]), model=model))
    llm = [s for s in traj.steps if isinstance(s, LLMStep)]
    assert [s.status for s in llm] == [StepStatus.ERROR, StepStatus.OK]
    assert llm[0].error is not None and "gave up after 2 attempts" in llm[0].error.message
    assert traj.outcome is not None and traj.outcome.final_output == "done"


def test_retry_policy_and_header_parsing() -> None:
    import random

    policy = RetryPolicy(max_retries=5, backoff_base_s=1.0, backoff_max_s=5.0)
    rng = random.Random(0)
    delays = [policy.delay(n, None, rng) for n in range(8)]
    assert all(0 <= d <= min(5.0, 2.0**n) for n, d in enumerate(delays))
    assert policy.delay(0, 99.0, rng) == 5.0
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


# --------------------------------------------------------------------------- configuration


def test_key_and_base_url_from_the_environment(
    server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("MY_KEY", "my-secret-key")
    server.push(Reply(text="ok"))
    model = make_model("openai:test-model", base_url=None, api_key_env="MY_KEY")
    assert isinstance(model, OpenAICompatibleModel) and model.base_url == server.base_url
    complete(model, ask())
    assert server.requests[0].headers["authorization"] == "Bearer my-secret-key"
    assert "my-secret-key" not in repr(model)


def test_local_endpoint_needs_no_key(server: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    server.push(Reply(text="ok"))
    complete(model_for(server), ask())
    assert server.requests[0].headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"


def test_openai_itself_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(SpecError, match=r"OPENAI_API_KEY is not set"):
        OpenAICompatibleModel("gpt-4o-mini")


def test_settings_references_are_resolved(
    server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCAL_LLM_URL", server.base_url)
    monkeypatch.setenv("LOCAL_LLM_KEY", "local-key-456")
    settings = ModelSettings(
        id="qwen",
        base_url="${env:LOCAL_LLM_URL}",
        api_key="${env:LOCAL_LLM_KEY}",
        temperature=0.1,
        seed=1,
    )
    server.push(Reply(text="ok"))
    model = OpenAICompatibleModel(settings=settings)
    complete(model, ask())
    received = server.requests[0]
    assert received.headers["authorization"] == "Bearer local-key-456"
    assert received.body["model"] == "qwen"
    assert received.body["temperature"] == 0.1 and received.body["seed"] == 1


def test_model_pickles_without_its_clients(server: ChatServer) -> None:
    server.push(Reply(text="before"), Reply(text="after"))
    model = model_for(server)
    complete(model, ask())
    clone = pickle.loads(pickle.dumps(model))
    assert complete(clone, ask()).message.content == "after"


def test_concurrent_calls_share_one_client(server: ChatServer) -> None:
    server.default = Reply(text="ok")
    server.latency_s = 0.1
    model = model_for(server)

    async def many() -> list[LLMResponse]:
        return await asyncio.gather(*(model.acomplete(ask(str(i))) for i in range(40)))

    started = time.monotonic()
    results = asyncio.run(many())
    elapsed = time.monotonic() - started
    assert all(r.message.content == "ok" for r in results)
    assert elapsed < 2.0  # 40 x 100 ms served concurrently, not one after another
    assert len(model._clients) <= 1


# --------------------------------------------------------------------------- end to end


def calculator_replies() -> list[Reply]:
    # The same conversation as examples/calculator/script.yaml, served over HTTP.
    return [
        Reply(text="First the sum.", tool_calls=[("call_1", "add", {"a": 2, "b": 3})]),
        Reply(
            tool_calls=[
                ("call_2", "multiply", {"a": 5, "b": 4}),
                ("call_3", "add", {"a": 0, "b": 20}),
            ]
        ),
        Reply(text="(2+3)*4 = 20"),
    ]


def test_native_runtime_end_to_end(server: ChatServer) -> None:
    spec = calculator()
    server.push(*calculator_replies())
    model = model_for(server)
    sink = MemorySink()
    task = TaskInfo(id="calc-1", turns=["What is (2+3)*4?"])
    traj = asyncio.run(run_native(spec, task, model=model, sinks=[sink]))

    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.COMPLETED
    assert traj.outcome.final_output == "(2+3)*4 = 20"
    assert traj.provenance.model == "test-model" and traj.provenance.sampling == {"temperature": 0}
    tools = [s for s in traj.steps if isinstance(s, ToolStep)]
    assert sorted((t.name, t.result) for t in tools) == [("add", 5), ("add", 20), ("multiply", 20)]
    llm = [s for s in traj.steps if isinstance(s, LLMStep)]
    assert len(llm) == 3 and all(s.response and s.response.usage for s in llm)
    assert llm[1].response is not None
    assert llm[1].response.message.tool_calls == [
        ToolCall.make("call_2", "multiply", {"a": 5, "b": 4}),
        ToolCall.make("call_3", "add", {"a": 0, "b": 20}),
    ]

    # What the server received is what the trajectory says was sent.
    assert len(server.requests) == 3
    for step, received in zip(llm, server.requests, strict=True):
        assert received.body["messages"] == [
            m.model_dump(mode="json", exclude_none=True)
            | ({"content": None} if m.role == "assistant" and m.content is None else {})
            for m in step.request.messages
        ]
        assert received.body["tools"] == [t.openai() for t in step.request.tools]
        assert received.body["temperature"] == 0
    assert server.requests[2].body["messages"][-2:] == [
        {"role": "tool", "content": "20", "tool_call_id": "call_2"},
        {"role": "tool", "content": "20", "tool_call_id": "call_3"},
    ]

    # The same conversation from the scripted model gives the same canonical trajectory.
    scripted = ScriptedModel.from_file(EXAMPLES / "calculator" / "script.yaml")
    reference = asyncio.run(run_native(spec, task, model=scripted))
    assert normalize(traj) == normalize(reference)
    assert sink.trajectories == [traj]


def test_cli_runs_against_an_openai_compatible_endpoint(
    server: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from nex_core.cli.main import cli
    from nex_core.trajectory.reader import iter_trajectories

    monkeypatch.chdir(EXAMPLES.parent)
    monkeypatch.setenv("LOCAL_KEY", "cli-key-789")
    server.push(*calculator_replies())
    out = tmp_path / "runs.jsonl"
    args = [
        "run",
        "examples/calculator/agent.yaml",
        "--task",
        "What is (2+3)*4?",
        "--model",
        "openai:test-model",
        "--base-url",
        server.base_url,
        "--api-key-env",
        "LOCAL_KEY",
        "--out",
        str(out),
        "--quiet",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "(2+3)*4 = 20"
    [traj] = iter_trajectories(out)
    assert traj.provenance.model == "test-model"
    assert server.requests[0].headers["authorization"] == "Bearer cli-key-789"


def test_chat_server_default_reply_from_the_request(server: ChatServer) -> None:
    def echo(body: dict[str, Any]) -> Reply:
        return Reply(text=body["messages"][-1]["content"].upper())

    server.default = echo
    server.push(Reply(text="queued first"))
    model = model_for(server)
    assert complete(model, ask("a")).message.content == "queued first"
    assert complete(model, ask("hello")).message.content == "HELLO"
    assert server.pending() == 0


def test_request_messages_are_pydantic_s_dump_without_reasoning() -> None:
    """``openai_messages`` writes plain text messages by hand: the same dicts (and key order)
    as the model dump it replaces, for every role and optional field."""
    from nex_core.models.openai_compat import openai_messages
    from nex_core.trajectory.schema import ToolCall

    messages = [
        Message.system("be brief"),
        Message.user("hi", name="ann"),
        Message(role="user", content=""),
        Message.assistant("thinking done", reasoning="because"),
        Message.assistant(None, [ToolCall.make("c1", "f", "{}")]),
        Message.assistant("and", [ToolCall.make("c2", "g", "{}")]),
        Message.tool("c1", "ok"),
        Message(role="user", content=[{"type": "text", "text": "parts"}]),
    ]
    dumped = []
    for m in messages:
        data = m.model_dump(mode="json", exclude_none=True, exclude={"reasoning"})
        if m.role == "assistant" and "content" not in data:
            data["content"] = None
        dumped.append(data)
    written = openai_messages(messages)
    assert written == dumped
    assert [list(d) for d in written] == [list(d) for d in dumped]
