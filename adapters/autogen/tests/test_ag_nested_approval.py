"""Tool approval inside an agent used as a tool: the child's pause pauses the whole run (the
enclosing tool and sub-agent steps closed ``cancelled`` with ``metadata.pending``, requests with
a ``path``), and a resume from the trajectory alone carries the call on under its id: the child
runs the decided call, answers, and the parent reads that answer. Every record equals the
native runtime's under ``normalize``; paused runs go through JSON."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import ag_toolbox
import pytest
from nex_autogen import AutogenAdapter

from nex_core import ScriptedModel, TaskInfo, normalize, run_native
from nex_core.protocol.approval import Decision
from nex_core.protocol.spec import AgentSpec, SubAgentSpec, TeamSpec, Termination, ToolSpec
from nex_core.runtime.resume import resume_native
from nex_core.trajectory.schema import (
    InputStep,
    OutcomeStatus,
    StepStatus,
    SubAgentStep,
    ToolStep,
    Trajectory,
)

TEXT = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
PUBLISH = ToolSpec(
    name="publish",
    description="Publish a text.",
    parameters=TEXT,
    binding="ag_toolbox:publish",
    approval="required",
)
NOTE = ToolSpec(name="note", description="Take a note.", parameters=TEXT, binding="ag_toolbox:note")
PUBLISHER = AgentSpec(
    name="publisher", description="Publishes.", system_prompt="Publish.", tools=[PUBLISH]
)
BOSS = AgentSpec(
    name="boss",
    system_prompt="Delegate.",
    tools=[NOTE],
    sub_agents=[SubAgentSpec(agent=PUBLISHER, mode="tool")],
)
MID = AgentSpec(
    name="mid",
    description="Delegates on.",
    system_prompt="Pass it on.",
    sub_agents=[SubAgentSpec(agent=PUBLISHER, mode="tool")],
)
TOP = AgentSpec(name="top", system_prompt="Delegate.", sub_agents=[SubAgentSpec(agent=MID)])
"""top → mid → publisher, two agent-tool levels."""


def call(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": call_id, "name": name, "arguments": arguments}


@pytest.fixture(autouse=True)
def fresh_log() -> None:
    ag_toolbox.RAN.clear()


def chain(
    spec: AgentSpec | TeamSpec, script: dict[str, Any], turns: list[str], decisions: list[Any]
) -> tuple[list[Trajectory], list[Trajectory], list[Any], list[Any]]:
    """Native and autogen runs of ``spec`` (the first, then one resume per decision) and what
    each backend's tools ran."""

    async def native() -> list[Trajectory]:
        model = ScriptedModel(script)
        runs = [await run_native(spec, TaskInfo(turns=turns), model=model)]
        for decision in decisions:
            runs.append(await resume_native(spec, runs[-1], decision, model=model))
        return runs

    async def autogen() -> list[Trajectory]:
        model, adapter = ScriptedModel(script), AutogenAdapter()
        runs = [await adapter.arun(spec, TaskInfo(turns=turns), model=model)]
        for decision in decisions:
            paused = Trajectory.model_validate_json(runs[-1].to_json())
            runs.append(await adapter.aresume(spec, paused, decision, model=model))
        return runs

    ran_natively = asyncio.run(native())
    native_log = list(ag_toolbox.RAN)
    ag_toolbox.RAN.clear()
    ran = asyncio.run(autogen())
    return ran_natively, ran, native_log, list(ag_toolbox.RAN)


def assert_parity(native: list[Trajectory], autogen: list[Trajectory]) -> None:
    for n, a in zip(native, autogen, strict=True):
        assert normalize(a) == normalize(n), json.dumps(normalize(a), indent=1)


TO_PUBLISHER = call("c_sub", "publisher", task="Publish hi.")


@pytest.mark.parametrize(
    ("decision", "ran"),
    [
        (Decision(action="approve"), [("publish", {"text": "hi"})]),
        (Decision(action="reject", message="not today"), []),
        (Decision(action="edit", arguments={"text": "hello"}), [("publish", {"text": "hello"})]),
    ],
)
def test_a_pause_in_an_agent_tool_pauses_the_run_and_resumes_in_place(
    decision: Decision, ran: list[Any]
) -> None:
    script = {
        "agents": {
            "boss": [{"tool_calls": [TO_PUBLISHER]}, {"text": "Done."}],
            "publisher": [{"tool_calls": [call("c_pub", "publish", text="hi")]}, {"text": "Ok."}],
        }
    }
    native, (paused, resumed), native_ran, autogen_ran = chain(BOSS, script, ["go"], [decision])
    assert_parity(native, [paused, resumed])
    assert paused.outcome is not None and paused.outcome.status is OutcomeStatus.INTERRUPTED
    (request,) = paused.outcome.pending or []
    assert request["agent"] == "publisher" and request["path"] == ["boss", "publisher"]
    tool = next(s for s in paused.steps if isinstance(s, ToolStep))
    sub = next(s for s in paused.steps if isinstance(s, SubAgentStep))
    for step in (tool, sub):
        assert step.status is StepStatus.CANCELLED and step.error is None
        assert step.metadata["pending"] == ["c_pub"]
    first = resumed.steps[0]
    assert isinstance(first, InputStep) and first.agent == "publisher"
    carried = next(s for s in resumed.steps if isinstance(s, ToolStep) and s.call_id == "c_sub")
    assert carried.result == "Ok." and "resumed_batch" in carried.metadata
    assert resumed.outcome is not None and resumed.outcome.final_output == "Done."
    assert resumed.session_id == paused.session_id
    assert autogen_ran == native_ran == ran


