"""Structured output in the protocol: the spec field, the loader's check, the native runtime."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from native_helpers import agent, call, params, run, sub

from nex_core.errors import SpecError, StructuredOutputError
from nex_core.protocol import load_spec
from nex_core.protocol.spec import AgentSpec, Limits
from nex_core.runtime.structured import parse_output, response_format
from nex_core.trajectory import normalize
from nex_core.trajectory.schema import LLMStep, OutcomeStatus, ToolStep

WEATHER = {
    "title": "Weather report",
    "type": "object",
    "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
    "required": ["city", "celsius"],
}
GOOD = '{"city": "Oslo", "celsius": 4}'


def test_a_spec_with_a_broken_output_schema_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(
        "name: a\noutput_schema:\n  type: object\n  properties:\n    x: {type: numbr}\n"
    )
    with pytest.raises(SpecError) as info:
        load_spec(path)
    (where, message), = info.value.problems
    assert (where.line, where.field) == (2, "output_schema")
    assert "properties/x/type" in message and "numbr" in message


def test_the_published_spec_schema_describes_output_schema() -> None:
    field = AgentSpec.model_json_schema()["$defs"]["AgentSpec"]["properties"]["output_schema"]
    assert "JSON Schema" in json.dumps(field)


def test_the_answer_is_the_structured_output_and_the_model_is_asked_for_it() -> None:
    spec = agent("weather", output_schema=WEATHER)
    traj, _ = run(spec, {"replies": [{"text": GOOD}]})
    assert traj.outcome is not None
    assert traj.outcome.status is OutcomeStatus.COMPLETED
    assert traj.outcome.structured_output == {"city": "Oslo", "celsius": 4}
    assert traj.outcome.final_output == GOOD
    (step,) = traj.steps
    assert isinstance(step, LLMStep)
    assert step.request.params["response_format"] == response_format(WEATHER)
    assert response_format(WEATHER)["json_schema"]["name"] == "Weather_report"
    assert normalize(traj)["outcome"]["structured_output"] == {"city": "Oslo", "celsius": 4}


def test_an_invalid_answer_is_fed_back_and_the_next_one_kept() -> None:
    spec = agent("weather", output_schema=WEATHER)
    traj, _ = run(spec, {"replies": [{"text": '{"city": "Oslo"}'}, {"text": GOOD}]})
    assert traj.outcome is not None and traj.outcome.structured_output["celsius"] == 4
    first, second = traj.steps
    assert isinstance(first, LLMStep) and isinstance(second, LLMStep)
    feedback = second.request.messages[-1]
    assert feedback.role == "user"
    assert feedback.text() == (
        "Error: StructuredOutputError: the answer does not match the output schema: "
        "(answer): 'celsius' is a required property"
    )
    assert "celsius" in first.metadata["output_error"]


def test_a_run_that_never_answers_in_the_schema_ends_error() -> None:
    spec = agent("weather", output_schema=WEATHER, limits=Limits(max_output_retries=1))
    traj, _ = run(spec, {"replies": [{"text": "sunny"}, {"text": "[1]"}, {"text": GOOD}]})
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR
    assert traj.outcome.error is not None
    assert traj.outcome.error.type == "StructuredOutputError"
    assert traj.outcome.structured_output is None
    assert len(traj.steps) == 2  # the third reply is never asked for


def test_a_sub_agent_returns_its_structured_answer_as_the_tool_result() -> None:
    child = agent("forecaster", output_schema=WEATHER, description="Forecasts.")
    parent = agent("planner", subs=[sub(child)])
    script = {
        "agents": {
            "planner": [
                {"tool_calls": [call("forecaster", {"task": "Oslo?"})]},
                {"text": "Take a coat."},
            ],
            "forecaster": [{"text": '{"celsius":4,"city":"Oslo"}'}],
        }
    }
    traj, _ = run(parent, script)
    (tool_step,) = [s for s in traj.steps if isinstance(s, ToolStep)]
    assert tool_step.result == {"celsius": 4, "city": "Oslo"}
    last = [s for s in traj.steps if isinstance(s, LLMStep)][-1]
    assert last.request.messages[-1].text() == '{"celsius": 4, "city": "Oslo"}'
    assert traj.outcome is not None and traj.outcome.structured_output is None


def test_parse_output_names_what_is_wrong() -> None:
    with pytest.raises(StructuredOutputError, match="not JSON"):
        parse_output("sunny", WEATHER)
    with pytest.raises(StructuredOutputError, match="celsius: 'warm' is not of type 'number'"):
        parse_output('{"city": "Oslo", "celsius": "warm"}', WEATHER)
    rows = {"type": "array", "items": params(a="string")}
    assert parse_output('[{"a": "x"}]', rows) == [{"a": "x"}]
    with pytest.raises(StructuredOutputError, match="0: 'a' is a required property"):
        parse_output("[{}]", rows)


def test_inspect_shows_the_structured_answer(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from nex_core.cli.main import cli
    from nex_core.trajectory.sinks import JSONLSink

    path = tmp_path / "runs.jsonl"
    run(agent("weather", output_schema=WEATHER), {"replies": [{"text": GOOD}]},
        sinks=[JSONLSink(path)])
    result = CliRunner().invoke(cli, ["inspect", str(path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.replace("│", " ").split())
    assert 'structured: {"city": "Oslo", "celsius": 4}' in text
