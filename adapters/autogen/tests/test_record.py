"""Recording agents and teams written the way AutoGen's documentation writes them, driven by
nex's ScriptedModel through the bridge."""

from __future__ import annotations

import asyncio
from typing import Any

from ag_toolbox import flaky_lookup, get_weather
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination
from autogen_agentchat.teams import RoundRobinGroupChat, Swarm
from autogen_agentchat.tools import AgentTool
from nex_autogen import AutogenAdapter, bridge_model

from nex_core import MemorySink, ScriptedModel
from nex_core.trajectory.schema import LLMStep, StepStatus, SubAgentStep, ToolStep, Trajectory


def record(obj: Any, *turns: str) -> Trajectory:
    return asyncio.run(AutogenAdapter().arecord(obj, turns[0] if len(turns) == 1 else _task(turns)))


def _task(turns: tuple[str, ...]) -> Any:
    from nex_core import TaskInfo

    return TaskInfo(turns=list(turns))


def llm_steps(traj: Trajectory, agent: str | None = None) -> list[LLMStep]:
    return [s for s in traj.steps if isinstance(s, LLMStep) and (agent is None or s.agent == agent)]


def weather_agent(model: ScriptedModel, **kw: Any) -> AssistantAgent:
    return AssistantAgent(
        name="weather_agent",
        model_client=bridge_model(model, agent="weather_agent"),
        tools=[get_weather, flaky_lookup],
        system_message="You are a helpful assistant.",
        reflect_on_tool_use=True,
        **kw,
    )