def test_a_parallel_sibling_of_the_paused_call_is_not_run_again() -> None:
    script = {
        "agents": {
            "boss": [
                {"tool_calls": [call("c_note", "note", text="n"), TO_PUBLISHER]},
                {"text": "Done."},
            ],
            "publisher": [{"tool_calls": [call("c_pub", "publish", text="hi")]}, {"text": "Ok."}],
        }
    }
    native, autogen, native_ran, autogen_ran = chain(
        BOSS, script, ["go"], [Decision(action="approve")]
    )
    assert_parity(native, autogen)
    assert autogen_ran == native_ran == [("note", {"text": "n"}), ("publish", {"text": "hi"})]


def test_a_sequential_batch_stops_at_the_paused_call_and_runs_the_rest_when_resumed() -> None:
    spec = BOSS.model_copy(update={"parallel_tool_calls": False})
    script = {
        "agents": {
            "boss": [
                {"tool_calls": [TO_PUBLISHER, call("c_note", "note", text="n")]},
                {"text": "Done."},
            ],
            "publisher": [{"tool_calls": [call("c_pub", "publish", text="hi")]}, {"text": "Ok."}],
        }
    }
    native, autogen, native_ran, autogen_ran = chain(
        spec, script, ["go"], [Decision(action="approve")]
    )
    assert_parity(native, autogen)
    paused = autogen[0]
    assert not any(isinstance(s, ToolStep) and s.name == "note" for s in paused.steps)
    assert autogen_ran == native_ran == [("publish", {"text": "hi"}), ("note", {"text": "n"})]


def test_two_levels_deep_paused_twice_records_what_native_records() -> None:
    """top → mid → publisher; the publisher asks twice (a second pause inside the call the
    first resume carried on, at two levels), then everyone answers."""
    script = {
        "agents": {
            "top": [{"tool_calls": [call("c_mid", "mid", task="Get it out.")]}, {"text": "Out."}],
            "mid": [{"tool_calls": [TO_PUBLISHER]}, {"text": "Passed on."}],
            "publisher": [
                {"tool_calls": [call("c_pub", "publish", text="one")]},
                {"tool_calls": [call("c_pub2", "publish", text="two")]},
                {"text": "Both."},
            ],
        }
    }
    approve = Decision(action="approve")
    native, autogen, native_ran, autogen_ran = chain(TOP, script, ["go"], [approve, approve])
    assert_parity(native, autogen)
    first, second, third = autogen
    assert first.outcome is not None and second.outcome is not None
    assert [p["path"] for p in first.outcome.pending or []] == [["top", "mid", "publisher"]]
    assert second.outcome.status is OutcomeStatus.INTERRUPTED
    assert [p["tool_call_id"] for p in second.outcome.pending or []] == ["c_pub2"]
    assert third.outcome is not None and third.outcome.final_output == "Out."
    assert len({t.session_id for t in autogen}) == 1
    assert autogen_ran == native_ran == [("publish", {"text": "one"}), ("publish", {"text": "two"})]


def test_a_later_user_turn_runs_after_the_resumed_call() -> None:
    script = {
        "agents": {
            "boss": [{"tool_calls": [TO_PUBLISHER]}, {"text": "Done."}, {"text": "Bye."}],
            "publisher": [{"tool_calls": [call("c_pub", "publish", text="hi")]}, {"text": "Ok."}],
        }
    }
    native, autogen, _, _ = chain(BOSS, script, ["go", "thanks"], [Decision(action="approve")])
    assert_parity(native, autogen)
    assert autogen[1].outcome is not None and autogen[1].outcome.final_output == "Bye."


