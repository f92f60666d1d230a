"""The kit's recording shapes on the Agents SDK: an agent used through ``as_tool()`` inside
another, both with the quickstart's name (the recorder keeps the clash, baselined), and no
state that is not messages (n/a)."""

from __future__ import annotations

from agents import Agent
from nex_conformance import Verdict, baseline_for, run_case, select
from nex_conformance.shapes import NotApplicable
from nex_openai_agents import OpenAIAgentsAdapter
from nex_openai_agents.kit_shapes import DEFAULT_NAME, kit_shape_app

from nex_core import ScriptedModel


def test_the_unnamed_shape_nests_and_only_the_names_are_wrong() -> None:
    adapter = OpenAIAgentsAdapter()
    (scenario,) = select(["unnamed_agent_as_tool"])
    result = run_case(adapter, scenario, baseline_for(adapter))
    assert result.verdict is Verdict.XFAIL, result.explain()
    assert {c.name for c in result.failures()} == {"names", "report"}
    assert "both recorded as 'Assistant'" in result.explain()


def test_the_app_is_the_sdks_own_agent() -> None:
    app = kit_shape_app("unnamed_agent_as_tool", ScriptedModel([]))
    assert isinstance(app, Agent) and app.name == DEFAULT_NAME
    assert kit_shape_app("no_such_shape", ScriptedModel([])) is None


def test_non_message_state_is_not_applicable_with_the_reason() -> None:
    assert isinstance(kit_shape_app("non_message_state", ScriptedModel([])), NotApplicable)
    (scenario,) = select(["non_message_state"])
    result = run_case(OpenAIAgentsAdapter(), scenario)
    assert result.verdict is Verdict.NOT_APPLICABLE
    assert "conversation of messages" in result.explain()
