"""A real API key never leaves nex except in the Authorization header it was meant for.

A canary key is set in the environment and used against the local chat server, through retries
and an authentication failure whose message echoes the key (as real servers' do); then the
trajectory file's bytes and every log line (openai, httpx and nex loggers at DEBUG, and whatever
reached the process's stdout and stderr) are searched for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nex_core.errors import ModelError, SpecError
from nex_core.models.openai_compat import OpenAICompatibleModel
from nex_core.protocol.loader import dump_spec, load_spec
from nex_core.protocol.spec import AgentSpec, ModelSettings
from nex_core.runtime.loop import run_native
from nex_core.trajectory.reader import iter_trajectories
from nex_core.trajectory.schema import LLMRequest, Message, OutcomeStatus, TaskInfo
from nex_core.trajectory.sinks import JSONLSink
from tests.chat_server import ChatServer, Fault, Reply

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LOGGERS = ("openai", "httpx", "httpx2", "httpcore", "httpcore2", "nex")


@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> str:
    key = f"sk-canary-{secrets.token_hex(16)}"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return key


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


@pytest.fixture
def debug_logs(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger that could see a request at DEBUG, captured and also printed to stderr
    (after ``capfd`` has started, so that what the handler prints is what ``capfd`` reads)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    try:
        yield caplog
    finally:
        root.removeHandler(handler)


def calculator() -> AgentSpec:
    spec = load_spec(EXAMPLES / "calculator" / "agent.yaml")
    assert isinstance(spec, AgentSpec)
    return spec


# Both request paths: through the openai SDK (whose debug logs would carry the headers) and the
# direct one nex takes by default over its own transport.
@pytest.mark.parametrize("direct", [False, True], ids=["sdk", "direct"])
def test_canary_key_reaches_the_server_and_nothing_else(
    direct: bool,
    canary: str,
    server: ChatServer,
    debug_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    spec = calculator()
    server.push(
        Fault(429, "rate limited", retry_after=0.01),
        Reply(text="Adding.", tool_calls=[("c1", "add", {"a": 2, "b": 3})]),
        Fault(503, "overloaded"),
        Reply(text="5"),
        # A second run fails authentication; the server echoes the key, as OpenAI's 401 does.
        Fault(401, f"Incorrect API key provided: {canary}. You can find your API key at ..."),
    )
    model = OpenAICompatibleModel(
        "test-model",
        base_url=server.base_url,
        backoff_base_s=0.01,
        backoff_max_s=0.02,
        direct=direct,
    )
    out = tmp_path / "runs.jsonl"
    with JSONLSink(out) as sink:
        ok = asyncio.run(run_native(spec, TaskInfo(turns=["2+3?"]), model=model, sinks=[sink]))
        failed = asyncio.run(run_native(spec, TaskInfo(turns=["again"]), model=model, sinks=[sink]))

    assert ok.outcome is not None and ok.outcome.final_output == "5"
    assert failed.outcome is not None and failed.outcome.status is OutcomeStatus.ERROR
    assert failed.outcome.error is not None and "HTTP 401" in failed.outcome.error.message

    # The server did get the key, on every request.
    assert len(server.requests) == 5
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {canary}"}

    # Nothing written has it: trajectory bytes, log records, stdout and stderr.
    data = out.read_bytes()
    assert len(list(iter_trajectories(out))) == 2
    assert canary.encode() not in data
    assert "Incorrect API key provided" in data.decode()  # the error is kept, the key is not
    assert canary not in repr(model)
    records = debug_logs.records
    if not direct:  # the SDK really logged at debug level, and the key is not in it
        assert any(r.name.startswith("openai") and r.levelno == logging.DEBUG for r in records)
    assert any(r.name == "nex.models.openai" and "retrying" in r.getMessage() for r in records)
    assert all(canary not in r.getMessage() for r in records)
    assert canary not in debug_logs.text
    captured = capfd.readouterr()
    assert "retrying" in captured.err  # the stream handler really wrote the logs there
    assert canary not in captured.out and canary not in captured.err


def test_model_errors_never_carry_the_key(canary: str, server: ChatServer) -> None:
    server.push(Fault(403, f"key {canary} may not use this model"))
    model = OpenAICompatibleModel("test-model", base_url=server.base_url)
    with pytest.raises(ModelError) as info:
        asyncio.run(model.acomplete(LLMRequest(messages=[Message.user("hi")])))
    assert canary not in str(info.value) and "HTTP 403" in str(info.value)
    assert "OPENAI_API_KEY" in str(info.value)  # says which variable to check


def test_spec_references_are_stored_unresolved(
    canary: str, server: ChatServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEX_TEST_LLM_URL", server.base_url)
    path = tmp_path / "agent.yaml"
    path.write_text(
        "name: helper\n"
        "system_prompt: Be brief.\n"
        "model:\n"
        "  id: test-model\n"
        "  base_url: ${env:NEX_TEST_LLM_URL}\n"
        "  api_key: ${env:OPENAI_API_KEY}\n"
    )
    spec = load_spec(path)
    assert isinstance(spec, AgentSpec)
    for fmt in ("yaml", "json"):
        dumped = dump_spec(spec, fmt=fmt)
        assert "${env:OPENAI_API_KEY}" in dumped and "${env:NEX_TEST_LLM_URL}" in dumped
        assert canary not in dumped and server.base_url not in dumped
    assert canary not in json.dumps(spec.model_dump(mode="json"))

    # The model resolves the references only when it runs, and the trajectory keeps none.
    server.push(Reply(text="hi"))
    model = OpenAICompatibleModel(settings=spec.model)
    traj = asyncio.run(run_native(spec, TaskInfo(turns=["hello"]), model=model))
    assert traj.outcome is not None and traj.outcome.final_output == "hi"
    assert server.requests[0].headers["authorization"] == f"Bearer {canary}"
    assert canary not in traj.to_json()


def test_a_literal_key_in_a_spec_is_rejected_without_echoing_it(
    canary: str, tmp_path: Path
) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(f"name: leaky\nmodel:\n  id: m\n  api_key: {canary}\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert "reference" in str(info.value) and canary not in str(info.value)


def test_a_literal_key_passed_in_python_is_rejected_without_echoing_it(canary: str) -> None:
    with pytest.raises(ValueError) as info:
        ModelSettings(api_key=canary)
    assert "reference" in str(info.value) and canary not in str(info.value)
