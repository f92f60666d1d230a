"""Zero-change capture: the app's own calls recorded, however it makes them, nothing changed."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import lg_app_graphs as app
import lg_docs_graphs as docs
import pytest
from langchain_core.messages import HumanMessage
from langgraph.pregel import Pregel
from lg_helpers import check_valid, tree
from nex_langgraph import instrument, record, recording, to_spec, uninstrument
from nex_langgraph._capture import restore

from nex_core import MemorySink, ScriptedModel, normalize
from nex_core.errors import SpecError

ORIGINAL_STREAM = Pregel.stream


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


REACT = [{"tool_calls": [call("add", a=2, b=3)]}, {"text": "5"}]
QUESTION = {"messages": [{"role": "user", "content": "2+3?"}]}


def _drive(graph: Any, how: str) -> Any:
    """The graph run the way an app would run it; returns what the app got back."""
    if how == "invoke":
        return graph.invoke(QUESTION)
    if how.startswith("stream:"):
        return list(graph.stream(QUESTION, stream_mode=how.removeprefix("stream:")))

    async def go() -> Any:
        if how == "ainvoke":
            return await graph.ainvoke(QUESTION)
        if how == "astream_events":
            return [e["event"] async for e in graph.astream_events(QUESTION, version="v2")]
        return [c async for c in graph.astream(QUESTION, stream_mode=how.split(":")[1])]

    return asyncio.run(go())


WAYS = [
    "invoke",
    "stream:values",
    "stream:updates",
    "stream:messages",
    "ainvoke",
    "astream:updates",
    "astream_events",
]


@pytest.mark.parametrize("how", WAYS)
def test_every_way_of_running_records_one_trajectory_the_same(
    how: str, trajectory_schema: dict[str, Any]
) -> None:
    reference = record(docs.react_agent(ScriptedModel(REACT)), "2+3?")
    sink = MemorySink()
    with recording([sink]) as rec:
        _drive(docs.react_agent(ScriptedModel(REACT)), how)
    assert len(rec.trajectories) == 1 and sink.trajectories == rec.trajectories
    traj = rec.trajectories[0]
    check_valid(traj, trajectory_schema)
    assert normalize(traj)["steps"] == normalize(reference)["steps"]
    assert traj.task.turns == ["2+3?"] and traj.outcome is not None
    assert traj.outcome.final_output == "5"


def test_capture_changes_nothing_the_app_sees() -> None:
    plain = _drive(docs.react_agent(ScriptedModel(REACT)), "stream:updates")
    with recording():
        captured = _drive(docs.react_agent(ScriptedModel(REACT)), "stream:updates")
    assert [list(c) for c in captured] == [list(c) for c in plain]
    assert restore() and Pregel.stream is ORIGINAL_STREAM


def test_nested_graphs_stay_inside_their_top_level_run() -> None:
    model = ScriptedModel(
        {
            "agents": {
                "lead": [{"tool_calls": [call("research", query="q")]}, {"text": "done"}],
                "researcher": [{"text": "facts"}],
            }
        }
    )
    graph = docs.agent_as_tool(model)
    with recording() as rec:
        graph.invoke({"messages": [("user", "go")]})
    (traj,) = rec.trajectories
    assert tree(traj) == [
        ("llm", "lead"),
        ("tool", "lead", "research", [("sub:tool", "lead", "researcher", [("llm", "researcher")])]),
        ("llm", "lead"),
    ]


def test_checkpointer_turns_are_one_session() -> None:
    model = ScriptedModel({"agents": {"assistant": [{"text": "hi"}, {"text": "you said hello"}]}})
    graph = docs.hand_written(model)
    config = {"configurable": {"thread_id": "conversation-7"}}
    with recording(session_id="unused") as rec:
        graph.invoke({"messages": [HumanMessage("hello")]}, config)
        graph.invoke({"messages": [HumanMessage("what did I say?")]}, config)
    first, second = rec.trajectories
    assert first.session_id == second.session_id == "conversation-7"
    assert first.id != second.id
    assert [t.task.turns for t in rec.trajectories] == [["hello"], ["what did I say?"]]
    last = second.steps[-1]
    assert last.kind == "llm" and len(last.request.messages) == 3  # the thread's history


def test_runs_without_a_thread_take_the_recording_session() -> None:
    with recording(session_id="s-1") as rec:
        docs.react_agent(ScriptedModel(REACT)).invoke(QUESTION)
    assert rec.trajectories[0].session_id == "s-1"


def test_instrument_records_every_thread_until_uninstrument() -> None:
    sink = MemorySink()
    instrument([sink])
    try:
        worker = threading.Thread(
            target=lambda: docs.react_agent(ScriptedModel(REACT)).invoke(QUESTION)
        )
        worker.start()
        worker.join()
    finally:
        uninstrument()
    docs.react_agent(ScriptedModel(REACT)).invoke(QUESTION)  # not recorded any more
    assert len(sink.trajectories) == 1
    assert sink.trajectories[0].outcome is not None
    assert sink.trajectories[0].outcome.final_output == "5"
    assert restore() and Pregel.stream is ORIGINAL_STREAM


def test_a_failing_run_is_recorded_and_still_raises() -> None:
    graph = docs.react_agent(ScriptedModel([{"tool_calls": [call("divide", a=1, b=0)]}]))
    with recording() as rec, pytest.raises(ZeroDivisionError):
        graph.invoke({"messages": [("user", "1/0")]})
    (traj,) = rec.trajectories
    assert traj.outcome is not None and traj.outcome.status.value == "error"


# --------------------------------------------------------------------------- unnamed agents


def test_unnamed_agent_used_as_tool_nests_under_its_own_name() -> None:
    model = ScriptedModel(
        {
            "agents": {
                "lead": [{"tool_calls": [call("research", query="capital?")]}, {"text": "Paris"}],
                "researcher": [
                    {"tool_calls": [call("web_search", query="capital of France")]},
                    {"text": "Paris"},
                ],
            }
        }
    )
    graph = app.unnamed_agent_as_tool(model)
    conversion = to_spec(graph)
    assert conversion.spec.name == "agent"
    assert [s.agent.name for s in conversion.spec.sub_agents] == ["research"]
    unnamed = [i for i in conversion.report.items if "has no name" in i.what]
    assert [i.where for i in unnamed] == ["agent", "agent.research"]
    with recording() as rec:
        graph.invoke({"messages": [("user", "capital of France?")]})
    expected = [
        ("llm", "agent"),
        (
            "tool",
            "agent",
            "research",
            [
                (
                    "sub:tool",
                    "agent",
                    "research",
                    [
                        ("llm", "research"),
                        ("tool", "research", "web_search"),
                        ("llm", "research"),
                    ],
                )
            ],
        ),
        ("llm", "agent"),
    ]
    assert tree(rec.trajectories[0]) == expected
    model = ScriptedModel(model.script)
    assert tree(record(app.unnamed_agent_as_tool(model), "capital of France?")) == expected


# --------------------------------------------------------------------------- any graph


def test_workflow_without_messages_records_input_output_and_node_models() -> None:
    model = ScriptedModel({"agents": {"llm": [{"text": "capital France"}, {"text": "Paris"}]}})
    graph = app.rag_workflow(model)
    with pytest.raises(SpecError, match=r"keeps no 'messages'.*record\(graph, \{'question'"):
        record(graph, "capital of France?")
    traj = record(graph, {"question": "capital of France?"})
    assert tree(traj) == [("input:input", "agent"), ("llm", "rewrite"), ("llm", "generate")]
    assert traj.steps[0].kind == "input" and traj.steps[0].value == {
        "question": "capital of France?"
    }
    assert traj.outcome is not None and traj.outcome.status.value == "completed"
    assert traj.outcome.structured_output["answer"] == "Paris"
    assert traj.outcome.structured_output["query"] == "capital France"


def test_workflow_conversion_names_what_the_spec_cannot_hold() -> None:
    report = to_spec(app.rag_workflow(ScriptedModel([]))).report
    where = {i.where for i in report.items}
    assert {f"graph.state.{k}" for k in ("question", "query", "documents", "answer")} <= where
    assert {f"agent.nodes.{n}" for n in ("rewrite", "retrieve", "generate")} <= where


# --------------------------------------------------------------------------- structured output


def test_structured_output_is_the_final_output() -> None:
    model = ScriptedModel(
        {
            "agents": {
                "forecaster": [{"tool_calls": [call("Weather", city="Paris", temperature_c=21)]}]
            }
        }
    )
    graph = app.structured_agent(model)
    with recording() as rec:
        result = graph.invoke({"messages": [("user", "weather in Paris?")]})
    assert result["structured_response"] == app.Weather(city="Paris", temperature_c=21)
    outcome = rec.trajectories[0].outcome
    assert outcome is not None and outcome.structured_output == {
        "city": "Paris",
        "temperature_c": 21.0,
    }
    assert outcome.final_output == '{"city": "Paris", "temperature_c": 21.0}'
    conversion = to_spec(graph)
    assert conversion.spec.output_schema == app.Weather.model_json_schema()
    assert any(
        i.where == "forecaster.response_format" and "ToolStrategy answers through a tool" in i.what
        for i in conversion.report.items
    )


# --------------------------------------------------------------------------- interrupts


APPROVE = {"decisions": [{"type": "approve"}]}


def _mailer() -> Any:
    return app.approval_agent(
        ScriptedModel(
            {
                "agents": {
                    "mailer": [
                        {"tool_calls": [call("send_email", to="bob@x.org", body="hi")]},
                        {"text": "Sent."},
                    ]
                }
            }
        )
    )


def test_human_in_the_loop_pause_and_resume_are_recorded() -> None:
    from langgraph.types import Command

    graph = _mailer()
    config = {"configurable": {"thread_id": "mail-1"}}
    with recording() as rec:
        paused = graph.invoke({"messages": [("user", "email bob")]}, config)
        assert "__interrupt__" in paused
        graph.invoke(Command(resume=APPROVE), config)
    pause, resume = rec.trajectories
    assert pause.outcome is not None and pause.outcome.status.value == "interrupted"
    (pending,) = pause.outcome.pending or []
    # The contract's shape (nex_core.protocol.approval), matched to the model's call id.
    call_id = pause.steps[0].response.message.tool_calls[0].id  # type: ignore[union-attr]
    assert pending == {
        "type": "tool_approval",
        "agent": "mailer",
        "tool": "send_email",
        "tool_call_id": call_id,
        "arguments": {"to": "bob@x.org", "body": "hi"},
    }
    assert pause.outcome.stop_reason == "approval_required"
    assert tree(pause) == [("llm", "mailer")]
    assert tree(resume) == [
        ("input:resume", "mailer"),
        ("tool", "mailer", "send_email"),
        ("llm", "mailer"),
    ]
    assert resume.steps[0].value == {call_id: {"action": "approve"}}
    assert resume.outcome is not None and resume.outcome.final_output == "Sent."
    assert pause.session_id == resume.session_id == "mail-1"


def test_record_takes_a_resume_as_a_turn() -> None:
    from langgraph.types import Command

    config = {"configurable": {"thread_id": "mail-2"}}
    paused = record(_mailer(), "email bob", config=config)
    assert paused.outcome is not None and paused.outcome.status.value == "interrupted"
    graph = _mailer()
    both = record(graph, ["email bob", Command(resume=APPROVE)], config=config | {"x": 1})
    assert both.outcome is not None and both.outcome.final_output == "Sent."
    assert [s.kind for s in both.steps] == ["llm", "input", "tool", "llm"]
    assert both.session_id == "mail-2"


def test_plain_node_interrupt_under_astream_events() -> None:
    from langgraph.types import Command

    graph = app.review_workflow()
    config = {"configurable": {"thread_id": "review"}}

    async def go() -> None:
        async for _ in graph.astream_events({"draft": "d"}, config, version="v2"):
            pass
        await graph.ainvoke(Command(resume="yes"), config)

    with recording() as rec:
        asyncio.run(go())
    pause, resume = rec.trajectories
    assert pause.outcome is not None and pause.outcome.status.value == "interrupted"
    assert [p["value"] for p in pause.outcome.pending or []] == [
        {"question": "Approve this draft?", "draft": "d"}
    ]
    assert [(s.kind, getattr(s, "value", None)) for s in resume.steps] == [("input", "yes")]
    assert resume.outcome is not None
    assert resume.outcome.structured_output == {"draft": "d", "verdict": "yes"}


def test_human_in_the_loop_conversion_names_middleware_and_checkpointer() -> None:
    report = to_spec(_mailer()).report
    found = {(i.where, i.what) for i in report.items}
    # The middleware is carried as the tools' approval policy (see test_lg_approval).
    assert ("mailer.middleware.HumanInTheLoopMiddleware", "middleware is not carried") not in found
    assert any(w == "mailer" and "checkpointer" in what for w, what in found)
