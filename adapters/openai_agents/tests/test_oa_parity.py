"""The same spec and script on the native runtime and on the Agents SDK give equal normal forms,
run with ``Runner.run`` and streamed with ``Runner.run_streamed``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from nex_openai_agents import OpenAIAgentsAdapter
from oa_specs import CALC, SCENARIOS

from nex_core import ScriptedModel, TaskInfo, normalize, run_native
from nex_core.trajectory.schema import OutcomeStatus, StepStatus, Trajectory


def both(spec: Any, script: Any, turns: list[str], mode: str = "run") -> tuple[Trajectory, ...]:
    task = TaskInfo(turns=turns)
    native = asyncio.run(run_native(spec, task, model=ScriptedModel(script)))
    sdk = OpenAIAgentsAdapter().run(spec, task, model=ScriptedModel(script), mode=mode)
    return native, sdk


@pytest.mark.parametrize("mode", ["run", "run_streamed"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_native_and_openai_agents_agree(name: str, mode: str) -> None:
    native, sdk = both(*SCENARIOS[name], mode=mode)
    assert native.outcome is not None and native.outcome.status is not OutcomeStatus.ERROR
    assert normalize(sdk) == normalize(native), json.dumps(normalize(sdk), indent=1)


def test_tool_errors_are_recorded_with_type_and_fed_back_as_the_protocol_says() -> None:
    _, sdk = both(*SCENARIOS["tools_and_error"])
    failed = [s for s in sdk.steps if s.kind == "tool" and s.status is StepStatus.ERROR]
    assert {(s.name, s.error.type) for s in failed if s.error} == {
        ("explode", "ValueError"),
        ("add", "InvalidArguments"),
    }
    second = [s for s in sdk.steps if s.kind == "llm"][1]
    fed_back = {m.text() for m in second.request.messages if m.role == "tool"}
    assert fed_back == {"Error: ValueError: cannot do x", "5"}
    ok = next(s for s in sdk.steps if s.kind == "tool" and s.status is StepStatus.OK)
    assert ok.call_id and ok.latency_ms is not None and ok.latency_ms >= 0


def test_each_model_call_records_the_schemas_offered_exactly() -> None:
    _, sdk = both(*SCENARIOS["tools_and_error"])
    first = next(s for s in sdk.steps if s.kind == "llm")
    assert [(t.name, t.parameters) for t in first.request.tools] == [
        (t.name, t.parameters) for t in CALC.tools
    ]
    assert [m.role for m in first.request.messages] == ["system", "user"]


def test_agents_as_tools_nest_under_their_tool_call() -> None:
    _, sdk = both(*SCENARIOS["nested_agents_as_tools"])
    by_id = {s.id: s for s in sdk.steps}
    writer_draft = next(
        s for s in sdk.steps if s.kind == "subagent" and s.input and s.input[0].text() == "draft"
    )
    tool_step = by_id[writer_draft.parent_id]
    assert tool_step.kind == "tool" and tool_step.name == "writer"
    researcher = by_id[tool_step.parent_id]
    assert researcher.kind == "subagent" and researcher.child == "researcher"
    assert by_id[researcher.parent_id].name == "researcher"  # the boss's tool call


def test_max_steps_ends_the_run_as_max_steps() -> None:
    _, sdk = both(*SCENARIOS["max_steps"])
    assert sdk.outcome is not None and sdk.outcome.status is OutcomeStatus.MAX_STEPS


def test_a_team_is_refused_with_a_reason() -> None:
    from nex_core import TeamSpec

    team = TeamSpec(name="pair", members=[CALC])
    traj = OpenAIAgentsAdapter().run(team, "go", model=ScriptedModel([{"text": "x"}]))
    assert traj.outcome is not None and traj.outcome.error is not None
    assert "no teams" in traj.outcome.error.message
