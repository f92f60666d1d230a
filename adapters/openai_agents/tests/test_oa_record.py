"""Recording apps written the SDK's way: ``record`` runs them, ``instrument`` records what the
app runs itself (``Runner.run``, ``run_sync``, ``run_streamed``) with no change to its code."""

from __future__ import annotations

import asyncio
import json

from agents import Agent, Runner, SQLiteSession
from agents.testing import ScriptedModel as SDKScriptedModel
from agents.testing import assistant_message, function_call
from nex_openai_agents import instrument, record
from oa_docs_app import get_weather, orchestrator, triage

from nex_core import MemorySink, ScriptedModel
from nex_core.trajectory.schema import OutcomeStatus, StepStatus, SubAgentStep, ToolStep

HANDOFF_SCRIPT = {
    "agents": {
        "Triage agent": [{"tool_calls": [{"name": "transfer_to_spanish_agent", "arguments": {}}]}],
        "Spanish agent": [
            {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Madrid"}}]},
            {"text": "Hace sol en Madrid."},
        ],
    }
}


def test_a_handoff_app_is_recorded_with_exact_requests_and_nesting() -> None:
    traj = record(triage(ScriptedModel(HANDOFF_SCRIPT)), "Hola, ¿qué tiempo hace en Madrid?")
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.COMPLETED
    assert traj.outcome.final_output == "Hace sol en Madrid."
    llm = [s for s in traj.steps if s.kind == "llm"]
    assert [s.agent for s in llm] == ["Triage agent", "Spanish agent", "Spanish agent"]
    first = llm[0].request
    assert first.messages[0].text().startswith("Handoff to the appropriate agent")
    assert [t.name for t in first.tools] == [
        "transfer_to_spanish_agent",
        "transfer_to_english_agent",
    ]
    weather = next(t for t in llm[1].request.tools if t.name == "get_weather")
    assert weather.parameters["properties"] == {"city": {"title": "City", "type": "string"}}
    handoff = next(s for s in traj.steps if isinstance(s, SubAgentStep))
    assert (handoff.mode, handoff.agent, handoff.child) == (
        "handoff",
        "Triage agent",
        "Spanish agent",
    )
    assert handoff.output == "Hace sol en Madrid."
    assert {s.parent_id for s in llm[1:]} == {handoff.id}
    tool = next(s for s in traj.steps if isinstance(s, ToolStep) and s.name == "get_weather")
    assert tool.parent_id == handoff.id and tool.arguments == {"city": "Madrid"}
    assert tool.result == "The weather in Madrid is sunny." and tool.latency_ms is not None
    assert tool.call_id == llm[1].response.message.tool_calls[0].id  # type: ignore[union-attr]
    transfer = next(
        s for s in traj.steps if isinstance(s, ToolStep) and s.name.startswith("transfer")
    )
    assert transfer.result == json.dumps({"assistant": "Spanish agent"})  # the SDK's own message


def test_agents_as_tools_and_a_failing_tool_under_the_sdks_default_error_handler() -> None:
    script = ScriptedModel(
        {
            "agents": {
                "orchestrator_agent": [
                    {
                        "tool_calls": [
                            {"name": "translate_to_spanish", "arguments": {"input": "Hello"}},
                            {"name": "get_stock_price", "arguments": {"symbol": "ACME"}},
                        ]
                    },
                    {"text": "Hola. The market is closed."},
                ],
                "spanish_agent": [{"text": "Hola"}],
            }
        }
    )
    traj = record(orchestrator(script), "Say hello in Spanish, and the ACME price.")
    by_id = {s.id: s for s in traj.steps}
    child = next(s for s in traj.steps if isinstance(s, SubAgentStep))
    assert (child.mode, child.child, child.output) == ("tool", "spanish_agent", "Hola")
    assert [m.text() for m in child.input] == ["Hello"]  # what the child was given
    assert by_id[child.parent_id].name == "translate_to_spanish"  # type: ignore[union-attr]
    inner = [s for s in traj.steps if s.kind == "llm" and s.parent_id == child.id]
    assert [s.agent for s in inner] == ["spanish_agent"]
    failed = next(s for s in traj.steps if isinstance(s, ToolStep) and s.name == "get_stock_price")
    assert failed.status is StepStatus.ERROR and failed.error is not None
    assert (failed.error.type, failed.error.message) == ("RuntimeError", "market closed for ACME")
    last = [s for s in traj.steps if s.kind == "llm"][-1]
    seen = [m.text() for m in last.request.messages if m.role == "tool"]
    assert "An error occurred while running the tool. Please try again." in seen  # SDK's text


def test_instrument_records_what_the_app_runs_itself_unchanged() -> None:
    sink = MemorySink()
    with instrument(sinks=[sink]) as trajectories:
        result = Runner.run_sync(triage(ScriptedModel(HANDOFF_SCRIPT)), "Hola")  # app code
    assert result.final_output == "Hace sol en Madrid."
    assert len(trajectories) == 1 and sink.trajectories == trajectories
    traj = trajectories[0]
    assert traj.root_agent == "Triage agent"
    assert traj.outcome is not None and traj.outcome.final_output == "Hace sol en Madrid."
    assert [s.kind for s in traj.steps].count("llm") == 3
    assert any(isinstance(s, SubAgentStep) and s.mode == "handoff" for s in traj.steps)
    # Outside the block nothing is recorded.
    Runner.run_sync(triage(ScriptedModel(HANDOFF_SCRIPT)), "Hola")
    assert len(trajectories) == 1


def test_instrument_records_each_streamed_run_the_app_makes_itself() -> None:
    """``Runner.run_streamed`` runs in a task of its own: each of two streamed runs in a row
    is its own trajectory (the first leaves no recording active for the second)."""

    async def app() -> list[str]:
        outputs = []
        for city in ("Madrid", "Lima"):
            streamed = Runner.run_streamed(triage(ScriptedModel(_handoff_script(city))), "Hola")
            async for _ in streamed.stream_events():  # app code, as the SDK's docs stream
                pass
            outputs.append(str(streamed.final_output))
        return outputs

    with instrument() as trajectories:
        outputs = asyncio.run(app())
    assert outputs == ["Hace sol en Madrid.", "Hace sol en Lima."]
    assert [t.outcome.final_output for t in trajectories] == outputs  # type: ignore[union-attr]
    for traj, city in zip(trajectories, ("Madrid", "Lima"), strict=True):
        tools = [s for s in traj.steps if isinstance(s, ToolStep) and s.name == "get_weather"]
        assert [t.arguments for t in tools] == [{"city": city}]
        assert [s.kind for s in traj.steps].count("llm") == 3


def _handoff_script(city: str) -> dict[str, object]:
    return {
        "agents": {
            "Triage agent": [
                {"tool_calls": [{"name": "transfer_to_spanish_agent", "arguments": {}}]}
            ],
            "Spanish agent": [
                {"tool_calls": [{"name": "get_weather", "arguments": {"city": city}}]},
                {"text": f"Hace sol en {city}."},
            ],
        }
    }


def test_concurrent_instrumented_runs_each_get_their_own_trajectory() -> None:
    async def app() -> list[str]:
        agents = [
            Agent(
                name=f"a{i}",
                instructions="Answer.",
                model=SDKScriptedModel(
                    [
                        [function_call("get_weather", {"city": f"c{i}"}, call_id=f"call_{i}")],
                        [assistant_message(f"done {i}")],
                    ]
                ),
                tools=[get_weather],
            )
            for i in range(3)
        ]
        results = await asyncio.gather(*(Runner.run(a, "go") for a in agents))
        return [r.final_output for r in results]

    with instrument() as trajectories:
        outputs = asyncio.run(app())
    assert outputs == ["done 0", "done 1", "done 2"]
    assert sorted(t.outcome.final_output for t in trajectories) == outputs  # type: ignore[union-attr]
    for traj in trajectories:
        tools = [s for s in traj.steps if isinstance(s, ToolStep)]
        assert len(tools) == 1 and tools[0].call_id == f"call_{traj.root_agent[1:]}"


def test_a_foreign_model_is_recorded_exactly_as_the_runner_called_it() -> None:
    """The SDK's own test model (not a nex bridge): requests and answers still recorded."""
    model = SDKScriptedModel(
        [[function_call("get_weather", {"city": "Oslo"}, call_id="w1")], [assistant_message("Sun")]]
    )
    agent = Agent(name="weather", instructions="Use tools.", model=model, tools=[get_weather])
    traj = record(agent, "Weather in Oslo?")
    llm = [s for s in traj.steps if s.kind == "llm"]
    assert len(llm) == 2 and traj.provenance.model == "ScriptedModel"
    assert [m.role for m in llm[1].request.messages] == ["system", "user", "assistant", "tool"]
    assert llm[1].request.messages[3].tool_call_id == "w1"
    assert [t.name for t in llm[0].request.tools] == ["get_weather"]


def test_a_streamed_run_and_a_session_across_turns() -> None:
    script = ScriptedModel({"agents": {"bot": [{"text": "Hi Ana"}, {"text": "You are Ana"}]}})
    agent = Agent(name="bot", instructions="Be brief.", model=orchestrator(script).model)
    session = SQLiteSession("conversation")
    from nex_core.trajectory.schema import TaskInfo

    traj = record(
        agent, TaskInfo(turns=["I am Ana", "Who am I?"]), session=session, mode="run_streamed"
    )
    assert traj.outcome is not None and traj.outcome.final_output == "You are Ana"
    second = [s for s in traj.steps if s.kind == "llm"][1]
    assert [(m.role, m.text()) for m in second.request.messages] == [
        ("system", "Be brief."),
        ("user", "I am Ana"),
        ("assistant", "Hi Ana"),
        ("user", "Who am I?"),
    ]


def test_a_model_error_is_recorded_and_ends_the_run_as_error() -> None:
    agent = Agent(name="x", model=SDKScriptedModel([ValueError("endpoint down")]))
    traj = record(agent, "hi")
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR
    llm = traj.steps[0]
    assert llm.status is StepStatus.ERROR and llm.error is not None
    assert llm.error.message == "endpoint down"


def test_the_model_provider_drives_agents_whose_model_is_a_name() -> None:
    from agents import RunConfig
    from nex_openai_agents import NexModelProvider

    agent = Agent(name="named", instructions="Answer.", model="gpt-4o-mini")
    config = RunConfig(model_provider=NexModelProvider(ScriptedModel([{"text": "hello"}])))
    traj = record(agent, "hi", run_config=config)
    assert traj.outcome is not None and traj.outcome.final_output == "hello"
    assert traj.provenance.model == "gpt-4o-mini"
    assert traj.steps[0].model == "scripted"  # the model that answered
