"""Tool approval on AutoGen agents built from a spec: the run pauses before the batch, a resume
(from the trajectory alone) runs it under the human's decisions, and both records equal the
native runtime's under ``normalize``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ag_toolbox
import pytest
from ag_specs import ADD
from nex_autogen import AutogenAdapter
from nex_autogen.messages import to_autogen_messages, to_nex_messages

from nex_core import ScriptedModel, TaskInfo, normalize, run_native
from nex_core.errors import AdapterError
from nex_core.protocol.approval import Decision
from nex_core.protocol.spec import AgentSpec, SubAgentSpec, ToolSpec
from nex_core.runtime.resume import resume_native
from nex_core.trajectory.reader import iter_trajectories
from nex_core.trajectory.schema import (
    InputStep,
    LLMStep,
    OutcomeStatus,
    StepStatus,
    ToolStep,
    Trajectory,
)
from nex_core.trajectory.sinks import MemorySink

TEXT = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
PUBLISH = ToolSpec(
    name="publish",
    description="Publish a text.",
    parameters=TEXT,
    binding="ag_toolbox:publish",
    approval="required",
)
NOTE = ToolSpec(name="note", description="Take a note.", parameters=TEXT, binding="ag_toolbox:note")
HELPER = AgentSpec(name="helper", description="Helps.", system_prompt="Help.")
EDITOR = AgentSpec(
    name="editor",
    system_prompt="Publish once approved.",
    tools=[PUBLISH, NOTE, ADD],
    sub_agents=[SubAgentSpec(agent=HELPER)],
)


def call(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": call_id, "name": name, "arguments": arguments}


MIXED = {
    "agents": {
        "editor": [
            {
                "tool_calls": [
                    call("c_note", "note", text="draft"),
                    call("c_pub1", "publish", text="one"),
                    call("c_help", "helper", task="check"),
                    call("c_pub2", "publish", text="two"),
                ]
            },
            {"text": "Done."},
            {"text": "Second turn."},
        ],
        "helper": [{"text": "checked"}],
    }
}


@pytest.fixture(autouse=True)
def fresh_log() -> None:
    ag_toolbox.RAN.clear()


def both(
    spec: AgentSpec,
    script: dict[str, Any],
    turns: list[str],
    decision: Decision | dict[str, Decision],
    *,
    through_json: bool = True,
) -> tuple[list[Trajectory], list[Trajectory]]:
    """(native paused, resumed), (autogen paused, resumed), each on its own scripted model."""

    async def native() -> list[Trajectory]:
        model = ScriptedModel(script)
        paused = await run_native(spec, TaskInfo(turns=turns), model=model)
        return [paused, await resume_native(spec, paused, decision, model=model)]

    async def autogen() -> list[Trajectory]:
        model, adapter = ScriptedModel(script), AutogenAdapter()
        paused = await adapter.arun(spec, TaskInfo(turns=turns), model=model)
        if through_json:  # nothing but the record carries the pause
            paused = Trajectory.model_validate_json(paused.to_json())
        return [paused, await adapter.aresume(spec, paused, decision, model=model)]

    ran_natively = asyncio.run(native())
    ag_toolbox.RAN.clear()
    return ran_natively, asyncio.run(autogen())


def assert_parity(native: list[Trajectory], autogen: list[Trajectory]) -> None:
    for n, a in zip(native, autogen, strict=True):
        assert normalize(a) == normalize(n), json.dumps(normalize(a), indent=1)


def test_approve_runs_the_call_and_goes_on() -> None:
    script = {"replies": [{"tool_calls": [call("c1", "publish", text="hi")]}, {"text": "Done."}]}
    native, (paused, resumed) = both(EDITOR, script, ["publish hi"], Decision(action="approve"))
    assert_parity(native, [paused, resumed])
    assert paused.outcome is not None and paused.outcome.status is OutcomeStatus.INTERRUPTED
    assert paused.outcome.stop_reason == "approval_required"
    assert [s.kind for s in paused.steps] == ["llm"]
    assert paused.session_id and resumed.session_id == paused.session_id
    first = resumed.steps[0]
    assert isinstance(first, InputStep) and first.mode == "resume"
    assert first.value == {"c1": {"action": "approve"}}
    assert ag_toolbox.RAN == [("publish", {"text": "hi"})]
    assert resumed.outcome is not None and resumed.outcome.final_output == "Done."


def test_reject_records_the_refusal_and_the_model_reads_it() -> None:
    script = {"replies": [{"tool_calls": [call("c1", "publish", text="hi")]}, {"text": "Ok."}]}
    decision = Decision(action="reject", message="Not today.")
    native, autogen = both(EDITOR, script, ["publish hi"], decision)
    assert_parity(native, autogen)
    resumed = autogen[1]
    (step,) = [s for s in resumed.steps if isinstance(s, ToolStep)]
    assert step.status is StepStatus.ERROR and step.error is not None
    assert (step.error.type, step.error.message) == ("ToolCallRejected", "Not today.")
    assert step.arguments == {"text": "hi"}
    (llm,) = [s for s in resumed.steps if isinstance(s, LLMStep)]
    assert llm.request.messages[-1].role == "tool"
    assert llm.request.messages[-1].content == "Not today."  # no "Error: ..." around it
    assert ag_toolbox.RAN == []


def test_edit_runs_the_humans_arguments_and_keeps_the_models_call() -> None:
    script = {"replies": [{"tool_calls": [call("c1", "publish", text="hi")]}, {"text": "Ok."}]}
    decision = Decision(action="edit", arguments={"text": "hello"})
    native, autogen = both(EDITOR, script, ["publish hi"], decision)
    assert_parity(native, autogen)
    resumed = autogen[1]
    (step,) = [s for s in resumed.steps if isinstance(s, ToolStep)]
    assert step.arguments == {"text": "hello"} and step.result == "published: hello"
    (llm,) = [s for s in resumed.steps if isinstance(s, LLMStep)]
    asked = llm.request.messages[-2].tool_calls
    assert asked is not None and json.loads(asked[0].function.arguments) == {"text": "hi"}
    assert ag_toolbox.RAN == [("publish", {"text": "hello"})]


def test_mixed_batch_waits_whole_and_runs_whole_in_the_models_order() -> None:
    decisions = {
        "c_pub1": Decision(action="approve"),
        "c_pub2": Decision(action="reject"),
    }
    native, (paused, resumed) = both(EDITOR, MIXED, ["go", "again"], decisions)
    assert_parity(native, [paused, resumed])
    assert paused.outcome is not None and paused.outcome.pending is not None
    assert [p["tool_call_id"] for p in paused.outcome.pending] == ["c_pub1", "c_pub2"]
    assert not [s for s in paused.steps if isinstance(s, ToolStep)]
    assert paused.metadata["paused_turn"] == 0
    # the resumed run: the batch (the note, one publish, the helper, one refusal), then the
    # second turn of the task, which the paused run left to it
    assert sorted(ag_toolbox.RAN) == [("note", {"text": "draft"}), ("publish", {"text": "one"})]
    tools = [s for s in resumed.steps if isinstance(s, ToolStep)]
    assert [s.call_id for s in tools] == ["c_note", "c_pub1", "c_help", "c_pub2"]
    assert resumed.outcome is not None and resumed.outcome.final_output == "Second turn."


def test_a_pause_later_in_the_tool_loop_and_a_sequential_agent() -> None:
    spec = EDITOR.model_copy(update={"parallel_tool_calls": False})
    script = {
        "agents": {
            "editor": [
                {"tool_calls": [call("c0", "add", a=1, b=2)]},
                {"tool_calls": [call("c1", "note", text="x"), call("c2", "publish", text="y")]},
                {"text": "Done."},
            ]
        }
    }
    native, (paused, resumed) = both(spec, script, ["go"], Decision(action="approve"))
    assert_parity(native, [paused, resumed])
    assert [s.kind for s in paused.steps] == ["llm", "tool", "llm"]
    assert ag_toolbox.RAN == [("note", {"text": "x"}), ("publish", {"text": "y"})]


def test_a_pause_in_a_later_turn_resumes_with_the_turns_before_it() -> None:
    script = {
        "replies": [
            {"text": "Hello."},
            {"tool_calls": [call("c1", "publish", text="hi")]},
            {"text": "Published."},
            {"text": "Bye."},
        ]
    }
    turns = ["hello", "publish hi", "bye"]
    native, (paused, resumed) = both(EDITOR, script, turns, Decision(action="approve"))
    assert_parity(native, [paused, resumed])
    assert paused.metadata["paused_turn"] == 1
    assert resumed.outcome is not None and resumed.outcome.final_output == "Bye."


def test_run_stream_mode_pauses_and_resumes_the_same() -> None:
    script = {"replies": [{"tool_calls": [call("c1", "publish", text="hi")]}, {"text": "Done."}]}

    async def go() -> list[Trajectory]:
        model, adapter = ScriptedModel(script), AutogenAdapter()
        paused = await adapter.arun(EDITOR, "publish", model=model, mode="run_stream")
        decision = Decision(action="approve")
        return [
            paused,
            await adapter.aresume(EDITOR, paused, decision, model=model, mode="run_stream"),
        ]

    paused, resumed = asyncio.run(go())
    assert paused.outcome is not None and paused.outcome.status is OutcomeStatus.INTERRUPTED
    assert resumed.outcome is not None and resumed.outcome.final_output == "Done."


def test_a_native_pause_resumes_on_autogen() -> None:
    """The resume needs only the record, so a run paused natively goes on in AutoGen."""
    native, _ = both(EDITOR, MIXED, ["go", "again"], Decision(action="approve"))
    rest = {"agents": {"editor": MIXED["agents"]["editor"][1:], "helper": [{"text": "checked"}]}}

    async def cross() -> Trajectory:
        model = ScriptedModel(rest)
        return await AutogenAdapter().aresume(
            EDITOR, native[0], Decision(action="approve"), model=model
        )

    assert normalize(asyncio.run(cross())) == normalize(native[1])


def paused_run(spec: AgentSpec = EDITOR) -> Trajectory:
    script = {"replies": [{"tool_calls": [call("c1", "publish", text="hi")]}]}
    return AutogenAdapter().run(spec, "publish", model=ScriptedModel(script))


def resume_error(paused: Trajectory, decision: Any, spec: AgentSpec = EDITOR) -> str:
    sink = MemorySink()
    with pytest.raises(AdapterError) as info:
        AutogenAdapter().resume(
            spec, paused, decision, model=ScriptedModel({"replies": []}), sinks=[sink]
        )
    assert sink.trajectories == []  # nothing ran, nothing was recorded
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_decision_for_a_call_that_is_not_pending_is_one_error_line() -> None:
    message = resume_error(paused_run(), {"c9": Decision(action="approve")})
    assert "no pending call with id c9" in message and "c1" in message


def test_an_undecided_call_is_one_error_line() -> None:
    calls = [call("c1", "publish", text="a"), call("c2", "publish", text="b")]
    script = {"replies": [{"tool_calls": calls}]}
    paused = AutogenAdapter().run(EDITOR, "publish", model=ScriptedModel(script))
    message = resume_error(paused, {"c1": Decision(action="approve")})
    assert "no decision for pending call c2" in message


def test_resuming_a_run_that_did_not_pause_is_one_error_line() -> None:
    done = AutogenAdapter().run(EDITOR, "hi", model=ScriptedModel({"replies": [{"text": "hello"}]}))
    assert done.outcome is not None and done.outcome.status is OutcomeStatus.COMPLETED
    message = resume_error(done, Decision(action="approve"))
    assert "did not pause for approval" in message and "completed" in message


def test_resuming_with_another_spec_is_one_error_line() -> None:
    other = EDITOR.model_copy(update={"system_prompt": "Something else."})
    message = resume_error(paused_run(), Decision(action="approve"), spec=other)
    assert "spec differs" in message


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        (  # a tool child that hands off: its Swarm runs inside the parent's tool call
            AgentSpec(
                name="boss",
                system_prompt="Delegate.",
                sub_agents=[
                    SubAgentSpec(
                        agent=AgentSpec(
                            name="front",
                            system_prompt="Route.",
                            sub_agents=[
                                SubAgentSpec(
                                    agent=AgentSpec(
                                        name="pub", system_prompt="P.", tools=[PUBLISH]
                                    ),
                                    mode="handoff",
                                )
                            ],
                        )
                    )
                ],
            ),
            "agent 'pub', tool 'publish' (an agent used as a tool that hands off, or one it",
        ),
    ],
)
def test_approval_where_autogen_cannot_pause_is_refused(spec: Any, where: str) -> None:
    adapter = AutogenAdapter()
    with pytest.raises(AdapterError) as info:
        adapter.from_spec(spec, model=ScriptedModel({"replies": []}))
    assert where in str(info.value)
    traj = adapter.run(spec, "go", model=ScriptedModel({"replies": []}))
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.ERROR
    assert traj.outcome.error is not None and traj.outcome.error.type == "AdapterError"
    assert not traj.steps  # refused before the first model call


def test_the_conversation_comes_back_as_autogen_held_it() -> None:
    """The resume rebuilds the model context from the record: converting it back to nex gives
    the recorded messages again (the agent's own name on its turns, as AutoGen adds them)."""
    script = {"replies": [{"tool_calls": [call("c1", "publish", text="hi")]}, {"text": "Done."}]}
    _, (_, resumed) = both(EDITOR, script, ["publish hi"], Decision(action="approve"))
    (llm,) = [s for s in resumed.steps if isinstance(s, LLMStep)]
    sent = llm.request.messages[1:]  # after the system prompt
    assert to_nex_messages(to_autogen_messages(sent, "editor")) == sent


SIMPLE = {"replies": [{"tool_calls": [call("c1", "publish", text="hi")]}, {"text": "Done."}]}


def test_conversion_keeps_the_approval_policy() -> None:
    adapter = AutogenAdapter()
    built = adapter.from_spec(EDITOR, model=ScriptedModel({"replies": []}))
    back = adapter.to_spec(built).spec
    assert isinstance(back, AgentSpec)
    assert {t.name: t.approval for t in back.tools}["publish"] == "required"


def test_a_written_program_pauses_and_its_record_resumes() -> None:
    """``nex convert --to autogen`` writes the approval policy (``approval=True``); the
    program's agent pauses like the built one, and its record resumes with the spec."""
    adapter = AutogenAdapter()
    code = adapter.to_code(EDITOR)
    assert "approval=True" in code and "waiting for approval" in code
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(code, "generated.py", "exec"), namespace)
    model = ScriptedModel(SIMPLE)
    paused = asyncio.run(adapter.arecord(namespace["build"](model), "publish hi"))
    assert paused.outcome is not None and paused.outcome.stop_reason == "approval_required"
    assert ag_toolbox.RAN == []
    resumed = adapter.resume(EDITOR, paused, Decision(action="approve"), model=model)
    assert resumed.outcome is not None and resumed.outcome.final_output == "Done."
    assert resumed.session_id == paused.session_id
    assert ag_toolbox.RAN == [("publish", {"text": "hi"})]


