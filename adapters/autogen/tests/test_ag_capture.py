"""Zero-change capture of AutoGen apps, written as AutoGen's documentation writes them: the
app's own ``run``/``run_stream``/``Console`` calls recorded, a Swarm that hands off to the user
paused and resumed with a ``HandoffMessage``."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ag_toolbox import get_weather
from autogen_agentchat.agents import AssistantAgent, BaseChatAgent
from autogen_agentchat.conditions import HandoffTermination, TextMentionTermination
from autogen_agentchat.messages import HandoffMessage
from autogen_agentchat.teams import BaseGroupChat, RoundRobinGroupChat, Swarm
from autogen_agentchat.tools import AgentTool
from autogen_agentchat.ui import Console
from nex_autogen import AutogenAdapter, bridge_model, instrument, recording, uninstrument

from nex_core import MemorySink, ScriptedModel, normalize
from nex_core.trajectory.schema import InputStep, LLMStep, SubAgentStep, ToolStep, Trajectory

ORIGINALS = (BaseChatAgent.run, BaseChatAgent.run_stream, BaseGroupChat.run_stream)
WEATHER = [
    {"tool_calls": [{"id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
    {"text": "Sunny in Paris."},
]


def weather_agent(model: ScriptedModel) -> AssistantAgent:
    return AssistantAgent(
        "weather_agent",
        model_client=bridge_model(model, agent="weather_agent"),
        tools=[get_weather],
        system_message="You are a helpful assistant.",
        reflect_on_tool_use=True,
    )


def kinds(traj: Trajectory, parent: str | None = None) -> list[Any]:
    out: list[Any] = []
    for step in traj.children(parent):
        if isinstance(step, LLMStep):
            label: tuple[Any, ...] = ("llm", step.agent)
        elif isinstance(step, ToolStep):
            label = ("tool", step.agent, step.name)
        elif isinstance(step, InputStep):
            label = (f"input:{step.mode}", step.agent)
        else:
            assert isinstance(step, SubAgentStep)
            label = (f"sub:{step.mode}", step.agent, step.child)
        children = kinds(traj, step.id)
        out.append((*label, children) if children else label)
    return out


def test_run_run_stream_and_console_each_record_one_trajectory_the_same() -> None:
    reference = asyncio.run(
        AutogenAdapter().arecord(weather_agent(ScriptedModel(WEATHER)), "Weather in Paris?")
    )

    async def app(how: str) -> Any:
        agent = weather_agent(ScriptedModel(WEATHER))
        if how == "run":
            return await agent.run(task="Weather in Paris?")
        if how == "console":
            return await Console(agent.run_stream(task="Weather in Paris?"), output_stats=False)
        return [item async for item in agent.run_stream(task="Weather in Paris?")][-1]

    for how in ("run", "run_stream", "console"):
        sink = MemorySink()
        with recording([sink]) as rec:
            result = asyncio.run(app(how))
        assert result.messages[-1].content == "Sunny in Paris."
        assert len(rec.trajectories) == 1 and sink.trajectories == rec.trajectories, how
        traj = rec.trajectories[0]
        assert normalize(traj)["steps"] == normalize(reference)["steps"], how
        assert traj.outcome is not None and traj.outcome.final_output == "Sunny in Paris."
    assert (BaseChatAgent.run, BaseChatAgent.run_stream, BaseGroupChat.run_stream) == ORIGINALS


def test_nested_agent_tool_runs_stay_inside_the_top_level_run() -> None:
    model = ScriptedModel(
        {
            "agents": {
                "lead": [
                    {"tool_calls": [{"id": "t1", "name": "writer", "arguments": {"task": "poem"}}]},
                    {"text": "Here it is."},
                ],
                "writer": [{"text": "A poem."}],
            }
        }
    )
    writer = AssistantAgent(
        "writer", model_client=bridge_model(model, agent="writer"), description="Writes."
    )
    lead = AssistantAgent(
        "lead",
        model_client=bridge_model(model, agent="lead"),
        tools=[AgentTool(writer)],
        reflect_on_tool_use=True,
    )
    with recording() as rec:
        asyncio.run(lead.run(task="Write a poem."))
    (traj,) = rec.trajectories
    assert kinds(traj) == [
        ("llm", "lead"),
        ("tool", "lead", "writer", [("sub:tool", "lead", "writer", [("llm", "writer")])]),
        ("llm", "lead"),
    ]


def test_runs_of_one_team_share_a_session() -> None:
    model = ScriptedModel({"agents": {"a": [{"text": "one"}, {"text": "two"}]}})
    agent = AssistantAgent("a", model_client=bridge_model(model, agent="a"))
    team = RoundRobinGroupChat([agent], max_turns=1)

    async def app() -> None:
        await team.run(task="first")
        await team.run(task="second")

    with recording() as rec:
        asyncio.run(app())
    first, second = rec.trajectories
    assert first.session_id is not None and first.session_id == second.session_id
    assert [t.task.turns for t in rec.trajectories] == [["first"], ["second"]]


def test_instrument_records_runs_of_every_thread_until_uninstrument() -> None:
    sink = MemorySink()
    instrument([sink])
    try:
        worker = threading.Thread(
            target=lambda: asyncio.run(
                weather_agent(ScriptedModel(WEATHER)).run(task="Weather in Paris?")
            )
        )
        worker.start()
        worker.join()
    finally:
        uninstrument()
    asyncio.run(weather_agent(ScriptedModel(WEATHER)).run(task="again"))
    assert len(sink.trajectories) == 1
    assert (BaseChatAgent.run, BaseChatAgent.run_stream, BaseGroupChat.run_stream) == ORIGINALS


# --------------------------------------------------------------------------- human in the loop


def refund_flight(flight_id: str) -> str:
    """Refund a flight."""
    return f"Flight {flight_id} refunded"


def _swarm() -> Swarm:
    """The documentation's customer-support Swarm: the refunder hands off to the user for the
    flight number."""
    model = ScriptedModel(
        {
            "agents": {
                "travel_agent": [
                    {"tool_calls": [{"id": "h1", "name": "transfer_to_flights_refunder"}]}
                ],
                "flights_refunder": [
                    {"tool_calls": [{"id": "h2", "name": "transfer_to_user"}]},
                    {
                        "tool_calls": [
                            {"id": "r1", "name": "refund_flight", "arguments": {"flight_id": "507"}}
                        ]
                    },
                    {"text": "Flight 507 refunded. TERMINATE"},
                ],
            }
        }
    )
    travel_agent = AssistantAgent(
        "travel_agent",
        model_client=bridge_model(model, agent="travel_agent"),
        handoffs=["flights_refunder", "user"],
        system_message="You are a travel agent.",
    )
    flights_refunder = AssistantAgent(
        "flights_refunder",
        model_client=bridge_model(model, agent="flights_refunder"),
        handoffs=["travel_agent", "user"],
        tools=[refund_flight],
        system_message="You refund flights; ask the user for the flight number.",
        reflect_on_tool_use=True,
    )
    termination = HandoffTermination(target="user") | TextMentionTermination("TERMINATE")
    return Swarm([travel_agent, flights_refunder], termination_condition=termination)


def _check_pause_and_resume(pause: Trajectory, resume: Trajectory) -> None:
    assert pause.outcome is not None and pause.outcome.status.value == "interrupted"
    assert pause.outcome.stop_reason == "handoff:user"
    (pending,) = pause.outcome.pending or []
    assert pending["handoff"]["source"] == "flights_refunder"
    assert pending["handoff"]["target"] == "user"
    assert kinds(pause) == [
        ("llm", "travel_agent"),
        ("tool", "travel_agent", "transfer_to_flights_refunder"),
        (
            "sub:handoff",
            "travel_agent",
            "flights_refunder",
            [("llm", "flights_refunder"), ("tool", "flights_refunder", "transfer_to_user")],
        ),
    ]
    handoff = next(s for s in pause.steps if isinstance(s, SubAgentStep))
    assert handoff.status.value == "ok" and handoff.output == pending["handoff"]["content"]
    assert kinds(resume) == [
        ("input:resume", "Swarm"),
        ("llm", "flights_refunder"),
        ("tool", "flights_refunder", "refund_flight"),
        ("llm", "flights_refunder"),
    ]
    answer = resume.steps[0]
    assert isinstance(answer, InputStep) and answer.value["content"] == "It is flight 507."
    assert answer.value["target"] == "flights_refunder"
    assert resume.outcome is not None and resume.outcome.status.value == "completed"
    assert resume.outcome.final_output == "Flight 507 refunded. TERMINATE"


def test_swarm_handoff_to_the_user_pauses_and_a_handoff_message_resumes_it() -> None:
    team = _swarm()

    async def app() -> None:  # as the documentation's example loop runs it
        result = await Console(team.run_stream(task="I need a refund."), output_stats=False)
        last = result.messages[-1]
        while isinstance(last, HandoffMessage) and last.target == "user":
            answer = HandoffMessage(source="user", target=last.source, content="It is flight 507.")
            result = await Console(team.run_stream(task=answer), output_stats=False)
            last = result.messages[-1]

    with recording() as rec:
        asyncio.run(app())
    pause, resume = rec.trajectories
    _check_pause_and_resume(pause, resume)
    assert pause.session_id == resume.session_id


def test_arecord_takes_the_resuming_handoff_message_as_a_turn() -> None:
    team = _swarm()
    adapter = AutogenAdapter()
    answer = HandoffMessage(source="user", target="flights_refunder", content="It is flight 507.")

    async def app() -> tuple[Trajectory, Trajectory]:  # one loop: a team's runtime lives on it
        pause = await adapter.arecord(team, "I need a refund.")
        return pause, await adapter.arecord(team, answer, mode="run_stream")

    pause, resume = asyncio.run(app())
    _check_pause_and_resume(pause, resume)
    assert pause.session_id == resume.session_id


def test_a_pause_and_its_resume_as_turns_of_one_recording() -> None:
    answer = HandoffMessage(source="user", target="flights_refunder", content="It is flight 507.")
    traj = asyncio.run(AutogenAdapter().arecord(_swarm(), ["I need a refund.", answer]))
    top = [s.kind for s in traj.children(None)]
    assert top == ["llm", "tool", "subagent", "input", "llm", "tool", "llm"]
    handoff = next(s for s in traj.steps if isinstance(s, SubAgentStep))
    # the handoff ended with its own run: the resumed turn's output is not its output
    assert handoff.output == "Transferred to user, adopting the role of user immediately."
    assert traj.outcome is not None and traj.outcome.status.value == "completed"
    assert traj.task.turns == ["I need a refund.", "It is flight 507."]


def test_reset_starts_a_new_session_for_teams_and_agents() -> None:
    from autogen_core import CancellationToken

    model = ScriptedModel({"agents": {"a": [{"text": t} for t in ("1", "2", "3", "4", "5")]}})
    agent = AssistantAgent("a", model_client=bridge_model(model, agent="a"))
    team = RoundRobinGroupChat([agent], max_turns=1)
    solo_model = ScriptedModel({"agents": {"s": [{"text": "x"}, {"text": "y"}, {"text": "z"}]}})
    solo = AssistantAgent("s", model_client=bridge_model(solo_model, agent="s"))

    async def app() -> None:
        await team.run(task="first")
        await team.run(task="second")  # the same conversation
        await team.reset()
        await team.run(task="after reset")
        await solo.run(task="one")
        await solo.run(task="two")
        await solo.on_reset(CancellationToken())
        await solo.run(task="three")

    with recording() as rec:
        asyncio.run(app())
    first, second, third, one, two, three = (t.session_id for t in rec.trajectories)
    assert first == second and third not in (None, first)
    assert one == two and three not in (None, one)
    # The conversation the model saw restarted too (what the new session stands for).
    last = [s for s in rec.trajectories[2].steps if isinstance(s, LLMStep)][-1]
    assert [m.text() for m in last.request.messages if m.role == "user"] == ["after reset"]
