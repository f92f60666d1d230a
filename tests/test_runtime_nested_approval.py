"""Approval inside an agent-as-tool and a team member: the whole run pauses, and the resume
carries the enclosing tool call / team turn on from the trajectory alone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from native_helpers import agent, call, params, run, sub, tool

from nex_core.models.scripted import ScriptedModel
from nex_core.protocol.approval import Decision
from nex_core.protocol.spec import TeamSpec, Termination
from nex_core.runtime.approval import PENDING_KEY, RESUMED_BATCH_KEY
from nex_core.runtime.resume import resume_native
from nex_core.trajectory.schema import (
    InputStep,
    LLMStep,
    OutcomeStatus,
    StepStatus,
    SubAgentStep,
    ToolStep,
    Trajectory,
)

RAN: list[tuple[str, Any]] = []


def send(to: str) -> str:
    RAN.append(("send", to))
    return f"sent to {to}"


def look(q: str) -> str:
    RAN.append(("look", q))
    return f"found {q}"


@pytest.fixture(autouse=True)
def _clear() -> None:
    RAN.clear()


def resume(spec: Any, paused: Trajectory, decision: Any, model: ScriptedModel) -> Trajectory:
    # Read back from JSON first: the resume must need nothing but the recorded trajectory.
    again = Trajectory.model_validate_json(paused.to_json())
    return asyncio.run(resume_native(spec, again, decision, model=model))


def mailer(**kw: Any) -> Any:
    return agent("mailer", tool(send, params(to="string"), approval="required"), **kw)


def boss(*children: Any, **kw: Any) -> Any:
    return agent("boss", tool(look, params(q="string")), subs=[sub(c) for c in children], **kw)


def task(text: str, id: str) -> dict[str, Any]:
    return call("mailer", {"task": text}, id=id)


def step(traj: Trajectory, kind: type, **match: Any) -> Any:
    found = [
        s
        for s in traj.steps
        if isinstance(s, kind) and all(getattr(s, k) == v for k, v in match.items())
    ]
    assert len(found) == 1, (kind, match, found)
    return found[0]


def status(traj: Trajectory) -> OutcomeStatus:
    assert traj.outcome is not None
    return traj.outcome.status


def test_a_sub_agents_pause_pauses_the_run_and_parallel_siblings_are_not_run_again() -> None:
    spec = boss(mailer())
    model = ScriptedModel(
        {
            "agents": {
                "boss": [
                    {"tool_calls": [call("look", {"q": "x"}, id="b1"), task("mail bo", "b2")]},
                    {"text": "all done"},
                ],
                "mailer": [
                    {"tool_calls": [call("send", {"to": "bo"}, id="m1")]},
                    {"text": "mailed bo"},
                ],
            }
        }
    )
    paused, _ = run(spec, model)
    assert status(paused) is OutcomeStatus.INTERRUPTED
    assert paused.outcome is not None and paused.outcome.pending == [
        {
            "type": "tool_approval",
            "agent": "mailer",
            "tool": "send",
            "tool_call_id": "m1",
            "arguments": {"to": "bo"},
            "path": ["boss", "mailer"],
        }
    ]
    assert RAN == [("look", "x")]  # the parallel sibling ran; the approval call did not
    open_call = step(paused, ToolStep, call_id="b2")
    open_sub = step(paused, SubAgentStep, call_id="b2")
    for s in (open_call, open_sub):
        assert (s.status, s.error, s.metadata[PENDING_KEY]) == (StepStatus.CANCELLED, None, ["m1"])
    assert open_sub.parent_id == open_call.id
    asked = step(paused, LLMStep, agent="mailer")
    assert asked.parent_id == open_sub.id  # the pause is visible under the sub-agent's step

    resumed = resume(spec, paused, Decision(action="approve"), model)
    assert status(resumed) is OutcomeStatus.COMPLETED
    assert resumed.outcome is not None and resumed.outcome.final_output == "all done"
    assert RAN == [("look", "x"), ("send", "bo")]  # look is not run again
    assert isinstance(resumed.steps[0], InputStep)
    again = step(resumed, ToolStep, call_id="b2")
    assert again.result == "mailed bo" and again.parent_id is None
    assert step(resumed, SubAgentStep, call_id="b2").parent_id == again.id
    assert step(resumed, ToolStep, call_id="m1").result == "sent to bo"
    # The parent reads both results in the batch's order, the sibling's from the paused run.
    tools = [m.text() for m in model.calls[-1].request.messages if m.role == "tool"]
    assert tools == ["found x", "mailed bo"]


def test_a_sequential_batch_stops_at_the_paused_call_and_the_resume_runs_the_rest() -> None:
    spec = boss(mailer(), parallel_tool_calls=False)
    model = ScriptedModel(
        {
            "agents": {
                "boss": [
                    {"tool_calls": [task("mail bo", "b1"), call("look", {"q": "y"}, id="b2")]},
                    {"text": "done"},
                ],
                "mailer": [{"tool_calls": [call("send", {"to": "bo"}, id="m1")]}, {"text": "ok"}],
            }
        }
    )
    paused, _ = run(spec, model)
    assert status(paused) is OutcomeStatus.INTERRUPTED and RAN == []
    resumed = resume(spec, paused, Decision(action="reject", message="no"), model)
    assert status(resumed) is OutcomeStatus.COMPLETED
    assert RAN == [("look", "y")]
    rejected = step(resumed, ToolStep, call_id="m1")
    assert rejected.error is not None and rejected.error.type == "ToolCallRejected"


def test_a_second_pause_in_the_carried_call_resumes_from_the_resumed_run_alone() -> None:
    spec = boss(mailer())
    model = ScriptedModel(
        {
            "agents": {
                "boss": [
                    {"tool_calls": [call("look", {"q": "x"}, id="b1"), task("mail two", "b2")]},
                    {"text": "both mailed"},
                ],
                "mailer": [
                    {"tool_calls": [call("send", {"to": "bo"}, id="m1")]},
                    {"tool_calls": [call("send", {"to": "al"}, id="m2")]},
                    {"text": "mailed both"},
                ],
            }
        }
    )
    paused, _ = run(spec, model)
    middle = resume(spec, paused, Decision(action="approve"), model)
    assert status(middle) is OutcomeStatus.INTERRUPTED
    assert middle.outcome is not None and middle.outcome.pending[0]["tool_call_id"] == "m2"
    carried = step(middle, ToolStep, call_id="b2")
    assert carried.metadata[RESUMED_BATCH_KEY]["done"] == {"b1": ["found x", True]}
    assert middle.session_id == paused.session_id
    last = resume(spec, middle, Decision(action="approve"), model)
    assert status(last) is OutcomeStatus.COMPLETED
    assert last.outcome is not None and last.outcome.final_output == "both mailed"
    assert RAN == [("look", "x"), ("send", "bo"), ("send", "al")]
    tools = [m.text() for m in model.calls[-1].request.messages if m.role == "tool"]
    assert tools == ["found x", "mailed both"]
    assert model.remaining() == 0


def test_two_levels_deep_and_two_paused_sub_agents_in_one_batch() -> None:
    inner = mailer()
    middle = agent("middle", subs=[sub(inner)])
    other = agent("other", tool(send, params(to="string"), approval="required"))
    spec = agent("top", subs=[sub(middle), sub(other)])
    model = ScriptedModel(
        {
            "agents": {
                "top": [
                    {
                        "tool_calls": [
                            call("middle", {"task": "go"}, id="t1"),
                            call("other", {"task": "go"}, id="t2"),
                        ]
                    },
                    {"text": "top done"},
                ],
                "middle": [{"tool_calls": [task("mail", "d1")]}, {"text": "middle done"}],
                "mailer": [{"tool_calls": [call("send", {"to": "a"}, id="m1")]}, {"text": "m"}],
                "other": [{"tool_calls": [call("send", {"to": "b"}, id="o1")]}, {"text": "o"}],
            }
        }
    )
    paused, _ = run(spec, model)
    assert paused.outcome is not None
    paths = {p["tool_call_id"]: p["path"] for p in paused.outcome.pending or []}
    assert paths == {"m1": ["top", "middle", "mailer"], "o1": ["top", "other"]}
    decisions = {"m1": Decision(action="approve"), "o1": Decision(action="reject")}
    resumed = resume(spec, paused, decisions, model)
    assert status(resumed) is OutcomeStatus.COMPLETED
    assert RAN == [("send", "a")]
    assert step(resumed, ToolStep, call_id="t1").result == "middle done"
    assert step(resumed, ToolStep, call_id="t2").result == "o"


def team(selection: str = "round_robin") -> TeamSpec:
    return TeamSpec(
        name="crew",
        members=[agent("writer", description="writes"), mailer(description="mails")],
        speaker_selection=selection,  # type: ignore[arg-type]
        termination=Termination(max_turns=3),
    )


@pytest.mark.parametrize("selection", ["round_robin", "model"])
def test_a_team_members_pause_resumes_its_turn_without_choosing_again(selection: str) -> None:
    spec = team(selection)
    selector = [{"text": "writer"}, {"text": "mailer"}, {"text": "writer"}]
    agents: dict[str, Any] = {
        "writer": [{"text": "draft"}, {"text": "final"}],
        "mailer": [{"tool_calls": [call("send", {"to": "bo"}, id="m1")]}, {"text": "sent"}],
    }
    if selection == "model":
        agents["crew"] = selector
    model = ScriptedModel({"agents": agents})
    paused, _ = run(spec, model, "mail the draft")
    assert status(paused) is OutcomeStatus.INTERRUPTED
    assert paused.outcome is not None
    assert paused.outcome.pending[0]["path"] == ["crew", "mailer"]  # type: ignore[index]
    turn = step(paused, SubAgentStep, child="mailer")
    assert (turn.status, turn.metadata[PENDING_KEY]) == (StepStatus.CANCELLED, ["m1"])
    resumed = resume(spec, paused, Decision(action="approve"), model)
    assert status(resumed) is OutcomeStatus.COMPLETED
    assert resumed.outcome is not None and resumed.outcome.final_output == "final"
    turns = [s.child for s in resumed.steps if isinstance(s, SubAgentStep)]
    assert turns == ["mailer", "writer"]
    # The last writer turn saw the transcript with the mailer's answer, as a user message.
    seen = [(m.role, m.text()) for m in model.calls[-1].request.messages[1:]]
    assert seen == [("user", "mail the draft"), ("assistant", "draft"), ("user", "sent")]
    assert model.remaining() == 0  # the selector was not asked again for the paused turn
