"""The scenarios: valid against the published schema, covering the issue's list, and the native
reference passes every one of them."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml
from nex_conformance import Verdict, builtin_scenarios, run_case, scenario_schema, select
from nex_conformance.engine import reference
from nex_conformance.models import RecordingModel
from nex_conformance.scenario import load_scenario

SCENARIO_DIR = Path(str(resources.files("nex_conformance") / "scenarios"))
REQUIRED = {
    "single_tool_call",
    "parallel_tool_calls",
    "tool_error_fed_back",
    "unknown_tool",
    "malformed_tool_arguments",
    "multi_step_chain",
    "max_steps_reached",
    "stop_tool",
    "agent_as_tool",
    "nested_sub_agents",
    "parallel_sub_agents",
    "handoff",
    "round_robin_team",
    "second_user_turn",
    "long_tool_output",
    "unicode_and_large_arguments",
    "empty_model_reply",
    "model_error_retry",
    "sequential_tool_calls",
    "unresolvable_tool_binding",
}


def test_the_kit_ships_at_least_twenty_scenarios_covering_the_required_cases() -> None:
    ids = {s.id for s in builtin_scenarios()}
    assert len(ids) >= 20
    assert ids >= REQUIRED


def test_the_published_schema_file_is_current() -> None:
    published = json.loads(
        (SCENARIO_DIR.parent / "scenario.schema.json").read_text(encoding="utf-8")
    )
    assert published == scenario_schema(), (
        "regenerate: nex conformance schema > nex_conformance/scenario.schema.json"
    )


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_scenario_file_validates_against_the_published_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(scenario_schema()).validate(data)


def test_the_schema_rejects_a_scenario_with_an_unknown_capability(tmp_path: Path) -> None:
    data = yaml.safe_load((SCENARIO_DIR / "single_tool_call.yaml").read_text(encoding="utf-8"))
    data["capabilities"] = ["telepathy"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(scenario_schema()).validate(data)
    bad = tmp_path / "single_tool_call.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(Exception, match="capabilities"):
        load_scenario(bad)


SPEC_SCENARIOS = [s for s in builtin_scenarios() if s.kind == "spec"]


@pytest.mark.parametrize("scenario", SPEC_SCENARIOS, ids=lambda s: s.id)
def test_the_native_runtime_passes_every_scenario(native: object, scenario: object) -> None:
    result = run_case(native, scenario)  # type: ignore[arg-type]
    assert result.verdict is Verdict.PASS, result.explain()
    checks = ["schema", "outline", "normal_form", "records"]
    stages = len(scenario.resume)  # type: ignore[attr-defined]
    assert [c.name for c in result.checks] == checks + [*checks, "session"] * stages


@pytest.mark.parametrize("scenario", SPEC_SCENARIOS, ids=lambda s: s.id)
def test_every_script_is_used_up_exactly_by_the_reference(scenario: object) -> None:
    import asyncio

    from nex_conformance import toolkit

    from nex_core.runtime.loop import run_native
    from nex_core.runtime.resume import resume_native

    model = RecordingModel(scenario.script)  # type: ignore[attr-defined]
    with toolkit.capture():
        traj = asyncio.run(run_native(scenario.build(), scenario_task(scenario), model=model))  # type: ignore[attr-defined]
        for stage in scenario.resume:  # type: ignore[attr-defined]
            spec = scenario.build()  # type: ignore[attr-defined]
            traj = asyncio.run(resume_native(spec, traj, stage.decision, model=model))
    assert model.remaining() == 0


def scenario_task(scenario: object) -> object:
    from nex_core import TaskInfo

    return TaskInfo(id=scenario.id, turns=scenario.turns)  # type: ignore[attr-defined]


def test_the_outline_is_a_real_expectation_not_a_copy_of_the_reference(native: object) -> None:
    (scenario,) = select(["tool_error_fed_back"])
    wrong = scenario.model_copy(deep=True)
    wrong.expect.steps[1].error.message = "no such city: Atlantis!"  # type: ignore[union-attr]
    result = run_case(native, wrong)  # type: ignore[arg-type]
    assert result.verdict is Verdict.FAIL
    assert result.checks[0].name == "reference"
    assert '-        "message": "no such city: Atlantis!",' in result.checks[0].detail


def test_model_saw_expectations_are_checked(native: object) -> None:
    import asyncio

    (scenario,) = select(["tool_error_fed_back"])
    wrong = scenario.model_copy(deep=True)
    wrong.expect.model_saw = ["Error: ValueError: something else"]
    ref = asyncio.run(reference(wrong))
    assert not ref.outline.ok
    assert "never received a message with these texts" in ref.outline.detail


def test_long_results_are_compared_by_digest() -> None:
    (scenario,) = select(["long_tool_output"])
    tool = scenario.expect.steps[1]
    assert tool.result.startswith("sha256:")  # type: ignore[union-attr]


def test_selecting_an_unknown_scenario_names_the_known_ones() -> None:
    from nex_core import SpecError

    with pytest.raises(SpecError, match=r"unknown scenario id.*no_such.*single_tool_call"):
        select(["no_such"])
