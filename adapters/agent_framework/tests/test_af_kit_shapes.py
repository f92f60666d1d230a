"""The kit's recording shapes on Agent Framework: the hook's apps are the framework's own and
run as its documentation runs them; unnamed agents get unique names, and a workflow whose
state is not messages is recorded with its input, its executors' model calls and its state."""

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


def test_unnamed_agents_are_named_after_what_holds_them_and_reported() -> None:
    result = _case("unnamed_agent_as_tool")
    assert result.verdict is Verdict.PASS, result.explain()
    app = kit_shape_app("unnamed_agent_as_tool", ScriptedModel([]))
    conversion = AgentFrameworkAdapter().to_spec(app)
    assert [a.name for a in conversion.spec.walk()] == ["agent", "research"]
    said = {i.where: i.severity for i in conversion.report.items if "has no name" in i.what}
    assert said == {"agent": "info", "agent.tools.research": "info"}


def test_a_workflow_whose_state_is_not_messages_is_recorded_as_it_runs() -> None:
    from nex_agent_framework.record_executors import ExecutorChatRecorder, executor_clients

    result = _case("non_message_state")
    assert result.verdict is Verdict.PASS, result.explain()
    model = ScriptedModel([{"text": "Lagos country"}, {"text": "Lagos is in Nigeria."}])
    workflow = kit_shape_app("non_message_state", model)
    record = AgentFrameworkAdapter().arecord
    traj = asyncio.run(record(workflow, {"question": "In which country is Lagos?"}))
    assert traj.root_agent == "workflow"
    assert [(s.kind, s.agent) for s in traj.steps] == [
        ("input", "workflow"),
        ("llm", "rewrite"),
        ("llm", "generate"),
    ]
    assert traj.outcome.structured_output["answer"] == "Lagos is in Nigeria."
    # the executors' clients are left as they were, and a later run is not recorded twice
    rewrite = workflow.executors["rewrite"]
    assert "execute" not in vars(rewrite)
    (_, (client,)), _ = executor_clients(workflow)  # rewrite and generate share one client
    assert not any(isinstance(m, ExecutorChatRecorder) for m in client.chat_middleware)
    model = ScriptedModel([{"text": t} for t in ("q", "a", "q", "a")])
    workflow = kit_shape_app("non_message_state", model)
    first = asyncio.run(record(workflow, {"question": "x"}))
    again = asyncio.run(record(workflow, {"question": "x"}))
    assert [s.kind for s in first.steps] == [s.kind for s in again.steps] == ["input", "llm", "llm"]


def test_two_agents_of_one_name_and_a_spec_built_cycle() -> None:
    from nex_agent_framework.bridge import bridge_model
    from nex_agent_framework.names import agent_names

    client = bridge_model(ScriptedModel([]))
    inner = Agent(client, "Inner.", name="helper")
    middle = Agent(client, "Middle.", name="helper", tools=[inner.as_tool(name="ask")])
    top = Agent(client, "Top.", tools=[middle.as_tool(name="delegate")])
    names = agent_names(top)
    assert [names.of(a) for a in (top, middle, inner)] == ["agent", "helper", "ask"]
    assert "is another agent's" in (names.made_up(inner) or "")
    assert names.made_up(middle) is None
    again = agent_names(top)
    assert [again.of(a) for a in (top, middle, inner)] == ["agent", "helper", "ask"]


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
