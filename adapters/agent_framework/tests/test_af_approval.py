"""Tool approval on Agent Framework, held to the shared contract (``nex_core.protocol.approval``).

A spec's ``approval: required`` tool is a ``FunctionTool`` with ``approval_mode=
"always_require"``; the run pauses on the framework's function-approval request and
``aresume`` answers it with the framework's approval responses. The expected outlines are the
contract's, written out by hand: the kit's interrupt_resume / rejected_tool_call /
edited_tool_call scenarios check the same (and parity with native) once they land.
"""

from __future__ import annotations

from typing import Any

import pytest
from af_support import run
from agent_framework import Agent, tool
from nex_agent_framework import AgentFrameworkAdapter, bridge_model

from nex_core import AgentSpec, ScriptedModel, ToolSpec
from nex_core.errors import AdapterError
from nex_core.protocol.approval import Decision
from nex_core.protocol.spec import ContextMode, ImportBinding, SubAgentSpec
from nex_core.trajectory.schema import InputStep, LLMStep, OutcomeStatus, ToolStep, Trajectory

SENT: list[str] = []


def send_email(to: str) -> str:
    SENT.append(to)
    return f"sent to {to}"


def lookup(q: str) -> str:
    return f"found {q}"


def _params(*names: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {n: {"type": "string"} for n in names},
        "required": list(names),
    }


SEND = ToolSpec(
    name="send_email",
    description="Send an email.",
    parameters=_params("to"),
    binding=send_email,
    approval="required",
)
LOOKUP = ToolSpec(name="lookup", description="Look up.", parameters=_params("q"), binding=lookup)
MAILER = AgentSpec(name="mailer", system_prompt="Mail people.", tools=[SEND, LOOKUP])


def call(id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": id, "name": name, "arguments": arguments}


def _script(*calls: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"tool_calls": list(calls)}, {"text": "Done."}]


@pytest.fixture(autouse=True)
def _clear() -> None:
    SENT.clear()


def _pause(adapter: AgentFrameworkAdapter, model: ScriptedModel, **kw: Any) -> Trajectory:
    paused = run(adapter.arun(kw.pop("spec", MAILER), "Email Bob.", model=model, **kw))
    assert paused.outcome is not None
    return paused


def _tools(traj: Trajectory) -> list[ToolStep]:
    return [s for s in traj.steps if isinstance(s, ToolStep)]


def _last_request(traj: Trajectory) -> dict[str, str]:
    """Tool call id → the text the model read as that call's result, in the last model call."""
    llm = [s for s in traj.steps if isinstance(s, LLMStep)][-1]
    return {m.tool_call_id: m.text() for m in llm.request.messages if m.role == "tool"}


def test_approve_pauses_before_the_batch_then_runs_it(adapter: AgentFrameworkAdapter) -> None:
    model = ScriptedModel(_script(call("c1", "send_email", to="bob"), call("c2", "lookup", q="x")))
    paused = _pause(adapter, model)
    assert paused.outcome is not None
    assert paused.outcome.status is OutcomeStatus.INTERRUPTED
    assert paused.outcome.stop_reason == "approval_required"
    assert paused.outcome.pending == [
        {
            "type": "tool_approval",
            "agent": "mailer",
            "tool": "send_email",
            "tool_call_id": "c1",
            "arguments": {"to": "bob"},
        }
    ]
    assert [s.kind for s in paused.steps] == ["llm"]  # nothing of the batch ran
    assert paused.session_id and SENT == []

    resumed = run(adapter.aresume(MAILER, paused, Decision(action="approve"), model=model))
    assert resumed.session_id == paused.session_id
    first = resumed.steps[0]
    assert isinstance(first, InputStep) and first.mode == "resume"
    assert first.value == {"c1": {"action": "approve"}}
    assert {(t.name, t.call_id, str(t.result)) for t in _tools(resumed)} == {
        ("send_email", "c1", "sent to bob"),
        ("lookup", "c2", "found x"),
    }
    assert resumed.outcome is not None and resumed.outcome.status is OutcomeStatus.COMPLETED
    assert resumed.outcome.final_output == "Done." and SENT == ["bob"]


@pytest.mark.parametrize("message", ["Not today.", None])
def test_reject_is_a_tool_error_the_model_reads(
    adapter: AgentFrameworkAdapter, message: str | None
) -> None:
    model = ScriptedModel(_script(call("c1", "send_email", to="bob")))
    paused = _pause(adapter, model)
    decision = Decision(action="reject", message=message)
    resumed = run(adapter.aresume(MAILER, paused, decision, model=model))
    text = message or "The user rejected the call to 'send_email'."
    (step,) = _tools(resumed)
    assert step.error is not None
    assert (step.error.type, step.error.message) == ("ToolCallRejected", text)
    assert _last_request(resumed) == {"c1": text}  # exactly the recorded words
    assert SENT == [] and resumed.outcome is not None
    assert resumed.outcome.final_output == "Done."


def test_edit_runs_the_tool_with_the_humans_arguments(adapter: AgentFrameworkAdapter) -> None:
    model = ScriptedModel(_script(call("c1", "send_email", to="bob")))
    paused = _pause(adapter, model)
    decision = Decision(action="edit", arguments={"to": "carol"})
    resumed = run(adapter.aresume(MAILER, paused, decision, model=model))
    (step,) = _tools(resumed)
    assert step.arguments == {"to": "carol"} and step.result == "sent to carol"
    assert _last_request(resumed) == {"c1": "sent to carol"} and SENT == ["carol"]


