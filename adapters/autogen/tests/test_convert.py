"""Conversion of AutoGen objects to specs (with reports), and spec → AutoGen → spec."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from ag_specs import BOSS, CALC, FRONT, SELECTOR_TEAM, TEAM
from ag_toolbox import get_weather
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination
from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat, Swarm
from autogen_agentchat.tools import AgentTool
from click.testing import CliRunner
from nex_autogen import AutogenAdapter, bridge_model

from nex_core import AgentSpec, ScriptedModel, TeamSpec
from nex_core.cli.main import cli
from nex_core.protocol.spec import ImportBinding

MODEL = ScriptedModel([])


def client(name: str):
    return bridge_model(MODEL, agent=name)


def test_assistant_with_tools(adapter: AutogenAdapter) -> None:
    agent = AssistantAgent(
        "weather_agent",
        model_client=client("weather_agent"),
        tools=[get_weather],
        system_message="You are a helpful assistant.",
        description="Knows the weather.",
        reflect_on_tool_use=True,
        max_tool_iterations=3,
    )
    assert adapter.recognizes(agent) and not adapter.recognizes(object())
    conversion = adapter.to_spec(agent)
    spec = conversion.spec
    assert isinstance(spec, AgentSpec)
    assert (spec.name, spec.system_prompt, spec.description) == (
        "weather_agent",
        "You are a helpful assistant.",
        "Knows the weather.",
    )
    (tool,) = spec.tools
    assert tool.binding == ImportBinding(path="ag_toolbox:get_weather")
    assert tool.parameters is not None and tool.parameters["required"] == ["city"]
    assert spec.limits.max_steps == 4  # three tool rounds, then the reflection call
    assert any("reflect_on_tool_use" in i.what for i in conversion.report.items)
    assert not conversion.report.lossless


def test_agent_as_tool_becomes_a_sub_agent(adapter: AutogenAdapter) -> None:
    expert = AssistantAgent("expert", model_client=client("expert"), description="Knows things.")
    lead = AssistantAgent("lead", model_client=client("lead"), tools=[AgentTool(expert)])
    conversion = adapter.to_spec(lead)
    spec = conversion.spec
    assert isinstance(spec, AgentSpec)
    (sub,) = spec.sub_agents
    assert (sub.mode, sub.child.name, sub.child.description) == ("tool", "expert", "Knows things.")
    whats = " ".join(i.what for i in conversion.report.items)
    assert "whole transcript" in whats and "history between calls" in whats


def test_round_robin_team_with_termination(adapter: AutogenAdapter) -> None:
    a = AssistantAgent("primary", model_client=client("primary"))
    b = AssistantAgent("critic", model_client=client("critic"))
    team = RoundRobinGroupChat(
        [a, b], termination_condition=TextMentionTermination("APPROVE") | MaxMessageTermination(7)
    )
    spec = adapter.to_spec(team).spec
    assert isinstance(spec, TeamSpec)
    assert [m.name for m in spec.members] == ["primary", "critic"]
    assert spec.speaker_selection == "round_robin"
    assert (spec.termination.text_mention, spec.termination.max_turns) == ("APPROVE", 6)


def test_selector_team_reports_its_prompt(adapter: AutogenAdapter) -> None:
    a = AssistantAgent("planner", model_client=client("planner"))
    b = AssistantAgent("coder", model_client=client("coder"))
    team = SelectorGroupChat([a, b], model_client=client("selector"), max_turns=4)
    conversion = adapter.to_spec(team)
    assert isinstance(conversion.spec, TeamSpec) and conversion.spec.speaker_selection == "model"
    assert conversion.spec.termination.max_turns == 4
    whats = " ".join(i.what for i in conversion.report.items)
    assert "selector_prompt" in whats and "allow_repeated_speaker" in whats


def test_swarm_becomes_agents_with_handoff_sub_agents(adapter: AutogenAdapter) -> None:
    travel = AssistantAgent(
        "travel_agent", model_client=client("travel_agent"), handoffs=["flights_refunder", "user"]
    )
    refunder = AssistantAgent(
        "flights_refunder", model_client=client("flights_refunder"), handoffs=["travel_agent"]
    )
    conversion = adapter.to_spec(
        Swarm([travel, refunder], termination_condition=MaxMessageTermination(5))
    )
    spec = conversion.spec
    assert isinstance(spec, AgentSpec) and spec.name == "travel_agent"
    (sub,) = spec.sub_agents
    assert (sub.mode, sub.child.name, sub.resolved_tool_name()) == (
        "handoff",
        "flights_refunder",
        "transfer_to_flights_refunder",
    )
    whats = " ".join(i.what for i in conversion.report.items)
    assert "cycle" in whats  # refunder → travel_agent
    assert "'user'" in whats  # a handoff to someone outside the Swarm
    assert "Transferred to" in whats  # AutoGen's longer handoff message


@pytest.mark.parametrize("spec", [CALC, BOSS, FRONT, TEAM, SELECTOR_TEAM], ids=lambda s: s.name)
def test_round_trip_spec_autogen_spec(adapter: AutogenAdapter, spec: AgentSpec | TeamSpec) -> None:
    conversion = adapter.to_spec(adapter.from_spec(spec, model=MODEL))
    assert conversion.spec.model_dump(mode="json") == spec.model_dump(mode="json")
    assert conversion.report.lossless


def test_nex_convert_command(tmp_path: Path) -> None:
    source = tmp_path / "team.py"
    source.write_text(
        textwrap.dedent("""
        from autogen_agentchat.agents import AssistantAgent
        from nex_autogen import bridge_model
        from nex_core import ScriptedModel
        from ag_toolbox import get_weather

        agent = AssistantAgent("weather_agent", model_client=bridge_model(ScriptedModel([])),
                               tools=[get_weather], system_message="Be brief.")
    """)
    )
    result = CliRunner().invoke(cli, ["convert", f"{source}:agent"])
    assert result.exit_code == 0, result.output
    assert "name: weather_agent" in result.output and "ag_toolbox:get_weather" in result.output
    assert "conversion report" in result.output
