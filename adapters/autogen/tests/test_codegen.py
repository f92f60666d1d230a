"""``to_code`` writes a module that builds the spec and runs it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ag_specs import BOSS, CALC, FRONT, SCENARIOS, SELECTOR_TEAM, TEAM
from nex_autogen import AutogenAdapter

from nex_core import AdapterError, AgentSpec, ScriptedModel, TeamSpec
from nex_core.protocol.spec import CallableBinding, ToolSpec


def load(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(code, "generated.py", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("spec", [CALC, BOSS, FRONT, TEAM, SELECTOR_TEAM], ids=lambda s: s.name)
def test_generated_module_builds_the_spec(
    adapter: AutogenAdapter, spec: AgentSpec | TeamSpec
) -> None:
    module = load(adapter.to_code(spec))
    built = module["build"](ScriptedModel([]))
    assert adapter.to_spec(built).spec.model_dump(mode="json") == spec.model_dump(mode="json")


def test_generated_module_runs(adapter: AutogenAdapter) -> None:
    spec, script, turns = SCENARIOS["handoff"]
    built = load(adapter.to_code(spec))["build"](ScriptedModel(script))
    result = asyncio.run(built.run(task=turns[0]))
    assert result.messages[-1].to_text() == "helped"


def test_in_process_callables_cannot_be_written(adapter: AutogenAdapter) -> None:
    tool = ToolSpec(name="f", binding=CallableBinding(ref="f", func=print))
    with pytest.raises(AdapterError, match="in-process callable"):
        adapter.to_code(AgentSpec(name="a", tools=[tool]))


def test_what_autogen_cannot_express_is_refused(adapter: AutogenAdapter) -> None:
    stop = CALC.model_copy(update={"stop_tools": ["add"]})
    with pytest.raises(AdapterError, match="stop tools"):
        adapter.from_spec(stop, model=ScriptedModel([]))
    traj = adapter.run(stop, "x", model=ScriptedModel([]))
    assert traj.outcome is not None and traj.outcome.status.value == "error"