def test_a_written_program_refuses_approval_where_autogen_cannot_pause() -> None:
    # A Swarm run inside an agent-tool call: the pause cannot leave the tool call.
    pub = AgentSpec(name="pub", description="Publishes.", system_prompt="P.", tools=[PUBLISH])
    desk = AgentSpec(
        name="desk",
        description="Routes.",
        system_prompt="D.",
        sub_agents=[SubAgentSpec(agent=pub, mode="handoff")],
    )
    root = AgentSpec(name="root", system_prompt="R.", sub_agents=[SubAgentSpec(agent=desk)])
    with pytest.raises(AdapterError, match="agent 'pub', tool 'publish' \\(an agent used as"):
        AutogenAdapter().to_code(root)


MAIL_SPEC = """\
name: mailer
system_prompt: Send mail when asked.
model: {id: scripted}
tools:
  - name: send
    description: Send mail.
    parameters: {type: object, properties: {to: {type: string}}, required: [to]}
    binding: mail_tools:send
    approval: required
"""
MAIL_PAUSE = """\
replies:
  - tool_calls:
      - {id: c1, name: send, arguments: {to: bob}}
      - {id: c2, name: send, arguments: {to: eve}}
"""


def test_nex_run_pauses_in_one_process_and_resumes_in_another(tmp_path: Path) -> None:
    (tmp_path / "mail_tools.py").write_text('def send(to: str) -> str:\n    return f"sent {to}"\n')
    (tmp_path / "agent.yaml").write_text(MAIL_SPEC)
    (tmp_path / "pause.yaml").write_text(MAIL_PAUSE)
    (tmp_path / "rest.yaml").write_text("replies:\n  - text: Done.\n")
    nex = str(Path(sys.executable).parent / "nex")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [nex, "run", "agent.yaml", "--backend", "autogen", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "200"},
        )

    first = run("--task", "mail bob and eve", "--model", "scripted:pause.yaml", "--out", "p.jsonl")
    assert first.returncode == 1, first.stderr
    assert "paused for approval" in first.stderr
    second = run(
        "--resume",
        "p.jsonl",
        "--decision",
        "c1=approve",
        "--decision",
        "c2=reject:not eve",
        "--model",
        "scripted:rest.yaml",
        "--out",
        "r.jsonl",
    )
    assert second.returncode == 0, second.stderr
    (paused,) = iter_trajectories(tmp_path / "p.jsonl")
    (resumed,) = iter_trajectories(tmp_path / "r.jsonl")
    assert resumed.session_id == paused.session_id
    tools = {s.call_id: s for s in resumed.steps if isinstance(s, ToolStep)}
    assert tools["c1"].result == "sent bob"
    assert tools["c2"].error is not None and tools["c2"].error.message == "not eve"
