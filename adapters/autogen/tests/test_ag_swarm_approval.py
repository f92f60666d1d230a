"""Tool approval in agents that hand off (a spec the autogen adapter builds as a ``Swarm``):
the run pauses in whichever member called the tool, and a resume from the trajectory alone
puts the Swarm's speaker and the members' conversation back, runs the batch under the human's
decisions and goes on. Every record equals the native runtime's under ``normalize``."""

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
from autogen_agentchat.teams import Swarm
from nex_autogen import AutogenAdapter

from nex_core import ScriptedModel, TaskInfo, normalize, run_native
from nex_core.protocol.approval import Decision
from nex_core.protocol.spec import AgentSpec, SubAgentSpec, ToolSpec
from nex_core.runtime.resume import resume_native
from nex_core.trajectory.reader import iter_trajectories
from nex_core.trajectory.schema import (
    InputStep,
    LLMStep,
    OutcomeStatus,
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
WRITER = AgentSpec(
    name="writer", description="Writes and publishes.", system_prompt="Write.", tools=[PUBLISH]
)
FRONT = AgentSpec(
    name="front",
    system_prompt="Route.",
    tools=[PUBLISH, NOTE],
    sub_agents=[SubAgentSpec(agent=WRITER, mode="handoff")],
)
CHECKER = AgentSpec(
    name="checker", description="Checks, then publishes.", system_prompt="Check.", tools=[PUBLISH]
)
CHAIN = FRONT.model_copy(
    update={
        "sub_agents": [
            SubAgentSpec(
                agent=WRITER.model_copy(
                    update={"sub_agents": [SubAgentSpec(agent=CHECKER, mode="handoff")]}
                ),
                mode="handoff",
            )
        ]
    }
)
"""front → writer → checker, the last two with approval tools."""


def call(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": call_id, "name": name, "arguments": arguments}


TO_WRITER = call("c_to", "transfer_to_writer")


@pytest.fixture(autouse=True)
def fresh_log() -> None:
    ag_toolbox.RAN.clear()


def chain(
    spec: AgentSpec, script: dict[str, Any], turns: list[str], decisions: list[Any]
) -> tuple[list[Trajectory], list[Trajectory]]:
    """The native and the autogen runs of ``spec``: the first run, then one resume per decision
    (each of the run before), each backend on a scripted model of its own. AutoGen's paused runs
    go through JSON: nothing but the record carries the pause."""

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
    ag_toolbox.RAN.clear()
    return ran_natively, asyncio.run(autogen())


def assert_parity(native: list[Trajectory], autogen: list[Trajectory]) -> None:
    for n, a in zip(native, autogen, strict=True):
        assert normalize(a) == normalize(n), json.dumps(normalize(a), indent=1)


def test_the_spec_builds_a_swarm_whose_members_hold_approval_tools() -> None:
    built = AutogenAdapter().from_spec(FRONT, model=ScriptedModel({"replies": []}))
    assert isinstance(built, Swarm)


@pytest.mark.parametrize(
    ("decision", "ran", "answer"),
    [
        (Decision(action="approve"), [("publish", {"text": "hi"})], "Published."),
        (Decision(action="reject", message="not today"), [], "Not published."),
        (
            Decision(action="edit", arguments={"text": "hello"}),
            [("publish", {"text": "hello"})],
            "Published hello.",
        ),
    ],
)
def test_a_pause_in_the_agent_handed_to_resumes_in_it(
    decision: Decision, ran: list[Any], answer: str
) -> None:
    script = {
        "agents": {
            "front": [{"tool_calls": [TO_WRITER]}],
            "writer": [{"tool_calls": [call("c_pub", "publish", text="hi")]}, {"text": answer}],
        }
    }
    native, (paused, resumed) = chain(FRONT, script, ["publish hi"], [decision])
    assert_parity(native, [paused, resumed])
    assert paused.outcome is not None and paused.outcome.status is OutcomeStatus.INTERRUPTED
    assert [p["agent"] for p in paused.outcome.pending or []] == ["writer"]
    (handoff,) = [s for s in paused.steps if isinstance(s, SubAgentStep)]
    assert handoff.output is None  # no answer yet
    assert isinstance(resumed.steps[0], InputStep) and resumed.steps[0].agent == "writer"
    # The resumed writer works from the conversation it was handed, under its own prompt.
    (llm,) = [s for s in resumed.steps if isinstance(s, LLMStep)]
    assert llm.agent == "writer" and llm.request.messages[0].content == "Write."
    assert llm.request.messages[1].content == "publish hi"
    assert resumed.outcome is not None and resumed.outcome.final_output == answer
    assert resumed.session_id == paused.session_id
    assert ran == ag_toolbox.RAN


def test_a_pause_in_the_first_agent_resumes_it_and_it_hands_off_later() -> None:
    script = {
        "agents": {
            "front": [
                {
                    "tool_calls": [
                        call("c_note", "note", text="n"),
                        call("c_pub", "publish", text="x"),
                    ]
                },
                {"tool_calls": [TO_WRITER]},
            ],
            "writer": [{"text": "Written."}],
        }
    }
    native, autogen = chain(FRONT, script, ["go"], [Decision(action="approve")])
    assert_parity(native, autogen)
    resumed = autogen[1]
    assert [type(s).__name__ for s in resumed.steps if s.parent_id is None] == [
        "InputStep",
        "ToolStep",
        "ToolStep",
        "LLMStep",
        "ToolStep",
        "SubAgentStep",
    ]
    assert resumed.outcome is not None and resumed.outcome.final_output == "Written."
    assert ag_toolbox.RAN == [("note", {"text": "n"}), ("publish", {"text": "x"})]


def test_a_batch_that_hands_off_beside_the_waiting_call_hands_off_once_resumed() -> None:
    """The handoff waits with the batch; once it runs, the agent handed to takes the turn (its
    turn is the handoff step of that call, as natively) and reads the whole conversation."""
    script = {
        "agents": {
            "front": [{"tool_calls": [call("c_pub", "publish", text="x"), TO_WRITER]}],
            "writer": [{"text": "Written."}],
        }
    }
    native, autogen = chain(FRONT, script, ["go"], [Decision(action="approve")])
    assert_parity(native, autogen)
    resumed = autogen[1]
    (handoff,) = [s for s in resumed.steps if isinstance(s, SubAgentStep)]
    assert handoff.call_id == "c_to" and handoff.output == "Written."
    (llm,) = [s for s in resumed.steps if isinstance(s, LLMStep) and s.parent_id == handoff.id]
    assert [m.role for m in llm.request.messages] == ["system", "user", "assistant", "tool", "tool"]


def test_later_turns_go_on_with_the_agent_that_answered() -> None:
    script = {
        "agents": {
            "front": [{"tool_calls": [TO_WRITER]}],
            "writer": [
                {"tool_calls": [call("c_pub", "publish", text="hi")]},
                {"text": "Published."},
                {"text": "Still the writer."},
            ],
        }
    }
    native, autogen = chain(FRONT, script, ["publish hi", "and now?"], [Decision(action="approve")])
    assert_parity(native, autogen)
    resumed = autogen[1]
    last = [s for s in resumed.steps if isinstance(s, LLMStep)][-1]
    assert last.agent == "writer" and last.request.messages[-1].content == "and now?"
    assert resumed.outcome is not None and resumed.outcome.final_output == "Still the writer."


def test_a_second_pause_after_a_further_handoff_resumes_too() -> None:
    """writer pauses, is approved, hands to checker, which pauses on its own call: the chain
    pause → resume → pause → resume is one session, equal to native's at every run."""
    script = {
        "agents": {
            "front": [{"tool_calls": [TO_WRITER]}],
            "writer": [
                {"tool_calls": [call("c_pub1", "publish", text="one")]},
                {"tool_calls": [call("c_next", "transfer_to_checker")]},
            ],
            "checker": [
                {"tool_calls": [call("c_pub2", "publish", text="two")]},
                {"text": "Both published."},
            ],
        }
    }
    decisions = [Decision(action="approve"), Decision(action="approve")]
    native, autogen = chain(CHAIN, script, ["publish both"], decisions)
    assert_parity(native, autogen)
    first, second, third = autogen
    assert second.outcome is not None and second.outcome.stop_reason == "approval_required"
    assert [p["agent"] for p in second.outcome.pending or []] == ["checker"]
    assert third.outcome is not None and third.outcome.final_output == "Both published."
    assert len({first.session_id, second.session_id, third.session_id}) == 1
    # checker, resumed, reads what writer did before the handoff: the whole conversation.
    llm = [s for s in third.steps if isinstance(s, LLMStep)][-1]
    assert llm.agent == "checker" and "published: one" in json.dumps(
        [m.content for m in llm.request.messages]
    )
    assert ag_toolbox.RAN == [("publish", {"text": "one"}), ("publish", {"text": "two"})]


def test_a_native_pause_in_a_handoff_child_resumes_on_autogen() -> None:
    script = {
        "agents": {
            "front": [{"tool_calls": [TO_WRITER]}],
            "writer": [{"tool_calls": [call("c_pub", "publish", text="hi")]}, {"text": "Done."}],
        }
    }

    async def go() -> tuple[Trajectory, Trajectory]:
        model = ScriptedModel(script)
        paused = await run_native(FRONT, TaskInfo(turns=["publish hi"]), model=model)
        ag_toolbox.RAN.clear()
        native = await resume_native(FRONT, paused, Decision(action="approve"), model=model)
        model = ScriptedModel(script)
        await run_native(
            FRONT, TaskInfo(turns=["publish hi"]), model=model
        )  # the same script position
        ag_toolbox.RAN.clear()
        autogen = await AutogenAdapter().aresume(
            FRONT, paused, Decision(action="approve"), model=model
        )
        return native, autogen

    native, autogen = asyncio.run(go())
    assert normalize(autogen) == normalize(native)


def test_a_written_swarm_program_pauses_and_its_record_resumes() -> None:
    adapter = AutogenAdapter()
    code = adapter.to_code(FRONT)
    assert "custom_message_types=[ApprovalPauseMessage]" in code
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(code, "generated.py", "exec"), namespace)
    script = {
        "agents": {
            "front": [{"tool_calls": [TO_WRITER]}],
            "writer": [{"tool_calls": [call("c_pub", "publish", text="hi")]}, {"text": "Done."}],
        }
    }
    model = ScriptedModel(script)
    paused = asyncio.run(adapter.arecord(namespace["build"](model), "publish hi"))
    assert paused.outcome is not None and paused.outcome.stop_reason == "approval_required"
    assert ag_toolbox.RAN == []
    resumed = adapter.resume(FRONT, paused, Decision(action="approve"), model=model)
    assert resumed.outcome is not None and resumed.outcome.final_output == "Done."
    tools = [s for s in resumed.steps if isinstance(s, ToolStep)]
    assert [(t.agent, t.result) for t in tools] == [("writer", "published: hi")]


def test_run_stream_mode_resumes_the_swarm_the_same() -> None:
    script = {
        "agents": {
            "front": [{"tool_calls": [TO_WRITER]}],
            "writer": [{"tool_calls": [call("c_pub", "publish", text="hi")]}, {"text": "Done."}],
        }
    }

    async def go() -> list[Trajectory]:
        model, adapter = ScriptedModel(script), AutogenAdapter()
        paused = await adapter.arun(FRONT, "publish hi", model=model, mode="run_stream")
        decision = Decision(action="approve")
        return [
            paused,
            await adapter.aresume(FRONT, paused, decision, model=model, mode="run_stream"),
        ]

    streamed = asyncio.run(go())
    ag_toolbox.RAN.clear()
    native, _ = chain(FRONT, script, ["publish hi"], [Decision(action="approve")])
    assert_parity(native, streamed)


SPEC = """\
name: front
system_prompt: Route.
model: {id: scripted}
sub_agents:
  - mode: handoff
    agent:
      name: mailer
      description: Sends mail.
      system_prompt: Send mail when asked.
      tools:
        - name: send
          description: Send mail.
          parameters: {type: object, properties: {to: {type: string}}, required: [to]}
          binding: mail_tools:send
          approval: required
"""
PAUSE = """\
agents:
  front:
    - tool_calls: [{id: h1, name: transfer_to_mailer, arguments: {}}]
  mailer:
    - tool_calls: [{id: c1, name: send, arguments: {to: bob}}]
"""


def test_nex_run_pauses_a_swarm_in_one_process_and_resumes_it_in_another(tmp_path: Path) -> None:
    (tmp_path / "mail_tools.py").write_text('def send(to: str) -> str:\n    return f"sent {to}"\n')
    (tmp_path / "agent.yaml").write_text(SPEC)
    (tmp_path / "pause.yaml").write_text(PAUSE)
    (tmp_path / "rest.yaml").write_text("agents:\n  mailer:\n    - text: Sent to Bob.\n")
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

    first = run("--task", "mail bob", "--model", "scripted:pause.yaml", "--out", "p.jsonl")
    assert first.returncode == 1, first.stderr
    assert "paused for approval" in first.stderr
    second = run(
        "--resume",
        "p.jsonl",
        "--decision",
        "approve",
        "--model",
        "scripted:rest.yaml",
        "--out",
        "r.jsonl",
    )
    assert second.returncode == 0, second.stderr
    (paused,) = iter_trajectories(tmp_path / "p.jsonl")
    (resumed,) = iter_trajectories(tmp_path / "r.jsonl")
    assert resumed.session_id == paused.session_id
    (tool,) = [s for s in resumed.steps if isinstance(s, ToolStep)]
    assert (tool.agent, tool.result) == ("mailer", "sent bob")
    assert resumed.outcome is not None and resumed.outcome.final_output == "Sent to Bob."