def test_run_stream_mode_pauses_and_resumes_the_same_way() -> None:
    script = {
        "agents": {
            "boss": [{"tool_calls": [TO_PUBLISHER]}, {"text": "Done."}],
            "publisher": [{"tool_calls": [call("c_pub", "publish", text="hi")]}, {"text": "Ok."}],
        }
    }

    async def streamed() -> list[Trajectory]:
        model, adapter = ScriptedModel(script), AutogenAdapter()
        paused = await adapter.arun(BOSS, "go", model=model, mode="run_stream")
        paused = Trajectory.model_validate_json(paused.to_json())
        resumed = await adapter.aresume(
            BOSS, paused, Decision(action="approve"), model=model, mode="run_stream"
        )
        return [paused, resumed]

    native, _, _, _ = chain(BOSS, script, ["go"], [Decision(action="approve")])
    assert_parity(native, asyncio.run(streamed()))


# --------------------------------------------------------------------------- team members

WRITER = AgentSpec(name="writer", system_prompt="Write.")
CREW = TeamSpec(
    name="crew",
    members=[WRITER, PUBLISHER],
    speaker_selection="round_robin",
    termination=Termination(max_turns=3),
)


def team_chain(
    spec: TeamSpec, script: dict[str, Any], turns: list[str], decisions: list[Any]
) -> tuple[list[Trajectory], list[Trajectory], list[Any], list[Any]]:
    return chain(spec, script, turns, decisions)


@pytest.mark.parametrize(
    "decision", [Decision(action="approve"), Decision(action="reject", message="no")]
)
def test_a_pause_in_a_team_member_carries_its_turn_on_and_the_team_goes_on(
    decision: Decision,
) -> None:
    script = {
        "agents": {
            "writer": [{"text": "Draft."}, {"text": "Final."}],
            "publisher": [
                {"tool_calls": [call("c_pub", "publish", text="Draft.")]},
                {"text": "Ok."},
            ],
        }
    }
    native, autogen, native_ran, autogen_ran = team_chain(CREW, script, ["go"], [decision])
    assert_parity(native, autogen)
    paused, resumed = autogen
    assert paused.outcome is not None
    assert [p["path"] for p in paused.outcome.pending or []] == [["crew", "publisher"]]
    turn = [s for s in paused.steps if isinstance(s, SubAgentStep)][-1]
    assert turn.status is StepStatus.CANCELLED and turn.metadata["pending"] == ["c_pub"]
    assert resumed.outcome is not None and resumed.outcome.final_output == "Final."
    assert autogen_ran == native_ran


def test_a_member_paused_twice_in_one_turn() -> None:
    script = {
        "agents": {
            "writer": [{"text": "Draft."}, {"text": "Final."}],
            "publisher": [
                {"tool_calls": [call("c_pub", "publish", text="Draft.")]},
                {"tool_calls": [call("c_pub2", "publish", text="Draft 2.")]},
                {"text": "Ok."},
            ],
        }
    }
    approve = Decision(action="approve")
    native, autogen, native_ran, autogen_ran = team_chain(CREW, script, ["go"], [approve, approve])
    assert_parity(native, autogen)
    assert autogen_ran == native_ran


def test_an_agent_a_member_uses_as_a_tool_pauses_the_team() -> None:
    member = AgentSpec(
        name="lead", system_prompt="Lead.", sub_agents=[SubAgentSpec(agent=PUBLISHER)]
    )
    team = CREW.model_copy(update={"members": [WRITER, member]})
    script = {
        "agents": {
            "writer": [{"text": "Draft."}, {"text": "Final."}],
            "lead": [{"tool_calls": [TO_PUBLISHER]}, {"text": "Led."}],
            "publisher": [{"tool_calls": [call("c_pub", "publish", text="hi")]}, {"text": "Ok."}],
        }
    }
    native, autogen, native_ran, autogen_ran = team_chain(
        team, script, ["go"], [Decision(action="approve")]
    )
    assert_parity(native, autogen)
    paused = autogen[0]
    assert paused.outcome is not None
    assert [p["path"] for p in paused.outcome.pending or []] == [["crew", "lead", "publisher"]]
    assert autogen_ran == native_ran == [("publish", {"text": "hi"})]


@pytest.mark.parametrize(
    "termination",
    [Termination(max_turns=2), Termination(max_turns=4, text_mention="DONE")],
)
def test_a_carried_turn_that_ends_the_team_ends_it(termination: Termination) -> None:
    """The member's answer after the resume uses the last turn or says the stop text: the team
    does not go on."""
    team = CREW.model_copy(update={"termination": termination})
    script = {
        "agents": {
            "writer": [{"text": "Draft."}, {"text": "Later."}],
            "publisher": [
                {"tool_calls": [call("c_pub", "publish", text="Draft.")]},
                {"text": "Ok. DONE"},
            ],
        }
    }
    native, autogen, _, _ = team_chain(team, script, ["go"], [Decision(action="approve")])
    assert_parity(native, autogen)
    resumed = autogen[1]
    assert resumed.outcome is not None and resumed.outcome.final_output == "Ok. DONE"


