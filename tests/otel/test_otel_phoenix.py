"""The OTLP sink against a third-party receiver process: Arize Phoenix, started by the test, then
queried back for the span tree it stored. Slow (Phoenix migrates its database on start: about
two minutes on a loaded 2-core machine) and needs Phoenix: set ``NEX_TEST_PHOENIX`` to its
``phoenix`` executable (it is best kept in an environment of its own: ``arize-phoenix`` pins
protobuf and SQLAlchemy versions of its own), or have ``phoenix`` on PATH."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from otel_helpers import team_run

from nex_core.otel import OTLPSink

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PHOENIX = os.environ.get("NEX_TEST_PHOENIX") or shutil.which("phoenix")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    if not PHOENIX:
        pytest.skip("Phoenix is not installed (set NEX_TEST_PHOENIX to its phoenix executable)")
    work = tmp_path_factory.mktemp("phoenix")
    http_port, grpc_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(work),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(http_port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    log = (work / "phoenix.log").open("w")
    proc = subprocess.Popen([PHOENIX, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            assert proc.poll() is None, (work / "phoenix.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "Phoenix did not start in 10 minutes"
            try:
                _get(f"{url}/v1/projects")
                break
            except (OSError, urllib.error.URLError, ValueError):
                time.sleep(1)
        yield url, grpc_port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _spans(url: str, trace_id: str, n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        data = _get(f"{url}/v1/projects/default/spans?limit=1000")["data"]
        mine = [s for s in data if s["context"]["trace_id"] == trace_id]
        if len(mine) >= n or time.monotonic() > deadline:
            return mine
        time.sleep(0.5)


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_phoenix_stores_the_span_tree(phoenix: tuple[str, int], protocol: str) -> None:
    url, grpc_port = phoenix
    traj = team_run()
    endpoint = url if protocol == "http/protobuf" else f"http://127.0.0.1:{grpc_port}"
    with OTLPSink(endpoint, protocol=protocol, capture_content=True) as sink:
        sink.write(traj)
    spans = _spans(url, _trace_id_of(url, traj.id), len(traj.steps) + 1)
    assert len(spans) == len(traj.steps) + 1
    by_id = {s["context"]["span_id"]: s for s in spans}
    names = {s["name"] for s in spans}
    assert {
        "invoke_agent boss",
        "invoke_agent helper",
        "chat scripted",
        "execute_tool add",
        "execute_tool broken",
        "execute_tool lookup",
        "execute_tool helper",
    } <= names
    (root,) = [s for s in spans if s["parent_id"] is None]
    assert root["name"] == "invoke_agent boss"
    add = next(s for s in spans if s["name"] == "execute_tool add")
    helper = by_id[add["parent_id"]]
    assert helper["name"] == "invoke_agent helper"
    assert by_id[helper["parent_id"]]["name"] == "execute_tool helper"
    # Phoenix read the GenAI conventions: kinds, the failure, the captured content.
    assert {s["span_kind"] for s in spans if s["name"] == "chat scripted"} == {"LLM"}
    assert add["span_kind"] == "TOOL" and root["span_kind"] == "AGENT"
    broken = next(s for s in spans if s["name"] == "execute_tool broken")
    assert broken["status_code"] == "ERROR" and "on fire" in broken["status_message"]
    chat = next(s for s in spans if s["name"] == "chat scripted")
    assert "gen_ai.input.messages" in json.dumps(chat["attributes"])


def _trace_id_of(url: str, trajectory_id: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        for span in _get(f"{url}/v1/projects/default/spans?limit=1000")["data"]:
            if (
                json.dumps(span["attributes"]).find(trajectory_id) >= 0
                and span["parent_id"] is None
            ):
                return str(span["context"]["trace_id"])
        assert time.monotonic() < deadline, "Phoenix never stored the run's root span"
        time.sleep(0.5)
