"""The direct request path records exactly what the SDK path does: replies, errors, retries.

Every scenario runs twice against the real chat server on 127.0.0.1, once through the SDK's
``client.post`` (``direct=False``) and once over the HTTP/1.1 transport directly
(``direct=True``), and the two outcomes must be equal field for field: the response (or the
error's type, message, status and retryability), the retry statistics and waits (the jitter is
seeded), and the bodies the server received. The malformed answers of
``tests/test_openai_malformed.py`` are among them.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from nex_core.errors import ModelError, SpecError
from nex_core.models.openai_compat import OpenAICompatibleModel
from nex_core.runtime.loop import run_native
from nex_core.trajectory.normalize import normalize
from nex_core.trajectory.schema import LLMRequest, Message, TaskInfo
from tests.chat_server import ChatServer, Fault, Item, Raw, Reply, chat_server
from tests.test_openai_compat import calculator, calculator_replies
from tests.test_openai_malformed import WRONG_TYPES, completion

__all__ = ["chat_server"]  # the fixture, imported for this module's tests

REQUEST = LLMRequest(messages=[Message.system("Be brief."), Message.user("hi")],
                     params={"temperature": 0.5, "top_k": 3})

SCENARIOS: dict[str, list[Item]] = {
    "a plain reply": [Reply(text="Hello.", usage=(11, 3))],
    "tool calls and reasoning": [Reply(text="Adding.", reasoning="sum first",
                                       tool_calls=[("c1", "add", {"a": 1, "b": 2}),
                                                   ("c2", "add", "{not json")])],
    "500 then 502 then a reply": [Fault(500, "boom"), Fault(502, "bad gateway"), Reply(text="ok")],
    "429 with Retry-After": [Fault(429, "slow down", retry_after=0.01), Reply(text="ok")],
    "400 at once": [Fault(400, "temperature must be at most 2"), Reply(text="never")],
    "401": [Fault(401, "bad key")],
    "exhausted retries": [Fault(500, "still broken")] * 3,
    "a timeout then a reply": [Reply(text="late", delay_s=0.6), Reply(text="fast")],
    "a 200 that is not JSON": [Raw("<html>502</html>", content_type="text/html"),
                               Reply(text="lucky")],
    "an error body that is not JSON": [Raw("upstream down", content_type="text/plain",
                                           status=503), Reply(text="ok")],
    "arguments as an object": [Raw(json.dumps(completion(
        content=None, tool_calls=[{"id": "a", "function": {"name": "f", "arguments": {"x": 1}}}]
    )))],
    **{f"malformed: {case}": [Raw(json.dumps(body)), Reply(text="never")]
       for case, body in WRONG_TYPES.items()},
}


def _model(base_url: str, direct: bool) -> OpenAICompatibleModel:
    return OpenAICompatibleModel("test-model", base_url=base_url, max_retries=2,
                                 backoff_base_s=0.001, backoff_max_s=0.002, timeout_s=0.3,
                                 jitter_seed=7, direct=direct)


def _outcome(model: OpenAICompatibleModel, request: LLMRequest) -> dict[str, Any]:
    try:
        result: Any = asyncio.run(model.acomplete(request)).model_dump(mode="json")
    except ModelError as exc:
        result = {"error": type(exc).__name__, "message": str(exc), "status": exc.status,
                  "retryable": exc.retryable}
    return {"result": result, "stats": vars(model.stats)}


def _run(server: ChatServer, items: list[Item], direct: bool) -> tuple[dict[str, Any], list[Any]]:
    with server._lock:  # what an earlier run left unasked goes
        server._queue.clear()
        server.requests.clear()
    server.push(*items)
    model = _model(server.base_url, direct)
    assert model.direct is direct
    outcome = _outcome(model, REQUEST)
    return outcome, [r.body for r in server.requests]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_both_paths_record_the_same(chat_server: ChatServer, scenario: str) -> None:
    sdk, sdk_bodies = _run(chat_server, SCENARIOS[scenario], direct=False)
    direct, direct_bodies = _run(chat_server, SCENARIOS[scenario], direct=True)
    assert direct == sdk
    assert direct_bodies == sdk_bodies and sdk_bodies


def test_a_refused_connection_is_the_same_error_both_ways() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the block ends
    url = f"http://127.0.0.1:{port}/v1"
    sdk = _outcome(_model(url, direct=False), REQUEST)
    direct = _outcome(_model(url, direct=True), REQUEST)
    assert direct == sdk
    assert "could not connect" in direct["result"]["message"]


def test_a_whole_run_gives_the_same_trajectory_both_ways() -> None:
    task = TaskInfo(id="calc-1", turns=["What is (2+3)*4?"])
    trajectories = []
    with ChatServer() as server:
        for direct in (False, True):
            server.push(*calculator_replies())
            model = _model(server.base_url, direct)
            trajectories.append(asyncio.run(run_native(calculator(), task, model=model)))
    sdk, direct_ = trajectories
    assert normalize(direct_) == normalize(sdk)
    assert direct_.outcome is not None and direct_.outcome.final_output == "(2+3)*4 = 20"


def test_the_direct_path_is_the_default_for_plain_http_only(chat_server: ChatServer) -> None:
    assert OpenAICompatibleModel("m", base_url=chat_server.base_url).direct
    tls = OpenAICompatibleModel("m", base_url="https://example.invalid/v1", api_key_env="NOPE_")
    assert not tls.direct
    with pytest.raises(SpecError, match="direct requests need the http1 transport"):
        OpenAICompatibleModel("m", base_url="https://example.invalid/v1", api_key_env="NOPE_",
                              direct=True)


def test_connections_are_reused_on_the_direct_path(chat_server: ChatServer) -> None:
    chat_server.push(*[Reply(text=f"r{i}") for i in range(5)])
    model = OpenAICompatibleModel("m", base_url=chat_server.base_url)

    async def go() -> list[Any]:
        texts = [(await model.acomplete(REQUEST)).message.content for _ in range(5)]
        assert model._direct is not None
        transport = await model._direct._pool()
        assert transport.connects == 1
        await model.aclose()
        return texts

    assert asyncio.run(go()) == [f"r{i}" for i in range(5)]


def test_a_round_of_concurrent_calls_keeps_its_connections(chat_server: ChatServer) -> None:
    """More calls at once than the transport's default idle pool (100): the second round reuses
    every connection the first opened instead of connecting again."""
    n = 120
    chat_server.push(*[Reply(text="ok") for _ in range(2 * n)])
    model = OpenAICompatibleModel("m", base_url=chat_server.base_url)

    async def go() -> tuple[int, int]:
        await asyncio.gather(*(model.acomplete(REQUEST) for _ in range(n)))
        assert model._direct is not None
        transport = await model._direct._pool()
        first = transport.connects
        await asyncio.gather(*(model.acomplete(REQUEST) for _ in range(n)))
        second = transport.connects
        await model.aclose()
        return first, second

    first, second = asyncio.run(go())
    assert first <= n and second == first