def test_the_task_turn_after_a_carried_last_team_turn_runs() -> None:
    team = CREW.model_copy(update={"termination": Termination(max_turns=2)})
    script = {
        "agents": {
            "writer": [{"text": "Draft."}, {"text": "Later."}],
            "publisher": [
                {"tool_calls": [call("c_pub", "publish", text="Draft.")]},
                {"text": "Ok."},
                {"text": "Again."},
            ],
        }
    }
    native, autogen, _, _ = team_chain(team, script, ["go", "more"], [Decision(action="approve")])
    assert_parity(native, autogen)
    resumed = autogen[1]
    assert resumed.outcome is not None and resumed.outcome.final_output == "Again."


def test_a_selector_team_resumes_without_choosing_the_paused_speaker_again() -> None:
    """AutoGen's selector prompt is its own (``teams_selector`` is not declared), so this checks
    the run, not parity: the selector's model is asked for turns 1, 2 and 3, once each."""
    team = CREW.model_copy(update={"speaker_selection": "selector"})
    script = {
        "agents": {
            "crew": [{"text": "writer"}, {"text": "publisher"}, {"text": "writer"}],
            "writer": [{"text": "Draft."}, {"text": "Final."}],
            "publisher": [
                {"tool_calls": [call("c_pub", "publish", text="Draft.")]},
                {"text": "Ok."},
            ],
        }
    }

    async def run() -> list[Trajectory]:
        model, adapter = ScriptedModel(script), AutogenAdapter()
        paused = await adapter.arun(team, "go", model=model)
        paused = Trajectory.model_validate_json(paused.to_json())
        approve = Decision(action="approve")
        return [paused, await adapter.aresume(team, paused, approve, model=model)]

    paused, resumed = asyncio.run(run())
    assert paused.outcome is not None and paused.outcome.status is OutcomeStatus.INTERRUPTED
    assert resumed.outcome is not None and resumed.outcome.final_output == "Final."
    turns = [s.child for s in resumed.steps if isinstance(s, SubAgentStep)]
    assert turns == ["publisher", "writer"]
    assert ag_toolbox.RAN == [("publish", {"text": "Draft."})]


def test_a_written_program_pauses_in_its_agent_tool_and_the_spec_resumes_it() -> None:
    adapter = AutogenAdapter()
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(adapter.to_code(BOSS), "generated.py", "exec"), namespace)
    script = {
        "agents": {
            "boss": [{"tool_calls": [TO_PUBLISHER]}, {"text": "Done."}],
            "publisher": [{"tool_calls": [call("c_pub", "publish", text="hi")]}, {"text": "Ok."}],
        }
    }
    model = ScriptedModel(script)
    paused = asyncio.run(adapter.arecord(namespace["build"](model), "go"))
    assert paused.outcome is not None and paused.outcome.status is OutcomeStatus.INTERRUPTED
    assert [p["path"] for p in paused.outcome.pending or []] == [["boss", "publisher"]]
    assert ag_toolbox.RAN == []
    resumed = adapter.resume(BOSS, paused, Decision(action="approve"), model=model)
    assert resumed.outcome is not None and resumed.outcome.final_output == "Done."
    assert ag_toolbox.RAN == [("publish", {"text": "hi"})]


def test_a_written_team_program_pauses_in_its_member_and_the_spec_resumes_it() -> None:
    adapter = AutogenAdapter()
    source = adapter.to_code(CREW)
    assert "FunctionalTermination(paused_turn)" in source
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(source, "generated.py", "exec"), namespace)
    script = {
        "agents": {
            "writer": [{"text": "Draft."}, {"text": "Final."}],
            "publisher": [
                {"tool_calls": [call("c_pub", "publish", text="Draft.")]},
                {"text": "Ok."},
            ],
        }
    }
    model = ScriptedModel(script)
    paused = asyncio.run(adapter.arecord(namespace["build"](model), "go"))
    assert paused.outcome is not None and paused.outcome.status is OutcomeStatus.INTERRUPTED
    assert [p["path"] for p in paused.outcome.pending or []] == [["crew", "publisher"]]
    assert ag_toolbox.RAN == []
    resumed = adapter.resume(CREW, paused, Decision(action="approve"), model=model)
    assert resumed.outcome is not None and resumed.outcome.final_output == "Final."
    assert ag_toolbox.RAN == [("publish", {"text": "Draft."})]
    # The written program records what the spec's own build records.
    native, _, _, _ = team_chain(CREW, script, ["go"], [Decision(action="approve")])
    assert normalize(paused) == normalize(native[0])
