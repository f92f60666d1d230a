"""Trajectories out as GenAI spans: the span tree, the attributes, the opt-in, and the way back."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from otel_helpers import team_run

from nex_core.otel import OTLPJsonFileSink, OTLPSink, import_otlp, semconv
from nex_core.trajectory import normalize
from nex_core.trajectory.schema import StepStatus


def _spans(capture: bool) -> tuple[Any, list[Any]]:
    traj = team_run()
    exporter = InMemorySpanExporter()
    with OTLPSink(exporter=exporter, capture_content=capture) as sink:
        sink.write(traj)
    return traj, list(exporter.get_finished_spans())


def test_span_tree_follows_the_genai_conventions() -> None:
    traj, spans = _spans(capture=False)
    by_id = {s.context.span_id: s for s in spans}
    assert len(spans) == len(traj.steps) + 1
    assert len({s.context.trace_id for s in spans}) == 1  # one trace per trajectory
    (root,) = [s for s in spans if s.parent is None]
    assert root.name == "invoke_agent boss"
    assert root.attributes[semconv.OPERATION_NAME] == "invoke_agent"
    assert root.attributes[semconv.NEX_TRAJECTORY_ID] == traj.id

    def parent_name(span: Any) -> str:
        return by_id[span.parent.span_id].name

    chats = [s for s in spans if s.attributes[semconv.OPERATION_NAME] == "chat"]
    assert {s.kind for s in chats} == {SpanKind.CLIENT}
    assert all(s.name == "chat scripted" for s in chats)
    assert sorted(parent_name(s) for s in chats) == [
        "invoke_agent boss",
        "invoke_agent boss",
        "invoke_agent helper",
        "invoke_agent helper",
    ]
    (add,) = [s for s in spans if s.name == "execute_tool add"]
    assert parent_name(add) == "invoke_agent helper"  # the sub-agent's steps nest under it
    # The native runtime records agent-as-tool as a tool step holding the sub-agent step.
    helper = by_id[add.parent.span_id]
    assert parent_name(helper) == "execute_tool helper"
    assert parent_name(by_id[helper.parent.span_id]) == "invoke_agent boss"
    assert add.attributes[semconv.TOOL_CALL_ID]
    (broken,) = [s for s in spans if s.name == "execute_tool broken"]
    assert broken.status.status_code is StatusCode.ERROR
    assert "the disk is on fire" in (broken.status.description or "")
    assert broken.attributes[semconv.ERROR_TYPE] == "RuntimeError"
    # Recorded times, not export times.
    step = next(s for s in traj.steps if s.kind == "tool" and s.name == "add")
    assert add.start_time == int(step.started_at.timestamp() * 1_000_000) * 1000
    # Without the opt-in no content at all.
    for span in spans:
        assert not set(span.attributes) & semconv.CONTENT_ATTRIBUTES, span.name
        assert semconv.NEX_TASK_TURNS not in span.attributes


def test_content_is_written_only_with_the_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    _, spans = _spans(capture=True)
    chat = next(s for s in spans if s.name == "chat scripted")
    messages = json.loads(chat.attributes[semconv.INPUT_MESSAGES])
    assert messages[0] == {
        "role": "system",
        "parts": [{"type": "text", "content": "You are boss."}],
    }
    tools = json.loads(chat.attributes[semconv.TOOL_DEFINITIONS])
    assert {t["name"] for t in tools} == {"broken", "lookup", "helper"}
    out = json.loads(chat.attributes[semconv.OUTPUT_MESSAGES])
    assert out[0]["parts"][0] == {"type": "reasoning", "content": "delegate, then check"}
    assert [p["name"] for p in out[0]["parts"][1:]] == ["helper", "broken", "lookup"]
    lookup = next(s for s in spans if s.name == "execute_tool lookup")
    assert json.loads(lookup.attributes[semconv.TOOL_CALL_ARGUMENTS]) == {"key": "abc"}
    assert json.loads(lookup.attributes[semconv.TOOL_CALL_RESULT]) == {"key": "abc", "value": 3}
    # The conventions' environment opt-in turns it on when the caller says nothing.
    monkeypatch.setenv(semconv.CAPTURE_CONTENT_ENV, "true")
    assert OTLPSink(exporter=InMemorySpanExporter()).capture_content is True
    monkeypatch.setenv(semconv.CAPTURE_CONTENT_ENV, "false")
    assert OTLPSink(exporter=InMemorySpanExporter()).capture_content is False


def test_otlp_json_file_reads_back_to_the_same_trajectory(tmp_path: Any) -> None:
    traj = team_run()
    path = tmp_path / "traces.jsonl"
    with OTLPJsonFileSink(path) as sink:
        sink.write(traj)
        sink.write(traj)  # twice: two lines, two traces
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    request = json.loads(lines[0])
    span = request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16  # OTLP JSON: hex ids
    back = list(import_otlp(path))
    assert len(back) == 2
    got = back[0]
    assert normalize(got) == normalize(traj)
    assert got.id == traj.id and got.provenance == traj.provenance and got.task == traj.task
    assert got.outcome == traj.outcome
    assert {s.id: (s.parent_id, s.status, s.started_at) for s in got.steps} == {
        s.id: (s.parent_id, s.status, s.started_at) for s in traj.steps
    }
    failed = next(s for s in got.steps if s.status is StepStatus.ERROR)
    assert failed.error is not None and failed.error.message.endswith("the disk is on fire")
    assert got.metadata["otlp"]["lacks"] == []


def test_without_content_the_report_says_exactly_what_is_missing(tmp_path: Any) -> None:
    traj = team_run()
    path = tmp_path / "bare.jsonl"
    with OTLPJsonFileSink(path, capture_content=False) as sink:
        sink.write(traj)
    (got,) = import_otlp(path)
    lacks = got.metadata["otlp"]["lacks"]
    assert "model call without input messages (content not captured) (x4)" in lacks
    assert "model call without output messages (content not captured) (x4)" in lacks
    assert "the run's input was not captured" in lacks
    assert "the run's output was not captured" in lacks

    # What is not content still reads back: the tree, names, call ids, statuses, errors.
    def shape(steps: Any) -> dict[str, Any]:
        return {
            s.id: (
                s.parent_id,
                s.kind,
                s.agent,
                getattr(s, "name", None),
                getattr(s, "call_id", None),
                s.status,
                s.error,
            )
            for s in steps
        }

    assert shape(got.steps) == shape(traj.steps)


def test_the_public_api_of_nex_core_otel() -> None:
    import nex_core.otel as otel

    assert set(otel.__all__) == {
        "SEMCONV_VERSION",
        "ImportReport",
        "OTLPJsonFileSink",
        "OTLPSink",
        "TraceCollector",
        "assemble",
        "import_otlp",
        "write_otlp_json",
    }
    for name in otel.__all__:
        assert getattr(otel, name) is not None


def test_a_resume_is_an_event_on_the_run_span_not_a_span() -> None:
    """A paused run's resume value (an input step) has no GenAI span kind: it is an event on
    the run's span, with its value only under the content opt-in."""
    from nex_core.trajectory.schema import InputStep

    traj = team_run()
    first = traj.steps[0]
    traj.steps.append(
        InputStep(id="resume-1", agent="boss", started_at=first.started_at, mode="resume",
                  value={"decision": "approve"})
    )
    for capture in (False, True):
        exporter = InMemorySpanExporter()
        with OTLPSink(exporter=exporter, capture_content=capture) as sink:
            sink.write(traj)
        spans = list(exporter.get_finished_spans())
        assert len(spans) == len(traj.steps)  # every step but the input one, plus the run
        (root,) = [s for s in spans if s.parent is None]
        (event,) = [e for e in root.events if e.name == semconv.NEX_INPUT_EVENT]
        assert event.attributes[semconv.NEX_INPUT_MODE] == "resume"
        assert (semconv.NEX_INPUT_VALUE in event.attributes) is capture


def test_cached_tokens_go_out_and_come_back(tmp_path: Any) -> None:
    from nex_core.trajectory.schema import LLMStep, Usage

    traj = team_run()
    calls = [s for s in traj.steps if isinstance(s, LLMStep) and s.response is not None]
    for n, step in enumerate(calls):
        assert step.response is not None
        step.response.usage = Usage(
            prompt_tokens=40 + n, completion_tokens=5, total_tokens=45 + n, cached_tokens=n * 8
        )
    exporter = InMemorySpanExporter()
    with OTLPSink(exporter=exporter) as sink:
        sink.write(traj)
    chats = [s for s in exporter.get_finished_spans() if s.name == "chat scripted"]
    assert sorted(s.attributes[semconv.USAGE_CACHE_READ_TOKENS] for s in chats) == [0, 8, 16, 24]
    path = tmp_path / "traces.jsonl"
    with OTLPJsonFileSink(path) as file_sink:
        file_sink.write(traj)
    (back,) = import_otlp(path)
    got = {s.id: s.response.usage for s in back.steps if isinstance(s, LLMStep) and s.response}
    assert got == {s.id: s.response.usage for s in calls if s.response}
