"""Recording graphs users built (written as LangGraph's documentation writes them)."""

from __future__ import annotations

import asyncio
from typing import Any

import lg_docs_graphs as docs
import pytest
from langchain_core.messages import AIMessage
from lg_helpers import check_valid, tree
from nex_langgraph import arecord, record, to_spec

from nex_core import MemorySink, ScriptedModel, TaskInfo, get_adapter, normalize
from nex_core.trajectory.schema import LLMStep, SubAgentStep, ToolStep


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


REACT = [{"tool_calls": [call("add", a=2, b=3), call("multiply", a=2, b=3)]}, {"text": "5 and 6"}]


@pytest.mark.parametrize("build", [docs.react_agent, docs.legacy_react_agent])
def test_react_agent_every_mode_records_the_same(
    build: Any, trajectory_schema: dict[str, Any]
) -> None:
    forms = []
    for mode in ("invoke", "stream", "ainvoke", "astream"):
        sink = MemorySink()
        graph = build(ScriptedModel(REACT))
        if mode in ("invoke", "stream"):
            traj = record(graph, "2+3 and 2*3", sinks=[sink], mode=mode)
        else:
            traj = asyncio.run(arecord(graph, "2+3 and 2*3", sinks=[sink], mode=mode))
        check_valid(traj, trajectory_schema)
        assert sink.trajectories == [traj]
        steps = tree(traj)  # the two tool calls run concurrently: compare them as a set
        assert [steps[0], sorted(steps[1:3]), steps[3]] == [
            ("llm", "calculator"),
            [("tool", "calculator", "add"), ("tool", "calculator", "multiply")],
            ("llm", "calculator"),
        ]
        forms.append(normalize(traj))
    assert all(f == forms[0] for f in forms)
    traj_llm = next(s for s in traj.steps if isinstance(s, LLMStep))
    assert traj_llm.request.messages[0].content == "You are a careful calculator."
    assert {t.name for t in traj_llm.request.tools} == {"add", "multiply"} | (
        {"divide"} if build is docs.react_agent else set()
    )
    assert traj_llm.response is not None and traj_llm.response.usage is not None
    assert [tc.id for tc in traj_llm.response.message.tool_calls or []] == ["call_1", "call_2"]
    tools = [s for s in traj.steps if isinstance(s, ToolStep)]
    assert {(t.call_id, t.result) for t in tools} == {("call_1", "5.0"), ("call_2", "6.0")}
    assert all(t.latency_ms is not None for t in tools)
    assert traj.outcome is not None and traj.outcome.final_output == "5 and 6"


def test_recording_does_not_change_what_the_graph_does() -> None:
    bare = docs.react_agent(ScriptedModel(REACT)).invoke({"messages": [("user", "go")]})
    traj = record(docs.react_agent(ScriptedModel(REACT)), "go")
    assert traj.outcome is not None and traj.outcome.final_output == bare["messages"][-1].content
    assert len(bare["messages"]) == 5


def test_supervisor_nests_workers_and_skips_synthetic_messages(
    trajectory_schema: dict[str, Any],
) -> None:
    model = ScriptedModel(
        {
            "agents": {
                "supervisor": [
                    {"tool_calls": [call("transfer_to_math_expert")]},
                    {"text": "The answer is 5."},
                ],
                "math_expert": [{"tool_calls": [call("add", a=2, b=3)]}, {"text": "5"}],
            }
        }
    )
    traj = record(docs.supervisor(model), "what is 2+3?")
    check_valid(traj, trajectory_schema)
    assert tree(traj) == [
        ("llm", "supervisor"),
        ("tool", "supervisor", "transfer_to_math_expert"),
        (
            "sub:handoff",
            "supervisor",
            "math_expert",
            [("llm", "math_expert"), ("tool", "math_expert", "add"), ("llm", "math_expert")],
        ),
        ("llm", "supervisor"),
    ]
    llm = [s for s in traj.steps if isinstance(s, LLMStep)]
    assert len(llm) == len(model.calls) == 4  # no step for the synthetic handoff-back pair
    last_request = [m.text() for m in llm[-1].request.messages]
    assert "Transferring back to supervisor" in last_request
    handoff = next(s for s in traj.steps if isinstance(s, SubAgentStep))
    assert handoff.output == "5" and handoff.call_id == "call_1"
    assert traj.outcome is not None and traj.outcome.final_output == "The answer is 5."


