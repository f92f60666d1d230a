"""The same spec and script on the native runtime and on AutoGen give equal normal forms."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from ag_specs import SCENARIOS, SELECTOR_TEAM
from nex_autogen import AutogenAdapter

from nex_core import ScriptedModel, TaskInfo, normalize, run_native
from nex_core.adapter import Capability
from nex_core.trajectory.schema import OutcomeStatus, StepStatus, Trajectory


def both(spec: Any, script: dict[str, Any], turns: list[str]) -> tuple[Trajectory, Trajectory]:
    task = TaskInfo(turns=turns)
    native = asyncio.run(run_native(spec, task, model=ScriptedModel(script)))
    autogen = AutogenAdapter().run(spec, task, model=ScriptedModel(script))
    return native, autogen


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_native_and_autogen_agree(name: str) -> None:
    native, autogen = both(*SCENARIOS[name])
    assert native.outcome is not None and native.outcome.status is not OutcomeStatus.ERROR
    assert normalize(autogen) == normalize(native), json.dumps(normalize(autogen), indent=1)


def test_tool_error_is_recorded_and_fed_back_as_the_protocol_says() -> None:
    _, autogen = both(*SCENARIOS["tools_and_error"])
    failed = [s for s in autogen.steps if s.kind == "tool" and s.status is StepStatus.ERROR]
    assert {(s.name, s.error.type) for s in failed if s.error} == {
        ("explode", "ValueError"),
        ("add", "InvalidArguments"),
    }
    second = [s for s in autogen.steps if s.kind == "llm"][1]
    fed_back = {m.tool_call_id: m.text() for m in second.request.messages if m.role == "tool"}
    assert "Error: ValueError: cannot do x" in fed_back.values()
    assert "3" in fed_back.values()


def test_max_steps_ends_the_run_as_max_steps() -> None:
    _, autogen = both(*SCENARIOS["max_steps"])
    assert autogen.outcome is not None and autogen.outcome.status is OutcomeStatus.MAX_STEPS
    assert AutogenAdapter().supports(Capability.MAX_STEPS)


def test_model_selected_team_differs_only_in_the_selection_request() -> None:
    """Capability ``teams_selector`` is not declared: AutoGen's SelectorGroupChat writes its own
    speaker-selection request (one user message from its template; the native runtime sends a
    system prompt and the transcript). Everything else — who spoke, what they were sent and
    answered — is equal."""
    script = {
        "agents": {
            "review": [{"text": "writer"}, {"text": "critic"}],
            "writer": [{"text": "draft"}],
            "critic": [{"text": "ok"}],
        }
    }
    native, autogen = both(SELECTOR_TEAM, script, ["write"])
    assert not AutogenAdapter().supports(Capability.TEAMS_SELECTOR)

    def without_selection_requests(traj: Trajectory) -> dict[str, Any]:
        form = normalize(traj)
        for step in form["steps"]:
            if step["kind"] == "llm" and step["agent"] == "review":
                step["request"] = None
        return form

    assert normalize(autogen) != normalize(native)
    assert without_selection_requests(autogen) == without_selection_requests(native)
