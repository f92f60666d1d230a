"""Recording agents the user built, invoked the user's way, with no change to their code.

The agents are written as Agent Framework's documentation writes them (``af_docs_agents``); the
recorder rides on the framework's own chat and function middleware. What is checked is what the
framework really did: the exact messages and tool schemas of every model call, every tool call
with its id, arguments, result or error and latency, agents as tools nested, streamed and
multi-turn runs."""

from __future__ import annotations

from typing import Any

import pytest
from af_docs_agents import get_time, get_weather, travel_agent, weather_agent
from af_support import run
from agent_framework import Agent, AgentMiddleware
from nex_agent_framework import AgentFrameworkAdapter, bridge_model

from nex_core import ScriptedModel, TaskInfo, normalize
from nex_core.errors import AdapterError
from nex_core.trajectory.schema import LLMStep, OutcomeStatus, StepStatus, SubAgentStep, ToolStep


def call(id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": id, "name": name, "arguments": arguments}


WEATHER_SCRIPT = {
    "agents": {
        "WeatherAgent": [
            {
                "tool_calls": [
                    call("c1", "get_weather", location="Oslo"),
                    call("c2", "get_time", city="Atlantis"),
                ]
            },
            {"text": "Cloudy in Oslo; Atlantis has no clock."},
        ]
    }
}


def test_every_model_and_tool_call_is_recorded_as_the_framework_made_it(
    adapter: AgentFrameworkAdapter,
) -> None:
    model = ScriptedModel(WEATHER_SCRIPT)
    agent = weather_agent(model)
    traj = run(adapter.arecord(agent, "Weather in Oslo, time in Atlantis?"))
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.COMPLETED
    assert traj.outcome.final_output == "Cloudy in Oslo; Atlantis has no clock."
    llm = [s for s in traj.steps if isinstance(s, LLMStep)]
    tools = [s for s in traj.steps if isinstance(s, ToolStep)]
    assert [m.role for m in llm[0].request.messages] == ["system", "user"]
    assert llm[0].request.messages[0].text() == "You are a helpful weather agent."
    offered = {t.name: t.parameters for t in llm[0].request.tools}
    assert offered == {"get_weather": get_weather.parameters(), "get_time": get_time.parameters()}
    assert offered["get_weather"]["properties"]["location"]["description"] == (
        "The location to get the weather for."
    )
    by_id = {s.call_id: s for s in tools}
    assert by_id["c1"].arguments == {"location": "Oslo"} and by_id["c1"].status is StepStatus.OK
    assert by_id["c1"].result == "The weather in Oslo is cloudy with a high of 15°C."
    failed = by_id["c2"]
    assert failed.status is StepStatus.ERROR and failed.error is not None
    assert (failed.error.type, failed.error.message) == ("ValueError", "no such city: Atlantis")
    assert all(s.latency_ms is not None and s.latency_ms >= 0 for s in tools)
    # The second request holds what Agent Framework really fed back, its own error text included.
    # Each recorded request is the one the model received, message for message.
    assert len(model.calls) == len(llm) == 2
    for step, received in zip(llm, model.calls, strict=True):
        assert step.request.messages == received.request.messages
        assert step.request.tools == received.request.tools
    fed_back = {m.tool_call_id: m.text() for m in llm[1].request.messages if m.role == "tool"}
    assert fed_back == {
        "c1": "The weather in Oslo is cloudy with a high of 15°C.",
        "c2": "Error: Function failed.",
    }


TRAVEL_SCRIPT = {
    "agents": {
        "TravelAgent": [
            {"tool_calls": [call("t1", "WeatherAgent", task="Weather in Rome?")]},
            {"text": "Pack an umbrella."},
        ],
        "WeatherAgent": [
            {"tool_calls": [call("w1", "get_weather", location="Rome")]},
            {"text": "Cloudy in Rome."},
        ],
    }
}


@pytest.mark.parametrize("mode", ["run", "stream"])
def test_an_agent_used_as_a_tool_nests_its_steps_under_the_call(
    adapter: AgentFrameworkAdapter, mode: str
) -> None:
    agent = travel_agent(ScriptedModel(TRAVEL_SCRIPT))
    traj = run(adapter.arecord(agent, "Plan Rome.", mode=mode))
    assert traj.outcome is not None and traj.outcome.final_output == "Pack an umbrella."
    tool = next(s for s in traj.steps if isinstance(s, ToolStep) and s.name == "WeatherAgent")
    sub = next(s for s in traj.steps if isinstance(s, SubAgentStep))
    assert sub.parent_id == tool.id and sub.mode == "tool" and sub.call_id == "t1"
    assert [m.text() for m in sub.input] == ["Weather in Rome?"]
    assert sub.output == "Cloudy in Rome." and tool.result == "Cloudy in Rome."
    child = [s for s in traj.steps if s.parent_id == sub.id]
    assert [(s.kind, s.agent) for s in child] == [
        ("llm", "WeatherAgent"),
        ("tool", "WeatherAgent"),
        ("llm", "WeatherAgent"),
    ]
    child_request = child[0]
    assert isinstance(child_request, LLMStep)
    assert [m.text() for m in child_request.request.messages] == [
        "You are a helpful weather agent.",
        "Weather in Rome?",
    ]
    root_request = next(s for s in traj.steps if isinstance(s, LLMStep))
    assert root_request.request.params == {"temperature": 0.3}
    assert [t.name for t in root_request.request.tools] == ["WeatherAgent"]


def test_streamed_and_awaited_runs_record_the_same_trajectory(
    adapter: AgentFrameworkAdapter,
) -> None:
    forms = [
        normalize(
            run(adapter.arecord(travel_agent(ScriptedModel(TRAVEL_SCRIPT)), "Plan Rome.", mode=m))
        )
        for m in ("run", "stream")
    ]
    assert forms[0] == forms[1]


def test_turns_of_one_session_form_one_conversation(adapter: AgentFrameworkAdapter) -> None:
    script = {"agents": {"WeatherAgent": [{"text": "Hello."}, {"text": "Still cloudy."}]}}
    agent = weather_agent(ScriptedModel(script))
    traj = run(adapter.arecord(agent, TaskInfo(turns=["Hi", "And now?"])))
    second = [s for s in traj.steps if isinstance(s, LLMStep)][1]
    assert [(m.role, m.text()) for m in second.request.messages] == [
        ("system", "You are a helpful weather agent."),
        ("user", "Hi"),
        ("assistant", "Hello."),
        ("user", "And now?"),
    ]
    assert traj.outcome is not None and traj.outcome.final_output == "Still cloudy."


def test_the_users_middleware_still_runs_and_recording_leaves_no_trace(
    adapter: AgentFrameworkAdapter,
) -> None:
    seen: list[str] = []

    class Audit(AgentMiddleware):
        async def process(self, context: Any, call_next: Any) -> None:
            seen.append(context.agent.name)
            await call_next()

    script = {"agents": {"WeatherAgent": [{"text": "Hello."}]}}
    agent = weather_agent(ScriptedModel(script))
    audit = Audit()
    agent.middleware = [audit]
    run(adapter.arecord(agent, "Hi"))
    assert seen == ["WeatherAgent"]
    assert agent.middleware == [audit]


@pytest.mark.parametrize("mode", ["run", "stream"])
def test_a_failing_model_is_recorded_never_swallowed(
    adapter: AgentFrameworkAdapter, mode: str
) -> None:
    agent = weather_agent(ScriptedModel({"agents": {"WeatherAgent": []}}))
    traj = run(adapter.arecord(agent, "Hi", mode=mode))
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR
    (step,) = traj.steps
    assert isinstance(step, LLMStep) and step.status is StepStatus.ERROR
    assert step.error is not None and step.error.type == "ScriptExhausted"


def test_only_agent_framework_agents_are_recorded(adapter: AgentFrameworkAdapter) -> None:
    with pytest.raises(
        AdapterError, match="records Agent Framework agents and workflows, not dict"
    ):
        run(adapter.arecord({"name": "x"}, "Hi"))


def test_a_call_the_framework_answers_itself_is_recorded_as_it_was_answered(
    adapter: AgentFrameworkAdapter,
) -> None:
    """A call of a tool the agent does not have never reaches any middleware: Agent Framework
    answers it. The trajectory still has the call, with the framework's error."""
    script = {
        "agents": {
            "WeatherAgent": [
                {"tool_calls": [call("u1", "search_web", query="Oslo")]},
                {"text": "I cannot search."},
            ]
        }
    }
    traj = run(adapter.arecord(weather_agent(ScriptedModel(script)), "Search Oslo."))
    (step,) = [s for s in traj.steps if isinstance(s, ToolStep)]
    assert (step.name, step.call_id, step.arguments) == ("search_web", "u1", {"query": "Oslo"})
    assert step.status is StepStatus.ERROR and step.error is not None
    assert step.error.type == "KeyError" and "search_web" in step.error.message
    assert step.metadata == {"answered_by": "agent_framework"}
    assert [s.kind for s in traj.steps] == ["llm", "tool", "llm"]


def test_a_workflow_records_each_agent_run_as_a_turn(adapter: AgentFrameworkAdapter) -> None:
    """A sequential orchestration, as Agent Framework's docs build one: each participant's run is
    a team turn holding its own model calls; the critic is sent the writer's draft as the
    framework really passes it (an assistant message)."""
    pytest.importorskip("agent_framework_orchestrations")
    from agent_framework.orchestrations import SequentialBuilder

    script = {"agents": {"writer": [{"text": "A draft."}], "critic": [{"text": "Approved."}]}}
    model = ScriptedModel(script)
    writer = Agent(client=bridge_model(model, agent="writer"), name="writer", instructions="Write.")
    critic = Agent(client=bridge_model(model, agent="critic"), name="critic", instructions="Judge.")
    workflow = SequentialBuilder(participants=[writer, critic]).build()
    traj = run(adapter.arecord(workflow, "Write a haiku."))
    assert traj.outcome is not None and traj.outcome.final_output == "Approved."
    turns = [s for s in traj.steps if isinstance(s, SubAgentStep)]
    assert [(t.child, t.mode, t.output) for t in turns] == [
        ("writer", "team_turn", "A draft."),
        ("critic", "team_turn", "Approved."),
    ]
    critic_call = next(s for s in traj.steps if isinstance(s, LLMStep) and s.agent == "critic")
    assert critic_call.parent_id == turns[1].id
    assert [(m.role, m.text()) for m in critic_call.request.messages] == [
        ("system", "Judge."),
        ("user", "Write a haiku."),
        ("assistant", "A draft."),
    ]
    assert writer.middleware == [] and critic.middleware == []