def test_edited_arguments_are_checked_against_the_schema(
    adapter: AgentFrameworkAdapter,
) -> None:
    model = ScriptedModel(_script(call("c1", "send_email", to="bob")))
    paused = _pause(adapter, model)
    decision = Decision(action="edit", arguments={"too": "carol"})
    resumed = run(adapter.aresume(MAILER, paused, decision, model=model))
    (step,) = _tools(resumed)
    assert step.error is not None and step.error.type == "InvalidArguments" and SENT == []


def test_two_pending_calls_each_decided(adapter: AgentFrameworkAdapter) -> None:
    model = ScriptedModel(
        _script(call("c1", "send_email", to="bob"), call("c2", "send_email", to="eve"))
    )
    paused = _pause(adapter, model)
    assert paused.outcome is not None and paused.outcome.pending is not None
    assert [p["tool_call_id"] for p in paused.outcome.pending] == ["c1", "c2"]
    with pytest.raises(AdapterError, match="no decision for pending call c2"):
        run(adapter.aresume(MAILER, paused, {"c1": Decision(action="approve")}, model=model))
    decisions = {"c1": Decision(action="approve"), "c2": Decision(action="reject")}
    resumed = run(adapter.aresume(MAILER, paused, decisions, model=model))
    by_id = {t.call_id: t for t in _tools(resumed)}
    assert by_id["c1"].result == "sent to bob" and by_id["c1"].error is None
    assert by_id["c2"].error is not None and by_id["c2"].error.type == "ToolCallRejected"
    assert SENT == ["bob"]


def test_streamed_runs_pause_and_resume_too(adapter: AgentFrameworkAdapter) -> None:
    model = ScriptedModel(_script(call("c1", "send_email", to="bob")))
    paused = _pause(adapter, model, mode="stream")
    assert paused.outcome is not None and paused.outcome.status is OutcomeStatus.INTERRUPTED
    decision = Decision(action="approve")
    resumed = run(adapter.aresume(MAILER, paused, decision, model=model, mode="stream"))
    assert resumed.outcome is not None and resumed.outcome.final_output == "Done."
    assert SENT == ["bob"]


def test_a_handoff_target_pauses_and_resumes(adapter: AgentFrameworkAdapter) -> None:
    front = AgentSpec(
        name="front",
        system_prompt="Route.",
        sub_agents=[SubAgentSpec(agent=MAILER, mode=ContextMode.HANDOFF)],
    )
    script = {
        "agents": {
            "front": [{"tool_calls": [call("h1", "transfer_to_mailer")]}],
            "mailer": _script(call("c1", "send_email", to="bob")),
        }
    }
    model = ScriptedModel(script)
    paused = _pause(adapter, model, spec=front)
    assert paused.outcome is not None and paused.outcome.pending is not None
    assert paused.outcome.pending[0]["agent"] == "mailer"
    resumed = run(adapter.aresume(front, paused, Decision(action="approve"), model=model))
    assert resumed.outcome is not None and resumed.outcome.final_output == "Done."
    assert [s.agent for s in resumed.steps] == ["mailer", "mailer", "mailer"]
    assert SENT == ["bob"]


def test_bad_resumes_are_clear_errors(adapter: AgentFrameworkAdapter) -> None:
    model = ScriptedModel(_script(call("c1", "send_email", to="bob")))
    paused = _pause(adapter, model)
    with pytest.raises(AdapterError, match="no pending call with id nope"):
        run(adapter.aresume(MAILER, paused, {"nope": Decision(action="approve")}, model=model))
    other = MAILER.model_copy(update={"system_prompt": "Something else."})
    with pytest.raises(AdapterError, match="spec differs"):
        run(adapter.aresume(other, paused, Decision(action="approve"), model=model))
    done = run(adapter.aresume(MAILER, paused, Decision(action="approve"), model=model))
    with pytest.raises(AdapterError, match="did not pause for approval"):
        run(adapter.aresume(MAILER, done, Decision(action="approve"), model=model))
    with pytest.raises(AdapterError, match="in the process that paused it"):
        run(adapter.aresume(MAILER, paused, Decision(action="approve"), model=model))


@tool(approval_mode="always_require")
def delete_file(path: str) -> str:
    """Delete a file."""
    return f"deleted {path}"


def test_always_require_converts_to_approval_required(adapter: AgentFrameworkAdapter) -> None:
    agent = Agent(
        client=bridge_model(ScriptedModel([{"text": "x"}])),
        name="janitor",
        instructions="Clean.",
        tools=[delete_file],
    )
    conversion = adapter.to_spec(agent)
    spec = conversion.spec
    assert isinstance(spec, AgentSpec) and spec.tools[0].approval == "required"
    assert not [i for i in conversion.report.items if "approval" in i.what]
    built = adapter.from_spec(spec, model=ScriptedModel([{"text": "x"}]))
    assert built.default_options["tools"][0].approval_mode == "always_require"
    assert 'approval_mode="always_require"' in adapter.to_code(
        spec.model_copy(
            update={"tools": [SEND.model_copy(update={"binding": ImportBinding(path="os:getcwd")})]}
        )
    )


def test_a_recorded_agent_that_asks_for_approval_ends_interrupted(
    adapter: AgentFrameworkAdapter,
) -> None:
    script = _script(call("c1", "delete_file", path="/tmp/x"))
    agent = Agent(
        client=bridge_model(ScriptedModel(script)),
        name="janitor",
        instructions="Clean.",
        tools=[delete_file],
    )
    traj = run(adapter.arecord(agent, "Clean up."))
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.INTERRUPTED
    assert traj.outcome.pending is not None
    assert traj.outcome.pending[0]["tool"] == "delete_file"
    assert [s.kind for s in traj.steps] == ["llm"]
