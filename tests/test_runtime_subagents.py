"""Sub-agents in the native runtime: agent-as-tool three deep, handoffs, teams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from native_helpers import agent, call, params, run, sub, tool

from nex_core.models.scripted import ScriptedModel
from nex_core.protocol import load_spec
from nex_core.protocol.spec import Limits, TeamSpec, Termination
from nex_core.runtime.tools import SUBAGENT_PARAMETERS
from nex_core.trajectory import normalize
from nex_core.trajectory.schema import (
    LLMStep,
    OutcomeStatus,
    StepStatus,
    SubAgentStep,
    ToolStep,
    Trajectory,
)


def depth_of(traj: Trajectory, step: Any) -> int:
    by_id = {s.id: s for s in traj.steps}
    d = 0
    while step.parent_id is not None:
        step = by_id[step.parent_id]
        d += 1
    return d


def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key}"


def three_deep() -> Any:
    leaf = agent("leaf", tool(lookup, params(key="string")), description="Looks things up.")
    middle = agent("middle", subs=[sub(leaf)], description="Delegates to leaf.")
    return agent("top", subs=[sub(middle)])


def test_agents_as_tools_nest_three_deep() -> None:
    script = {
        "agents": {
            "top": [
                {"tool_calls": [call("middle", {"task": "find x"}, id="t1")]},
                {"text": "top: value of x"},
            ],
            "middle": [
                {"tool_calls": [call("leaf", {"task": "look up x"}, id="m1")]},
                {"text": "middle: value of x"},
            ],
            "leaf": [
                {"tool_calls": [call("lookup", {"key": "x"}, id="l1")]},
                {"text": "value of x"},
            ],
        }
    }
    traj, model = run(three_deep(), script, "What is x?")
    assert traj.outcome is not None and traj.outcome.final_output == "top: value of x"
    subs = [s for s in traj.steps if isinstance(s, SubAgentStep)]
    assert [(s.child, s.mode, s.output) for s in subs] == [
        ("middle", "tool", "middle: value of x"),
        ("leaf", "tool", "value of x"),
    ]
    # The child gets only the task message: no parent history, its own system prompt.
    leaf_request = next(c.request for c in model.calls if c.agent == "leaf")
    assert [(m.role, m.text()) for m in leaf_request.messages] == [
        ("system", "You are leaf."),
        ("user", "look up x"),
    ]
    assert subs[1].input[0].text() == "look up x"
    # Tool step → sub-agent step → the child's steps, at every level.
    lookup_step = next(s for s in traj.steps if isinstance(s, ToolStep) and s.name == "lookup")
    assert depth_of(traj, lookup_step) == 4
    assert lookup_step.agent == "leaf"
    top_tool = next(s for s in traj.steps if isinstance(s, ToolStep) and s.name == "middle")
    assert top_tool.result == "middle: value of x"
    offered = model.calls[0].request.tools
    assert [(t.name, t.parameters) for t in offered] == [("middle", SUBAGENT_PARAMETERS)]


def test_parallel_sub_agents_each_nest_under_their_own_call() -> None:
    a = agent("alpha", tool(lookup, params(key="string")))
    b = agent("beta", tool(lookup, params(key="string")))
    boss = agent("boss", subs=[sub(a), sub(b)])
    script = {
        "agents": {
            "boss": [
                {"tool_calls": [call("alpha", {"task": "a"}), call("beta", {"task": "b"})]},
                {"text": "both done"},
            ],
            "alpha": [{"tool_calls": [call("lookup", {"key": "a"})]}, {"text": "A"}],
            "beta": [{"tool_calls": [call("lookup", {"key": "b"})]}, {"text": "B"}],
        }
    }
    traj, _ = run(boss, script)
    by_id = {s.id: s for s in traj.steps}
    for step in traj.steps:
        if isinstance(step, ToolStep) and step.name == "lookup":
            parent = by_id[step.parent_id or ""]
            assert isinstance(parent, SubAgentStep) and parent.child == step.agent
            assert step.arguments == {"key": step.agent[0]}  # type: ignore[index]


def test_a_failing_sub_agent_is_an_error_result_for_its_parent() -> None:
    def spin() -> str:
        return "again"

    child = agent("child", tool(spin), limits=Limits(max_steps=2))
    parent = agent("parent", subs=[sub(child)])
    script = {
        "agents": {
            "parent": [
                {"tool_calls": [call("child", {"task": "go", "extra": 1}, id="p")]},
                {"text": "ok"},
            ],
            "child": [{"tool_calls": [call("spin")]}] * 2,
        }
    }
    traj, model = run(parent, script)
    step = next(s for s in traj.steps if isinstance(s, ToolStep) and s.name == "child")
    assert step.status is StepStatus.ERROR and step.error is not None
    assert step.error.type == "SubAgentFailed" and "max_steps" in step.error.message
    seen = [m for m in model.calls[-1].request.messages if m.role == "tool"]
    assert seen[0].text().startswith("Error: SubAgentFailed: agent 'child' stopped")


def test_handoff_passes_the_history_and_the_new_agent_answers() -> None:
    billing = agent("billing", tool(lookup, params(key="string")), description="Billing questions.")
    triage = agent("triage", subs=[sub(billing, mode="handoff")])
    script = {
        "agents": {
            "triage": [
                {"text": "Passing you on.", "tool_calls": [call("transfer_to_billing", id="h1")]}
            ],
            "billing": [
                {"tool_calls": [call("lookup", {"key": "invoice"})]},
                {"text": "Your invoice is paid."},
                {"text": "Anything else is fine too."},
            ],
        }
    }
    traj, model = run(triage, script, "Is my invoice paid?", "Thanks!")
    handoff_tool = next(s for s in traj.steps if isinstance(s, ToolStep))
    assert (
        handoff_tool.name == "transfer_to_billing"
        and handoff_tool.result == "Transferred to billing."
    )
    (handoff,) = [s for s in traj.steps if isinstance(s, SubAgentStep)]
    assert handoff.mode == "handoff" and handoff.child == "billing"
    assert handoff.parent_id == handoff_tool.parent_id  # a sibling of the handoff tool call
    assert handoff.call_id == "h1" and handoff.output == "Your invoice is paid."
    # billing sees the whole conversation so far, including the transfer.
    billing_first = next(c.request for c in model.calls if c.agent == "billing")
    roles = [m.role for m in billing_first.messages]
    assert roles == ["system", "user", "assistant", "tool"]
    assert billing_first.messages[0].text() == "You are billing."
    # The second turn goes to the agent that answered the first.
    assert [c.agent for c in model.calls] == ["triage", "billing", "billing", "billing"]
    assert traj.outcome is not None and traj.outcome.final_output == "Anything else is fine too."


def team(selection: str, **kw: Any) -> TeamSpec:
    return TeamSpec(
        name="crew",
        members=[
            agent("writer", description="Writes drafts."),
            agent("critic", description="Reviews drafts."),
        ],
        speaker_selection=selection,  # type: ignore[arg-type]
        **kw,
    )


def test_round_robin_team_until_text_mention() -> None:
    spec = team("round_robin", termination=Termination(max_turns=6, text_mention="APPROVED"))
    script = {
        "agents": {
            "writer": [{"text": "draft 1"}, {"text": "draft 2"}],
            "critic": [{"text": "too short"}, {"text": "APPROVED"}],
        }
    }
    traj, model = run(spec, script, "Write a haiku.")
    turns = [s for s in traj.steps if isinstance(s, SubAgentStep)]
    assert [(s.child, s.mode, s.output) for s in turns] == [
        ("writer", "team_turn", "draft 1"),
        ("critic", "team_turn", "too short"),
        ("writer", "team_turn", "draft 2"),
        ("critic", "team_turn", "APPROVED"),
    ]
    assert traj.outcome is not None and traj.outcome.stop_reason == "text_mention:APPROVED"
    # Each member sees its own turns as assistant and the others' as named user messages.
    writer_second = [c for c in model.calls if c.agent == "writer"][1].request.messages
    assert [(m.role, m.name) for m in writer_second[1:]] == [
        ("user", None),
        ("assistant", None),
        ("user", "critic"),
    ]


def test_team_stops_at_max_turns() -> None:
    spec = team("round_robin", termination=Termination(max_turns=3))
    script = {"agents": {"writer": [{"text": "w1"}, {"text": "w2"}], "critic": [{"text": "c1"}]}}
    traj, _ = run(spec, script)
    assert traj.outcome is not None
    assert (traj.outcome.stop_reason, traj.outcome.final_output) == ("max_turns", "w2")


def test_selector_team_lets_the_model_pick() -> None:
    spec = team("model", termination=Termination(max_turns=2))
    script = {
        "agents": {
            "crew": [{"text": "critic"}, {"text": "The next speaker is writer."}],
            "writer": [{"text": "a draft"}],
            "critic": [{"text": "nothing to review yet"}],
        }
    }
    traj, model = run(spec, script, "Go.")
    turns = [s.child for s in traj.steps if isinstance(s, SubAgentStep)]
    assert turns == ["critic", "writer"]
    selector_calls = [c for c in model.calls if c.agent == "crew"]
    assert len(selector_calls) == 2
    assert "critic: nothing to review yet" in selector_calls[1].request.messages[1].text()
    picks = [s for s in traj.steps if isinstance(s, LLMStep) and s.agent == "crew"]
    assert len(picks) == 2


def test_research_example_runs(repo: Path) -> None:
    spec = load_spec(repo / "examples/research/orchestrator.yaml")
    model = ScriptedModel.from_file(repo / "examples/research/script.yaml")
    traj, _ = run(spec, model, "Write a note on the Eiffel Tower.")
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.COMPLETED
    assert model.remaining() == 0
    children = [s.child for s in traj.steps if isinstance(s, SubAgentStep)]
    assert sorted(children) == ["fact_checker", "researcher", "writer"]
    fact = next(s for s in traj.steps if isinstance(s, ToolStep) and s.name == "lookup_fact")
    assert fact.result == "330 metres" and depth_of(traj, fact) == 4
    # Deterministic: a second run has the same normal form.
    again, _ = run(
        spec,
        ScriptedModel.from_file(repo / "examples/research/script.yaml"),
        "Write a note on the Eiffel Tower.",
    )
    assert normalize(again) == normalize(traj)