def test_agent_as_tool_nests_the_child_under_the_tool_call(
    trajectory_schema: dict[str, Any],
) -> None:
    model = ScriptedModel(
        {
            "agents": {
                "lead": [
                    {"tool_calls": [call("research", query="FAANG headcount")]},
                    {"text": "1,977,000"},
                ],
                "researcher": [
                    {"tool_calls": [call("web_search", query="FAANG headcount 2024")]},
                    {"text": "1,977,000"},
                ],
            }
        }
    )
    traj = asyncio.run(arecord(docs.agent_as_tool(model), "How many people work at FAANG?"))
    check_valid(traj, trajectory_schema)
    assert tree(traj) == [
        ("llm", "lead"),
        (
            "tool",
            "lead",
            "research",
            [
                (
                    "sub:tool",
                    "lead",
                    "researcher",
                    [
                        ("llm", "researcher"),
                        ("tool", "researcher", "web_search"),
                        ("llm", "researcher"),
                    ],
                ),
            ],
        ),
        ("llm", "lead"),
    ]
    sub = next(s for s in traj.steps if isinstance(s, SubAgentStep))
    assert [m.text() for m in sub.input] == ["FAANG headcount"] and sub.output == "1,977,000"


def test_swarm_handoff_and_second_turn(trajectory_schema: dict[str, Any]) -> None:
    model = ScriptedModel(
        {
            "agents": {
                "Alice": [{"tool_calls": [call("transfer_to_bob")]}],
                "Bob": [{"text": "Arr, I be Bob."}, {"text": "Arr, 12."}],
            }
        }
    )
    traj = record(docs.swarm(model), TaskInfo(turns=["i'd like to speak to Bob", "what's 5 + 7?"]))
    check_valid(traj, trajectory_schema)
    assert tree(traj) == [
        ("llm", "Alice"),
        ("tool", "Alice", "transfer_to_bob"),
        ("sub:handoff", "Alice", "Bob", [("llm", "Bob")]),
        ("llm", "Bob"),
    ]
    second = [s for s in traj.steps if isinstance(s, LLMStep)][-1]
    assert [m.role for m in second.request.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]
    assert traj.outcome is not None and traj.outcome.final_output == "Arr, 12."


def test_hand_written_graph_with_checkpointer_runs_turns_on_one_thread() -> None:
    model = ScriptedModel(
        {
            "agents": {
                "assistant": [
                    {"tool_calls": [call("add", a=1, b=2)]},
                    {"text": "3"},
                    {"text": "you said 1+2"},
                ]
            }
        }
    )
    traj = record(docs.hand_written(model), TaskInfo(turns=["1+2?", "what did I ask?"]))
    assert tree(traj) == [
        ("llm", "assistant"),
        ("tool", "assistant", "add"),
        ("llm", "assistant"),
        ("llm", "assistant"),
    ]
    last = [s for s in traj.steps if isinstance(s, LLMStep)][-1]
    assert len(last.request.messages) == 5


def test_agents_as_subgraph_nodes_are_team_turns_as_the_converted_team_runs() -> None:
    script = {"agents": {"researcher": [{"text": "facts"}], "writer": [{"text": "essay"}]}}
    graph = docs.subgraph_nodes(ScriptedModel(script))
    traj = record(graph, "write about x")
    expected = [
        ("sub:team_turn", "pipeline", "researcher", [("llm", "researcher")]),
        ("sub:team_turn", "pipeline", "writer", [("llm", "writer")]),
    ]
    assert tree(traj) == expected
    assert traj.root_agent == "pipeline"
    turns = [s for s in traj.steps if isinstance(s, SubAgentStep)]
    assert [s.output for s in turns] == ["facts", "essay"]
    assert traj.outcome is not None and traj.outcome.final_output == "essay"
    # The same system, converted and run natively, has the same shape.
    native = get_adapter("native").run(
        to_spec(graph).spec, "write about x", model=ScriptedModel(script)
    )
    assert tree(native) == expected


def test_failing_graph_still_returns_its_trajectory() -> None:
    model = ScriptedModel([{"tool_calls": [call("divide", a=1, b=0)]}])
    traj = record(docs.react_agent(model), "1/0")
    assert traj.outcome is not None and traj.outcome.status.value == "error"
    step = next(s for s in traj.steps if isinstance(s, ToolStep))
    assert step.error is not None and step.error.type == "ZeroDivisionError"


def test_bridge_streams_tool_call_chunks() -> None:
    from nex_langgraph import bridge_model

    model = ScriptedModel(
        {"agents": {"x": [{"text": "hi", "tool_calls": [call("add", a=1, b=2)]}]}}
    )
    llm = bridge_model(model, agent="x").bind_tools([docs.add])
    chunks = list(llm.stream("add"))
    assert any(c.tool_call_chunks for c in chunks)
    merged = chunks[0]
    for c in chunks[1:]:
        merged = merged + c
    assert merged.tool_calls == [
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "call_1", "type": "tool_call"}
    ]
    assert model.calls[0].agent == "x" and [t.name for t in model.calls[0].request.tools] == ["add"]
    assert isinstance(merged, AIMessage)