def test_assistant_with_tools_records_exact_requests_and_tool_calls() -> None:
    model = ScriptedModel(
        [
            {"tool_calls": [{"id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
            {"text": "It is sunny in Paris."},
        ]
    )
    sink = MemorySink()
    traj = asyncio.run(
        AutogenAdapter().arecord(weather_agent(model), "Weather in Paris?", sinks=[sink])
    )
    assert sink.trajectories == [traj]
    llms = llm_steps(traj)
    # exactly what the model received, call by call
    assert [s.request for s in llms] == [c.request for c in model.calls]
    assert [m.role for m in llms[0].request.messages] == ["system", "user"]
    assert {t.name for t in llms[0].request.tools} == {"get_weather", "flaky_lookup"}
    assert llms[0].request.tools[0].parameters["properties"]["city"]["type"] == "string"
    assert llms[1].request.tools == [] and llms[1].request.params == {"tool_choice": "none"}
    (tool,) = [s for s in traj.steps if isinstance(s, ToolStep)]
    assert (tool.call_id, tool.arguments, tool.status) == ("c1", {"city": "Paris"}, StepStatus.OK)
    assert tool.result == "The weather in Paris is 73 degrees and Sunny."
    assert tool.latency_ms is not None and tool.agent == "weather_agent"
    assert traj.outcome is not None and traj.outcome.final_output == "It is sunny in Paris."
    assert traj.provenance.framework == "autogen-agentchat" and traj.provenance.model == "scripted"


def test_tool_error_is_recorded_as_an_error_and_fed_back() -> None:
    model = ScriptedModel(
        [
            {"tool_calls": [{"id": "c1", "name": "flaky_lookup", "arguments": {"city": "Oslo"}}]},
            {"text": "No data."},
        ]
    )
    traj = record(weather_agent(model), "Oslo?")
    (tool,) = [s for s in traj.steps if isinstance(s, ToolStep)]
    assert tool.status is StepStatus.ERROR and tool.error is not None
    assert (tool.error.type, tool.error.message) == ("LookupError", "no data for Oslo")
    fed_back = llm_steps(traj)[1].request.messages[-1]
    assert (fed_back.role, fed_back.tool_call_id, fed_back.text()) == (
        "tool",
        "c1",
        "no data for Oslo",
    )


def test_agent_as_tool_nests_parallel_sub_agents_under_their_calls() -> None:
    model = ScriptedModel(
        {
            "agents": {
                "planner": [
                    {
                        "tool_calls": [
                            {"id": "p1", "name": "weather_agent", "arguments": {"task": "Paris?"}},
                            {"id": "p2", "name": "poet", "arguments": {"task": "A haiku"}},
                        ]
                    },
                    {"text": "Plan ready."},
                ],
                "weather_agent": [
                    {
                        "tool_calls": [
                            {"id": "w1", "name": "get_weather", "arguments": {"city": "Paris"}}
                        ]
                    },
                    {"text": "Sunny."},
                ],
                "poet": [{"text": "Old pond"}],
            }
        }
    )
    poet = AssistantAgent(
        "poet", model_client=bridge_model(model, agent="poet"), description="Writes poems."
    )
    planner = AssistantAgent(
        "planner",
        model_client=bridge_model(model, agent="planner"),
        tools=[AgentTool(weather_agent(model)), AgentTool(poet, return_value_as_last_message=True)],
        max_tool_iterations=3,
    )
    traj = record(planner, "Plan a day.")
    calls = {s.call_id: s for s in traj.steps if isinstance(s, ToolStep) and s.agent == "planner"}
    assert set(calls) == {"p1", "p2"}
    for call_id, child, output in (("p1", "weather_agent", "Sunny."), ("p2", "poet", "Old pond")):
        (sub,) = traj.children(calls[call_id].id)
        assert isinstance(sub, SubAgentStep)
        assert (sub.mode, sub.child, sub.call_id, sub.output) == ("tool", child, call_id, output)
        assert [m.text() for m in sub.input] == [calls[call_id].arguments["task"]]
        assert {s.agent for s in traj.children(sub.id)} == {child}
    # AgentTool's default result is the child's transcript; recorded as the model saw it
    assert calls["p1"].result.startswith("weather_agent:")
    inner = [s for s in traj.steps if isinstance(s, ToolStep) and s.agent == "weather_agent"]
    assert traj.step(inner[0].parent_id).kind == "subagent"


def test_round_robin_team_records_each_turn_with_its_steps_beneath() -> None:
    model = ScriptedModel(
        {
            "agents": {
                "writer": [{"text": "A draft."}, {"text": "A better draft."}],
                "critic": [{"text": "Needs work."}, {"text": "APPROVE"}],
            }
        }
    )
    writer = AssistantAgent("writer", model_client=bridge_model(model, agent="writer"))
    critic = AssistantAgent(
        "critic",
        model_client=bridge_model(model, agent="critic"),
        system_message="Reply APPROVE when the draft is good.",
    )
    team = RoundRobinGroupChat(
        [writer, critic],
        termination_condition=TextMentionTermination("APPROVE") | MaxMessageTermination(10),
    )
    traj = record(team, "Write a slogan.")
    turns = traj.children(None)
    assert [(s.kind, s.child, s.mode) for s in turns] == [  # type: ignore[union-attr]
        ("subagent", "writer", "team_turn"),
        ("subagent", "critic", "team_turn"),
    ] * 2
    assert all(s.agent == team.name for s in turns)
    for turn in turns:
        (llm,) = traj.children(turn.id)
        assert isinstance(llm, LLMStep) and llm.agent == turn.child  # type: ignore[union-attr]
    last_critic = traj.children(turns[3].id)[0]
    assert isinstance(last_critic, LLMStep)
    assert [m.text() for m in last_critic.request.messages[1:]] == [
        "Write a slogan.",
        "A draft.",
        "Needs work.",
        "A better draft.",
    ]
    assert traj.outcome is not None and traj.outcome.final_output == "APPROVE"


def test_swarm_handoff_is_a_tool_call_then_a_handoff_step_holding_the_next_agent() -> None:
    model = ScriptedModel(
        {
            "agents": {
                "travel_agent": [
                    {
                        "tool_calls": [
                            {"id": "h1", "name": "transfer_to_flights_refunder", "arguments": {}}
                        ]
                    }
                ],
                "flights_refunder": [{"text": "Refund issued. TERMINATE"}],
            }
        }
    )
    travel = AssistantAgent(
        "travel_agent",
        model_client=bridge_model(model, agent="travel_agent"),
        handoffs=["flights_refunder"],
        system_message="Plan travel.",
    )
    refunder = AssistantAgent(
        "flights_refunder",
        model_client=bridge_model(model, agent="flights_refunder"),
        system_message="Refund flights.",
    )
    team = Swarm([travel, refunder], termination_condition=TextMentionTermination("TERMINATE"))
    traj = record(team, "Refund my flight.")
    top = traj.children(None)
    assert [s.kind for s in top] == ["llm", "tool", "subagent"]
    handoff_call, handoff = top[1], top[2]
    assert isinstance(handoff_call, ToolStep) and isinstance(handoff, SubAgentStep)
    assert (handoff_call.name, handoff_call.call_id) == ("transfer_to_flights_refunder", "h1")
    assert (handoff.mode, handoff.agent, handoff.child, handoff.call_id) == (
        "handoff",
        "travel_agent",
        "flights_refunder",
        "h1",
    )
    assert handoff.output == "Refund issued. TERMINATE"
    (answer,) = traj.children(handoff.id)
    assert isinstance(answer, LLMStep) and answer.agent == "flights_refunder"


def test_recording_changes_nothing_and_puts_everything_back() -> None:
    script = [
        {"tool_calls": [{"id": "c1", "name": "get_weather", "arguments": {"city": "Rome"}}]},
        {"text": "Warm."},
    ]
    bare_model, recorded_model = ScriptedModel(script), ScriptedModel(script)
    bare = asyncio.run(weather_agent(bare_model).run(task="Rome?"))
    agent = weather_agent(recorded_model)
    client, workbench = agent._model_client, agent._workbench
    record(agent, "Rome?")
    assert [c.request for c in bare_model.calls] == [c.request for c in recorded_model.calls]
    assert agent._model_client is client and agent._workbench is workbench
    assert "on_messages_stream" not in vars(agent)
    assert [type(m).__name__ for m in bare.messages][-1] == "TextMessage"


def test_state_carried_into_a_recording_is_recorded_as_history() -> None:
    model = ScriptedModel([{"text": "Hello."}, {"text": "Again."}])
    agent = AssistantAgent("greeter", model_client=bridge_model(model, agent="greeter"))
    asyncio.run(agent.run(task="Hi"))
    traj = record(agent, "Hi again")
    (llm,) = llm_steps(traj)
    assert [m.text() for m in llm.request.messages[1:]] == ["Hi", "Hello.", "Hi again"]


def test_multi_turn_task_is_one_conversation() -> None:
    model = ScriptedModel([{"text": "One."}, {"text": "Two."}])
    agent = AssistantAgent("counter", model_client=bridge_model(model, agent="counter"))
    traj = record(agent, "first", "second")
    second = llm_steps(traj)[1]
    assert [m.text() for m in second.request.messages[1:]] == ["first", "One.", "second"]
    assert traj.outcome is not None and traj.outcome.final_output == "Two."
