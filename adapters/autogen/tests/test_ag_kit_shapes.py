"""The kit's recording shapes on AutoGen: an AgentTool nesting two default-named agents (the
inner one is recorded and converted as ``assistant_2``), and no workflow state that is not
messages (n/a)."""

from __future__ import annotations

from autogen_agentchat.agents import AssistantAgent
from nex_autogen import AutogenAdapter
from nex_autogen.kit_shapes import DEFAULT_NAME, kit_shape_app
from nex_conformance import Verdict, baseline_for, run_case, select
from nex_conformance.shapes import NotApplicable

from nex_core import ScriptedModel


def test_the_unnamed_shape_passes_with_the_inner_agent_named_after_its_tool_made_unique() -> None:
    adapter = AutogenAdapter()
    (scenario,) = select(["unnamed_agent_as_tool"])
    assert "unnamed_agent_as_tool" not in baseline_for(adapter)
    result = run_case(adapter, scenario, baseline_for(adapter))
    assert result.verdict is Verdict.PASS, result.explain()


def test_the_conversion_names_the_clashing_agents_as_the_recording_does() -> None:
    app = kit_shape_app("unnamed_agent_as_tool", ScriptedModel([]))
    conversion = AutogenAdapter().to_spec(app)
    assert [a.name for a in conversion.spec.walk()] == ["assistant", "assistant_2"]
    (sub,) = conversion.spec.sub_agents
    assert sub.resolved_tool_name() == "assistant"  # what the model is offered is unchanged
    said = {i.where: i for i in conversion.report.items if "agent" in i.what and "name" in i.what}
    assert set(said) == {"assistant", "assistant.assistant_2"}
    assert {i.severity for i in said.values()} == {"info"}


def test_the_app_is_autogens_own_agent_with_the_default_name() -> None:
    app = kit_shape_app("unnamed_agent_as_tool", ScriptedModel([]))
    assert isinstance(app, AssistantAgent) and app.name == DEFAULT_NAME
    assert kit_shape_app("no_such_shape", ScriptedModel([])) is None


def test_non_message_state_is_not_applicable_with_the_reason() -> None:
    assert isinstance(kit_shape_app("non_message_state", ScriptedModel([])), NotApplicable)
    (scenario,) = select(["non_message_state"])
    result = run_case(AutogenAdapter(), scenario)
    assert result.verdict is Verdict.NOT_APPLICABLE
    assert "chat messages only" in result.explain()


def test_names_are_unique_by_instance_and_team_participants_keep_theirs() -> None:
    from autogen_agentchat.teams import RoundRobinGroupChat
    from autogen_agentchat.tools import AgentTool
    from nex_autogen.bridge import bridge_model
    from nex_autogen.names import agent_names

    client = bridge_model(ScriptedModel([]))
    deepest = AssistantAgent("assistant", model_client=client)
    middle = AssistantAgent("assistant", model_client=client, tools=[AgentTool(deepest)])
    shared = AssistantAgent("helper", model_client=client)
    writer = AssistantAgent(
        "writer", model_client=client, tools=[AgentTool(middle), AgentTool(shared)]
    )
    # a participant named like an agent-tool child keeps its name: the child yields
    critic = AssistantAgent(
        "Helper", model_client=client, tools=[AgentTool(shared), AgentTool(writer)]
    )
    team = RoundRobinGroupChat([writer, critic])
    names = agent_names(team)
    got = [names.of(a) for a in (team, writer, critic, middle, shared, deepest)]
    assert got == [
        "RoundRobinGroupChat",
        "writer",
        "Helper",
        "assistant",
        "helper_2",
        "assistant_2",
    ]
    assert names.clash(writer) is None  # reached twice, one agent: no clash
    assert "'assistant_2'" in (names.clash(middle) or "")
    again = agent_names(team)  # the same on every run
    assert [again.of(a) for a in (team, writer, critic, middle, shared, deepest)] == got


def test_fresh_per_call_copies_of_nested_sub_agents_keep_the_spec_names() -> None:
    # each protocol agent-tool call runs a new copy of its child, copies inside copies three
    # deep; a copy is the child it copies, not a second agent of that name
    (scenario,) = select(["nested_sub_agents"])
    result = run_case(AutogenAdapter(), scenario)
    assert result.verdict is Verdict.PASS, result.explain()
