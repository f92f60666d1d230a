"""The kit's recording shapes on the Agents SDK: an agent used through ``as_tool()`` inside
another, both with the quickstart's name (the inner one is recorded and converted as
``assistant_2``), and no state that is not messages (n/a)."""

from __future__ import annotations

from agents import Agent
from nex_conformance import Verdict, baseline_for, run_case, select
from nex_conformance.shapes import NotApplicable
from nex_openai_agents import OpenAIAgentsAdapter
from nex_openai_agents.kit_shapes import DEFAULT_NAME, kit_shape_app

from nex_core import ScriptedModel


def test_the_unnamed_shape_passes_with_the_inner_agent_named_after_its_tool() -> None:
    adapter = OpenAIAgentsAdapter()
    (scenario,) = select(["unnamed_agent_as_tool"])
    assert "unnamed_agent_as_tool" not in baseline_for(adapter)
    result = run_case(adapter, scenario, baseline_for(adapter))
    assert result.verdict is Verdict.PASS, result.explain()


def test_the_conversion_names_the_clashing_agents_as_the_recording_does() -> None:
    app = kit_shape_app("unnamed_agent_as_tool", ScriptedModel([]))
    conversion = OpenAIAgentsAdapter().to_spec(app)
    # the SDK's default tool name is the agent's in lower case: taken too, whatever the case
    assert [a.name for a in conversion.spec.walk()] == ["Assistant", "assistant_2"]
    said = {i.where: i for i in conversion.report.items if "agent" in i.what and "name" in i.what}
    assert set(said) == {"Assistant", "Assistant.tools.assistant.assistant_2"}
    assert {i.severity for i in said.values()} == {"info"}


def test_names_are_unique_by_instance_and_stable() -> None:
    from nex_openai_agents.names import agent_names

    deepest = Agent(name="Assistant")
    middle = Agent(name="Assistant", tools=[deepest.as_tool("ask", "Ask.")])
    helper = Agent(name="helper")
    top = Agent(
        name="Boss",
        tools=[middle.as_tool(None, None), helper.as_tool("helper", "Help.")],
        handoffs=[helper],
    )
    names = agent_names(top)
    got = [names.of(a) for a in (top, middle, helper, deepest)]
    assert got == ["Boss", "Assistant", "helper", "ask"]
    assert names.clash(helper) is None  # reached twice, one agent: no clash
    again = agent_names(top)
    assert [again.of(a) for a in (top, middle, helper, deepest)] == got


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
