"""The kit's recording shapes on Agent Framework: the hook's apps are the framework's own and
run as its documentation runs them; the kit catches what the recorder gets wrong (baselined)."""

from __future__ import annotations

import asyncio

from agent_framework import Agent, Workflow
from nex_agent_framework import AgentFrameworkAdapter
from nex_agent_framework.kit_shapes import kit_shape_app
from nex_conformance import CaseResult, Verdict, baseline_for, run_case, select

from nex_core import ScriptedModel


def _case(shape: str) -> CaseResult:
    adapter = AgentFrameworkAdapter()
    (scenario,) = select([shape])
    return run_case(adapter, scenario, baseline_for(adapter))


def test_unnamed_agents_are_caught_recorded_under_one_name() -> None:
    result = _case("unnamed_agent_as_tool")
    assert result.verdict is Verdict.XFAIL, result.explain()
    failed = {c.name for c in result.failures()}
    assert failed == {"outline", "names", "report"}
    assert "both recorded as 'Agent'" in result.explain()


def test_a_workflow_input_that_is_not_text_is_caught() -> None:
    result = _case("non_message_state")
    assert result.verdict is Verdict.XFAIL
    assert "adapter.arecord (run 1) raised" in result.explain()


def test_the_apps_are_the_frameworks_own_and_run_unrecorded() -> None:
    model = ScriptedModel([{"text": "Lagos country"}, {"text": "Lagos is in Nigeria."}])
    workflow = kit_shape_app("non_message_state", model)
    assert isinstance(workflow, Workflow)
    run = asyncio.run(workflow.run({"question": "In which country is Lagos?"}))
    assert run.get_outputs() == [
        {
            "question": "Lagos country",
            "docs": ["Lagos is a city in Nigeria with 15388000 people."],
            "answer": "Lagos is in Nigeria.",
        }
    ]
    agent = kit_shape_app("unnamed_agent_as_tool", ScriptedModel([]))
    assert isinstance(agent, Agent) and agent.name is None
    assert kit_shape_app("no_such_shape", ScriptedModel([])) is None
