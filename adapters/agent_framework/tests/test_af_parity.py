"""The same spec and script on the native runtime and on Agent Framework give equal normal forms,
awaited and streamed: every applicable conformance scenario, plus the things a scenario does not
show (parallel calls turned off, sampling settings, a handoff in a second turn)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from nex_agent_framework import AgentFrameworkAdapter
from nex_conformance import baseline_for, toolkit
from nex_conformance.engine import missing_capabilities
from nex_conformance.scenario import builtin_scenarios

from nex_core import ScriptedModel, TaskInfo, normalize, run_native
from nex_core.protocol import spec_from_data
from nex_core.protocol.spec import TeamSpec
from nex_core.trajectory.schema import OutcomeStatus, Trajectory

ADAPTER = AgentFrameworkAdapter()
SCENARIOS = {
    s.id: s
    for s in builtin_scenarios()
    if s.kind == "spec"  # recording shapes have no spec to run natively
    and not missing_capabilities(ADAPTER, s)
    and s.id not in baseline_for(ADAPTER)  # the kit's expected failures (refused specs)
}


def both(
    spec: Any, script: dict[str, Any], turns: list[str], mode: str
) -> tuple[Trajectory, Trajectory]:
    task = TaskInfo(turns=turns)
    with toolkit.capture():  # a fresh notebook for each run
        native = asyncio.run(run_native(spec, task, model=ScriptedModel(script)))
    with toolkit.capture():
        framework = ADAPTER.run(spec, task, model=ScriptedModel(script), mode=mode)
    return native, framework


TEAMS = {k for k, s in SCENARIOS.items() if isinstance(s.build(), TeamSpec)}


@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - TEAMS))
def test_streamed_runs_agree_with_native(name: str) -> None:
    scenario = SCENARIOS[name]
    native, framework = both(scenario.build(), scenario.script, list(scenario.turns), "stream")
    assert normalize(framework) == normalize(native), json.dumps(normalize(framework), indent=1)


@pytest.mark.parametrize("name", sorted(TEAMS))
def test_teams_as_group_chats_agree_with_native(name: str) -> None:
    """Teams run awaited (a streamed workflow consumes each member's stream after the member's
    middleware returned); the selection request of a model-selected team included."""
    scenario = SCENARIOS[name]
    native, framework = both(scenario.build(), scenario.script, list(scenario.turns), "run")
    assert normalize(framework) == normalize(native), json.dumps(normalize(framework), indent=1)


SERIAL = spec_from_data(
    {
        "name": "calc",
        "system_prompt": "Add, one call at a time.",
        "model": {"id": "m", "temperature": 0.1, "seed": 7},
        "parallel_tool_calls": False,
        "tools": [
            {
                "name": "add",
                "description": "Add two numbers.",
                "parameters": {
                    "type": "object",
                    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                    "required": ["a", "b"],
                },
                "binding": "nex_conformance.toolkit:add",
            }
        ],
        "sub_agents": [
            {"mode": "handoff", "agent": {"name": "closer", "system_prompt": "Say goodbye."}}
        ],
    }
)
SERIAL_SCRIPT = {
    "agents": {
        "calc": [
            {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]},
            {"text": "3"},
            {"tool_calls": [{"name": "transfer_to_closer", "arguments": {}}]},
        ],
        "closer": [{"text": "Bye."}, {"text": "Bye again."}],
    }
}


@pytest.mark.parametrize("mode", ["run", "stream"])
def test_settings_and_a_handoff_in_a_later_turn_agree_with_native(mode: str) -> None:
    native, framework = both(SERIAL, SERIAL_SCRIPT, ["1+2?", "done", "still there?"], mode)
    assert native.outcome is not None and native.outcome.status is OutcomeStatus.COMPLETED
    assert normalize(framework) == normalize(native), json.dumps(normalize(framework), indent=1)
    first = next(s for s in framework.steps if s.kind == "llm")
    assert first.request.params == {"temperature": 0.1, "seed": 7, "parallel_tool_calls": False}
    # The third turn goes to the agent the second turn handed over to.
    assert framework.outcome is not None and framework.outcome.final_output == "Bye again."


def test_a_child_that_answers_nothing_returns_nothing_as_natively() -> None:
    spec = spec_from_data(
        {
            "name": "lead",
            "sub_agents": [{"agent": {"name": "mute", "description": "Says nothing."}}],
        }
    )
    script = {
        "agents": {
            "lead": [
                {"tool_calls": [{"name": "mute", "arguments": {"task": "speak"}}]},
                {"text": "ok"},
            ],
            "mute": [{"text": ""}],
        }
    }
    native, framework = both(spec, script, ["go"], "run")
    assert normalize(framework) == normalize(native), json.dumps(normalize(framework), indent=1)
    tool = next(s for s in framework.steps if s.kind == "tool")
    assert tool.status.value == "ok" and tool.result == ""
