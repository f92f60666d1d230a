"""Real OTLP exporters sending to nex's receiver on loopback (HTTP/protobuf, JSON and gRPC), bad
requests answered and counted while it keeps serving, and ``nex receive`` as a process."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")
pytest.importorskip("uvicorn")

from click.testing import CliRunner
from otel_helpers import team_run

from nex_core.cli.main import cli
from nex_core.otel import OTLPJsonFileSink, OTLPSink, semconv
from nex_core.otel.receive import GrpcReceiver, Receiver, ReceiverServer
from nex_core.trajectory import iter_trajectories, normalize
from nex_core.trajectory.sinks import MemorySink


@pytest.fixture
def received() -> Iterator[tuple[ReceiverServer, MemorySink]]:
    memory = MemorySink()
    with ReceiverServer(Receiver([memory], settle_s=0.05), port=0) as server:
        yield server, memory


def _wait(memory: MemorySink, n: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(memory.trajectories) < n:
        assert time.monotonic() < deadline, f"{len(memory.trajectories)} of {n} trajectories"
        time.sleep(0.02)


def _post(url: str, body: bytes, content_type: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url + "/v1/traces", data=body, headers={"Content-Type": content_type, **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/stats", timeout=10) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def test_http_protobuf_exporter_to_the_receiver(
    received: tuple[ReceiverServer, MemorySink],
) -> None:
    server, memory = received
    runs = [team_run() for _ in range(3)]
    # Small batches: the trajectories' spans cross several export requests.
    with OTLPSink(server.url, capture_content=True, max_export_batch_size=4) as sink:
        for traj in runs:
            sink.write(traj)
    _wait(memory, 3)
    got = {t.id: t for t in memory.trajectories}
    for traj in runs:
        assert normalize(got[traj.id]) == normalize(traj)
        assert got[traj.id].metadata["otlp"]["lacks"] == []
    stats = _stats(server.url)
    assert stats["requests"] >= 3 and stats["bad_requests"] == 0
    assert stats["spans"] == sum(len(t.steps) + 1 for t in runs)


def test_grpc_exporter_to_the_receiver() -> None:
    pytest.importorskip("grpc")
    memory = MemorySink()
    receiver = Receiver([memory], settle_s=0.0)
    traj = team_run()
    with GrpcReceiver(receiver, port=0) as server:
        with OTLPSink(server.url, protocol="grpc", capture_content=True) as sink:
            sink.write(traj)
        receiver.collector.poll()
        _wait(memory, 1)
    assert normalize(memory.trajectories[0]) == normalize(traj)


def test_bad_requests_get_400_are_counted_and_the_receiver_goes_on(
    received: tuple[ReceiverServer, MemorySink], tmp_path: Path
) -> None:
    server, memory = received
    assert _post(server.url, b"\x0a\xff\xff", "application/x-protobuf")[0] == 400
    status, body = _post(server.url, b'{"resourceSpans": [', "application/json")
    assert status == 400 and b"not JSON" in body
    status, body = _post(server.url, b'{"spans": []}', "application/json")
    assert status == 400 and b"resourceSpans" in body
    assert _post(server.url, b"hello", "text/plain")[0] == 400
    assert (
        _post(server.url, b"not gzip", "application/json", **{"Content-Encoding": "gzip"})[0] == 400
    )
    # A request over the size limit is refused before it is read whole.
    from nex_core.otel import receive

    limit, receive.MAX_BODY_BYTES = receive.MAX_BODY_BYTES, 1000
    try:
        assert _post(server.url, b"{" + b" " * 2000 + b"}", "application/json")[0] == 413
    finally:
        receive.MAX_BODY_BYTES = limit
    assert _stats(server.url)["bad_requests"] == 6
    # Still serving: OTLP JSON, gzip-compressed, as an exporter or the Collector sends it.
    traj = team_run()
    with OTLPJsonFileSink(tmp_path / "t.jsonl") as sink:
        sink.write(traj)
    line = (tmp_path / "t.jsonl").read_bytes()
    status, body = _post(
        server.url, gzip.compress(line), "application/json", **{"Content-Encoding": "gzip"}
    )
    assert status == 200 and json.loads(body) == {}
    _wait(memory, 1)
    assert normalize(memory.trajectories[0]) == normalize(traj)


def test_nex_receive_process_takes_what_nex_run_sends(repo: Path, tmp_path: Path) -> None:
    received = tmp_path / "received.jsonl"
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "nex"),
            "receive",
            "--port",
            "0",
            "-o",
            str(received),
            "--settle",
            "0.1",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "listening on http://127.0.0.1:" in line, line
        url = line.split("listening on ", 1)[1].split("/v1/traces", 1)[0]
        recorded = tmp_path / "t.jsonl"
        os.environ[semconv.CAPTURE_CONTENT_ENV] = "true"
        try:
            result = CliRunner().invoke(
                cli,
                [
                    "run",
                    str(repo / "examples/calculator/agent.yaml"),
                    "--task",
                    "What is (2+3)*4?",
                    "--model",
                    f"scripted:{repo / 'examples/calculator/script.yaml'}",
                    "--out",
                    str(recorded),
                    "--quiet",
                    "--sink",
                    f"otlp:{url}",
                ],
            )
        finally:
            del os.environ[semconv.CAPTURE_CONTENT_ENV]
        assert result.exit_code == 0, result.output
        deadline = time.monotonic() + 20
        while _stats(url)["trajectories"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "wrote 1 trajectories" in err
    (sent,) = iter_trajectories(recorded, strict=True)
    (got,) = iter_trajectories(received, strict=True)
    assert normalize(got) == normalize(sent)
    assert got.provenance == sent.provenance
