"""The native runtime's human approval: pause before the batch, resume from the trajectory."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from native_helpers import agent, call, params, run, sub, tool

from nex_core.errors import SpecError
from nex_core.models.scripted import ScriptedModel
from nex_core.protocol.approval import Decision
from nex_core.runtime.resume import resume_native
from nex_core.trajectory.schema import InputStep, OutcomeStatus, ToolStep, Trajectory

RAN: list[tuple[str, Any]] = []


def send(to: str) -> str:
    RAN.append(("send", to))
    return f"sent to {to}"


def look(q: str) -> str:
    RAN.append(("look", q))
    return f"found {q}"


def spec(**kw: Any) -> Any:
    return agent(
        "a",
        tool(send, params(to="string"), approval="required"),
        tool(look, params(q="string")),
        **kw,
    )


def resume(spec: Any, paused: Trajectory, decision: Any, model: ScriptedModel) -> Trajectory:
    return asyncio.run(resume_native(spec, paused, decision, model=model))


@pytest.fixture(autouse=True)
def _clear() -> None:
    RAN.clear()


def tools_of(traj: Trajectory) -> list[ToolStep]:
    return [s for s in traj.steps if isinstance(s, ToolStep)]


def test_pause_holds_the_whole_batch_and_approve_runs_it_in_order() -> None:
    s = spec()
    model = ScriptedModel(
        [
            {
                "tool_calls": [
                    call("look", {"q": "x"}, id="c1"),
                    call("send", {"to": "bo"}, id="c2"),
                ]
            },
            {"text": "done"},
        ]
    )
    paused, _ = run(s, model)
    assert paused.outcome is not None
    assert paused.outcome.status is OutcomeStatus.INTERRUPTED
    assert paused.outcome.stop_reason == "approval_required"
    assert paused.outcome.pending == [
        {
            "type": "tool_approval",
            "agent": "a",
            "tool": "send",
            "tool_call_id": "c2",
            "arguments": {"to": "bo"},
        }
    ]
    assert tools_of(paused) == [] and RAN == []  # not even the call that needs no approval
    assert paused.session_id == paused.id

    again = Trajectory.model_validate_json(paused.to_json())  # as read from a file
    resumed = resume(s, again, Decision(action="approve"), model)
    assert resumed.outcome is not None and resumed.outcome.status is OutcomeStatus.COMPLETED
    assert resumed.outcome.final_output == "done"
    assert resumed.session_id == paused.session_id and resumed.id != paused.id
    first = resumed.steps[0]
    assert isinstance(first, InputStep) and first.mode == "resume"
    assert first.value == {"c2": {"action": "approve"}}
    assert [(t.call_id, t.name) for t in tools_of(resumed)] == [("c1", "look"), ("c2", "send")]
    assert sorted(RAN) == [("look", "x"), ("send", "bo")]
    # The model's next call sees the whole conversation, system prompt first, once.
    messages = model.calls[1].request.messages
    assert [m.role for m in messages] == ["system", "user", "assistant", "tool", "tool"]


def test_reject_feeds_the_message_back_and_records_tool_call_rejected() -> None:
    s = spec()
    model = ScriptedModel([{"tool_calls": [call("send", {"to": "bo"}, id="c1")]}, {"text": "ok"}])
    paused, _ = run(s, model)
    resumed = resume(s, paused, Decision(action="reject", message="not bo"), model)
    (step,) = tools_of(resumed)
    assert step.error is not None
    assert (step.error.type, step.error.message) == ("ToolCallRejected", "not bo")
    assert RAN == []
    seen = [m.text() for m in model.calls[1].request.messages if m.role == "tool"]
    assert seen == ["not bo"]

    # Without a message the contract's default text, in the record and for the model alike.
    model = ScriptedModel([{"tool_calls": [call("send", {"to": "bo"}, id="c1")]}, {"text": "ok"}])
    paused, _ = run(s, model)
    resumed = resume(s, paused, Decision(action="reject"), model)
    default = "The user rejected the call to 'send'."
    assert tools_of(resumed)[0].error.message == default  # type: ignore[union-attr]
    assert [m.text() for m in model.calls[1].request.messages if m.role == "tool"] == [default]


def test_edit_runs_the_tool_with_the_humans_arguments() -> None:
    s = spec()
    model = ScriptedModel([{"tool_calls": [call("send", {"to": "bo"}, id="c1")]}, {"text": "ok"}])
    paused, _ = run(s, model)
    resumed = resume(s, paused, Decision(action="edit", arguments={"to": "al"}), model)
    (step,) = tools_of(resumed)
    assert step.arguments == {"to": "al"} and step.result == "sent to al"
    assert RAN == [("send", "al")]


def test_two_pending_calls_take_one_decision_each_and_a_later_pause_pauses_again() -> None:
    s = spec()
    model = ScriptedModel(
        [
            {
                "tool_calls": [
                    call("send", {"to": "x"}, id="c1"),
                    call("send", {"to": "y"}, id="c2"),
                ]
            },
            {"tool_calls": [call("send", {"to": "z"}, id="c3")]},
            {"text": "fin"},
        ]
    )
    paused, _ = run(s, model)
    assert paused.outcome is not None and paused.outcome.pending is not None
    assert [p["tool_call_id"] for p in paused.outcome.pending] == ["c1", "c2"]
    with pytest.raises(ValueError, match="no decision for pending call c2"):
        resume(s, paused, {"c1": Decision(action="approve")}, model)
    with pytest.raises(ValueError, match="no pending call with id c9"):
        resume(s, paused, {"c9": Decision(action="approve")}, model)
    second = resume(
        s, paused, {"c1": Decision(action="approve"), "c2": Decision(action="reject")}, model
    )
    assert RAN == [("send", "x")]
    assert second.outcome is not None and second.outcome.status is OutcomeStatus.INTERRUPTED
    assert second.session_id == paused.session_id
    assert [p["tool_call_id"] for p in second.outcome.pending or []] == ["c3"]
    third = resume(s, second, Decision(action="approve"), model)
    assert third.outcome is not None and third.outcome.final_output == "fin"
    assert third.session_id == paused.session_id
    assert RAN == [("send", "x"), ("send", "z")]


def test_later_turns_run_after_the_resumed_one() -> None:
    s = spec()
    model = ScriptedModel(
        [{"tool_calls": [call("send", {"to": "x"}, id="c1")]}, {"text": "one"}, {"text": "two"}]
    )
    paused, _ = run(s, model, "first", "second")
    resumed = resume(s, paused, Decision(action="approve"), model)
    assert resumed.outcome is not None and resumed.outcome.final_output == "two"
    assert [m.text() for m in model.calls[2].request.messages if m.role == "user"] == [
        "first",
        "second",
    ]


def test_a_handoff_childs_pause_resumes_in_the_child() -> None:
    child = agent("b", tool(send, params(to="string"), approval="required"))
    root = agent("a", subs=[sub(child, "handoff")])
    model = ScriptedModel(
        [
            {"tool_calls": [call("transfer_to_b", {}, id="h1")]},
            {"tool_calls": [call("send", {"to": "x"}, id="c1")]},
            {"text": "b done"},
        ]
    )
    paused, _ = run(root, model)
    assert paused.outcome is not None and paused.outcome.pending is not None
    assert paused.outcome.pending[0]["agent"] == "b"
    resumed = resume(root, paused, Decision(action="approve"), model)
    assert resumed.outcome is not None and resumed.outcome.final_output == "b done"
    assert model.calls[2].request.messages[0].text() == "You are b."


def test_resuming_what_did_not_pause_is_a_clear_error() -> None:
    s = spec()
    done, model = run(s, [{"text": "hi"}])
    with pytest.raises(ValueError, match="not paused for approval \\(outcome: completed\\)"):
        resume(s, done, Decision(action="approve"), model)
    with pytest.raises(SpecError, match="paused agent 'a' is not in spec"):
        model = ScriptedModel([{"tool_calls": [call("send", {"to": "x"}, id="c1")]}])
        paused, _ = run(s, model)
        resume(agent("other"), paused, Decision(action="approve"), model)
