"""Bad OTLP input: a clear error naming the file and place, or a partial trajectory whose report
says what was wrong; never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from click.testing import CliRunner
from otel_helpers import team_run

from nex_core.cli.main import cli
from nex_core.errors import TrajectoryError
from nex_core.otel import OTLPJsonFileSink, import_otlp
from nex_core.otel import _wire as wire
from nex_core.trajectory.schema import Trajectory


@pytest.fixture(scope="module")
def request_line(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("otlp") / "good.jsonl"
    with OTLPJsonFileSink(path) as sink:
        sink.write(team_run())
    return path.read_text().strip()


def _spans(request: dict[str, Any]) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    return spans


def _import(tmp_path: Path, data: Any, name: str = "t.json") -> tuple[list[Trajectory], list[str]]:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    problems: list[str] = []
    return list(import_otlp(path, on_error=problems.append)), problems


def test_truncated_document_names_the_file(tmp_path: Path, request_line: str) -> None:
    pretty = json.dumps(json.loads(request_line), indent=2)
    path = tmp_path / "cut.json"
    path.write_text(pretty[: len(pretty) // 2])
    with pytest.raises(TrajectoryError, match=r"cut\.json: not OTLP JSON .*truncated"):
        list(import_otlp(path))


def test_a_torn_last_line_is_reported_and_the_rest_read(tmp_path: Path, request_line: str) -> None:
    got, problems = _import(tmp_path, request_line + "\n" + request_line[:500] + "\n", "t.jsonl")
    assert len(got) == 1
    assert len(problems) == 1 and "t.jsonl:2: not JSON" in problems[0]


def test_json_that_is_not_a_trace_export(tmp_path: Path, request_line: str) -> None:
    got, problems = _import(tmp_path, {"hello": 1})
    assert got == [] and "t.json:1: no 'resourceSpans' list" in problems[0]
    data = json.loads(request_line)
    _spans(data)[2]["traceId"] = "xyz"
    got, problems = _import(tmp_path, data)
    assert got == []
    assert (
        "resourceSpans[0].scopeSpans[0].spans[2].traceId: 'xyz' is not a 16-byte id" in problems[0]
    )


def test_missing_parent_is_reported_and_the_orphans_kept(tmp_path: Path, request_line: str) -> None:
    data = json.loads(request_line)
    spans = _spans(data)
    sub = next(s for s in spans if s["name"] == "invoke_agent helper")
    spans.remove(sub)
    (got,), _ = _import(tmp_path, data)
    lacks = got.metadata["otlp"]["lacks"]
    assert "span 'chat scripted' has a parent that is not in the trace (x2)" in lacks
    assert "span 'execute_tool add' has a parent that is not in the trace" in lacks
    # The helper's steps survive, under the run.
    assert sum(1 for s in got.steps if s.agent == "helper") == 3


def test_cycles_duplicates_and_oversized_attributes(
    tmp_path: Path, request_line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = json.loads(request_line)
    spans = _spans(data)
    a, b = (s for s in spans if s["name"] in ("execute_tool broken", "execute_tool lookup"))
    a["parentSpanId"], b["parentSpanId"] = b["spanId"], a["spanId"]
    spans.append(dict(spans[0]))  # the same span id twice
    (got,), _ = _import(tmp_path, data)
    lacks = got.metadata["otlp"]["lacks"]
    assert any(x.startswith("spans whose parents form a cycle; cut at") for x in lacks)
    assert any(x.startswith(f"duplicate span id {spans[0]['spanId']}") for x in lacks)
    assert len(got.steps) == len(spans) - 2  # every span but the root and the copy

    monkeypatch.setattr(wire, "MAX_ATTRIBUTE_BYTES", 400)
    (got,), _ = _import(tmp_path, json.loads(request_line))
    lacks = got.metadata["otlp"]["lacks"]
    assert any(x.startswith("oversized attribute dropped: gen_ai.input.messages") for x in lacks)


def test_a_trace_whose_root_never_came_is_partial(tmp_path: Path, request_line: str) -> None:
    data = json.loads(request_line)
    spans = _spans(data)
    spans.remove(next(s for s in spans if "parentSpanId" not in s or not s["parentSpanId"]))
    (got,), _ = _import(tmp_path, data)
    assert (
        "the trace's root span never arrived (partial trajectory)" in got.metadata["otlp"]["lacks"]
    )


def test_protobuf_files(tmp_path: Path, request_line: str) -> None:
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    data = json.loads(request_line)
    for sp in _spans(data):  # the proto3 JSON mapping writes ids as base64
        for key in ("traceId", "spanId", "parentSpanId"):
            if key in sp:
                import base64

                sp[key] = base64.b64encode(bytes.fromhex(sp[key])).decode()
    message = ParseDict(data, ExportTraceServiceRequest()).SerializeToString()
    (tmp_path / "one.pb").write_bytes(message)
    assert len(list(import_otlp(tmp_path / "one.pb"))) == 1
    # The Collector's file exporter: each message after its 4-byte big-endian length.
    framed = b"".join(len(message).to_bytes(4, "big") + message for _ in range(2))
    (tmp_path / "two.binpb").write_bytes(framed)
    problems: list[str] = []
    assert len(list(import_otlp(tmp_path / "two.binpb", on_error=problems.append))) == 1
    spans = len(_spans(data))  # the second copy of the trace came after it was complete
    assert problems == [f"{spans} span(s) arrived after their trace's root and were left out"]
    (tmp_path / "bad.pb").write_bytes(b"\x0a\xff\xff\xff")
    with pytest.raises(TrajectoryError, match=r"bad\.pb: not an OTLP protobuf trace request"):
        list(import_otlp(tmp_path / "bad.pb"))


def test_any_truncation_is_an_error_or_a_partial_never_a_crash(
    tmp_path: Path, request_line: str
) -> None:
    path = tmp_path / "cut.jsonl"
    for cut in range(0, len(request_line), max(1, len(request_line) // 60)):
        path.write_text(request_line + "\n" + request_line[:cut])
        problems: list[str] = []
        got = list(import_otlp(path, on_error=problems.append))
        assert len(got) == 1
        assert len(problems) <= 1


def test_the_cli_says_what_is_wrong_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 5}]}]}]}')
    result = CliRunner().invoke(cli, ["import", "otlp", str(bad), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    # rich wraps the long path anywhere: compare without white space
    assert "spans[0].traceId:mustbeahexstringof16bytes" in "".join(result.output.split())
    empty = tmp_path / "folder"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["import", "otlp", str(empty)])
    assert result.exit_code != 0 and "no OTLP files in this folder" in result.output
