"""Tool approval on the Agents SDK, held to nex's contract (``nex_core.protocol.approval``): the
run pauses before the whole batch, the resume records the decisions and runs the batch, a
rejected call's text is what the model reads, an edited call runs with the human's arguments."""

from __future__ import annotations

from typing import Any

import pytest
from agents import Agent, FunctionTool, function_tool
from nex_openai_agents import OpenAIAgentsAdapter, bridge_model, record
from nex_openai_agents.build import build

from nex_core import AgentSpec, ScriptedModel, SubAgentSpec, TaskInfo, ToolSpec
from nex_core.errors import AdapterError
from nex_core.protocol.approval import Decision
from nex_core.protocol.spec import ContextMode
from nex_core.trajectory.schema import (
    InputStep,
    LLMStep,
    OutcomeStatus,
    StepStatus,
    ToolStep,
    Trajectory,
)

NUMBERS = {
    "type": "object",
    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
    "required": ["a", "b"],
}
RAN: list[tuple[str, float, float]] = []


def add(a: float, b: float) -> float:
    RAN.append(("add", a, b))
    return a + b


def pay(a: float, b: float) -> str:
    RAN.append(("pay", a, b))
    return f"paid {a + b}"


def spec(name: str = "clerk") -> AgentSpec:
    return AgentSpec(
        name=name,
        system_prompt="Use the tools.",
        tools=[
            ToolSpec(name="add", description="Add.", parameters=NUMBERS, binding=add),
            ToolSpec(
                name="pay", description="Pay.", parameters=NUMBERS, binding=pay, approval="required"
            ),
        ],
    )


BATCH = [
    {
        "tool_calls": [
            {"name": "add", "arguments": {"a": 1, "b": 2}},
            {"name": "pay", "arguments": {"a": 3, "b": 4}},
        ]
    },
    {"text": "done"},
]


@pytest.fixture(autouse=True)
def _clear() -> None:
    RAN.clear()


def paused_run(script: Any = BATCH, agent: AgentSpec | None = None, **kw: Any) -> Any:
    model = ScriptedModel(script)
    adapter = OpenAIAgentsAdapter()
    paused = adapter.run(agent or spec(), kw.pop("task", "Pay 3 and 4."), model=model, **kw)
    return adapter, model, paused


def tools(traj: Trajectory) -> list[ToolStep]:
    return [s for s in traj.steps if isinstance(s, ToolStep)]


def last_request_tool_texts(traj: Trajectory) -> dict[str, str]:
    llm = [s for s in traj.steps if isinstance(s, LLMStep)][-1]
    return {str(m.tool_call_id): m.text() for m in llm.request.messages if m.role == "tool"}


def test_a_call_needing_approval_pauses_before_the_whole_batch() -> None:
    _, _, paused = paused_run()
    assert paused.outcome is not None
    assert paused.outcome.status is OutcomeStatus.INTERRUPTED
    assert paused.outcome.stop_reason == "approval_required"
    assert paused.outcome.pending == [
        {
            "type": "tool_approval",
            "agent": "clerk",
            "tool": "pay",
            "tool_call_id": "call_2",
            "arguments": {"a": 3, "b": 4},
        }
    ]
    # The SDK would run ``add`` before pausing; the built agent holds it with its batch.
    assert RAN == [] and tools(paused) == []
    assert [s.kind for s in paused.steps] == ["llm"] and paused.session_id


def test_approving_resumes_the_session_and_runs_the_batch() -> None:
    adapter, model, paused = paused_run()
    resumed = adapter.resume(spec(), paused, Decision(action="approve"), model=model)
    assert resumed.outcome is not None and resumed.outcome.status is OutcomeStatus.COMPLETED
    assert resumed.outcome.final_output == "done"
    assert resumed.session_id == paused.session_id and resumed.id != paused.id
    first = resumed.steps[0]
    assert isinstance(first, InputStep) and first.mode == "resume"
    assert first.value == {"call_2": {"action": "approve"}}
    assert sorted(RAN) == [("add", 1, 2), ("pay", 3, 4)]
    assert {(s.name, s.call_id, s.status) for s in tools(resumed)} == {
        ("add", "call_1", StepStatus.OK),
        ("pay", "call_2", StepStatus.OK),
    }
    assert last_request_tool_texts(resumed) == {"call_1": "3", "call_2": "paid 7"}


@pytest.mark.parametrize(
    ("message", "expected"),
    [("Too much.", "Too much."), (None, "The user rejected the call to 'pay'.")],
)
def test_a_rejected_call_is_an_error_step_and_the_model_reads_its_text(
    message: str | None, expected: str
) -> None:
    adapter, model, paused = paused_run()
    decision = Decision(action="reject", message=message)
    resumed = adapter.resume(spec(), paused, decision, model=model)
    assert resumed.outcome is not None and resumed.outcome.final_output == "done"
    assert RAN == [("add", 1, 2)]
    rejected = next(s for s in tools(resumed) if s.name == "pay")
    assert rejected.status is StepStatus.ERROR and rejected.error is not None
    assert (rejected.error.type, rejected.error.message) == ("ToolCallRejected", expected)
    assert rejected.call_id == "call_2" and rejected.arguments == {"a": 3, "b": 4}
    assert last_request_tool_texts(resumed) == {"call_1": "3", "call_2": expected}


def test_an_edited_call_runs_with_the_humans_arguments() -> None:
    adapter, model, paused = paused_run()
    decision = Decision(action="edit", arguments={"a": 10, "b": 20})
    resumed = adapter.resume(spec(), paused, {"call_2": decision}, model=model)
    assert sorted(RAN) == [("add", 1, 2), ("pay", 10, 20)]
    edited = next(s for s in tools(resumed) if s.name == "pay")
    assert edited.arguments == {"a": 10, "b": 20} and edited.result == "paid 30"
    assert last_request_tool_texts(resumed)["call_2"] == "paid 30"
    llm = [s for s in resumed.steps if isinstance(s, LLMStep)][-1]
    asked = llm.request.messages[-3].tool_calls or []  # the model's own call stays as written
    assert [c.function.arguments for c in asked][1] == '{"a": 3, "b": 4}'


def test_two_pending_calls_take_one_decision_each_and_bad_decisions_are_errors() -> None:
    script = [
        {
            "tool_calls": [
                {"name": "pay", "arguments": {"a": 1, "b": 1}},
                {"name": "pay", "arguments": {"a": 2, "b": 2}},
            ]
        },
        {"text": "ok"},
    ]
    adapter, model, paused = paused_run(script)
    assert [p["tool_call_id"] for p in paused.outcome.pending] == ["call_1", "call_2"]
    with pytest.raises(AdapterError, match="no decision for pending call call_2"):
        adapter.resume(spec(), paused, {"call_1": Decision(action="approve")}, model=model)
    with pytest.raises(AdapterError, match="no pending call with id call_9"):
        adapter.resume(spec(), paused, {"call_9": Decision(action="approve")}, model=model)
    decisions = {"call_1": Decision(action="approve"), "call_2": Decision(action="reject")}
    resumed = adapter.resume(spec(), paused, decisions, model=model)
    assert RAN == [("pay", 1, 1)]
    assert resumed.outcome is not None and resumed.outcome.final_output == "ok"


def test_the_resume_needs_only_the_paused_trajectory() -> None:
    """The RunState travels in the trajectory's metadata: a file read back (another process, a
    new adapter) resumes."""
    _, model, paused = paused_run()
    read_back = Trajectory.model_validate_json(paused.to_json())
    resumed = OpenAIAgentsAdapter().resume(
        spec(), read_back, Decision(action="approve"), model=model
    )
    assert resumed.outcome is not None and resumed.outcome.status is OutcomeStatus.COMPLETED
    assert sorted(RAN) == [("add", 1, 2), ("pay", 3, 4)]


def test_what_cannot_be_resumed_says_why() -> None:
    adapter, model, paused = paused_run()
    done = adapter.run(spec(), "hi", model=ScriptedModel([{"text": "hi"}]))
    with pytest.raises(AdapterError, match="did not pause for approval"):
        adapter.resume(spec(), done, Decision(action="approve"), model=model)
    foreign = paused.model_copy(update={"metadata": {}})
    with pytest.raises(AdapterError, match="holds no Agents SDK run state"):
        adapter.resume(spec(), foreign, Decision(action="approve"), model=model)
    with pytest.raises(AdapterError, match="spec digest differs"):
        adapter.resume(spec("other"), paused, Decision(action="approve"), model=model)


def test_a_later_turn_runs_after_the_resumed_one() -> None:
    script = [*BATCH, {"text": "second"}]
    adapter, model, paused = paused_run(script, task=TaskInfo(turns=["Pay.", "And now?"]))
    resumed = adapter.resume(spec(), paused, Decision(action="approve"), model=model)
    assert resumed.outcome is not None and resumed.outcome.final_output == "second"
    llm = [s for s in resumed.steps if isinstance(s, LLMStep)]
    assert llm[-1].request.messages[-1].text() == "And now?"


def test_a_streamed_run_pauses_too() -> None:
    adapter, model, paused = paused_run(mode="run_streamed")
    assert paused.outcome is not None and paused.outcome.status is OutcomeStatus.INTERRUPTED
    resumed = adapter.resume(spec(), paused, Decision(action="approve"), model=model)
    assert resumed.outcome is not None and resumed.outcome.final_output == "done"


def test_a_handoff_child_pauses_and_resumes_in_the_child() -> None:
    root = AgentSpec(
        name="front",
        system_prompt="Route.",
        sub_agents=[SubAgentSpec(agent=spec(), mode=ContextMode.HANDOFF)],
    )
    script = {
        "agents": {
            "front": [{"tool_calls": [{"name": "transfer_to_clerk", "arguments": {}}]}],
            "clerk": BATCH,
        }
    }
    adapter, model, paused = paused_run(script, agent=root)
    assert paused.outcome is not None and paused.outcome.pending
    assert paused.outcome.pending[0]["agent"] == "clerk"
    resumed = adapter.resume(root, paused, Decision(action="approve"), model=model)
    assert resumed.outcome is not None and resumed.outcome.final_output == "done"
    assert {s.agent for s in tools(resumed)} == {"clerk"}


def test_needs_approval_converts_to_approval_required_and_back() -> None:
    built = build(spec(), ScriptedModel([]))
    by_name = {t.name: t for t in built.tools if isinstance(t, FunctionTool)}
    assert by_name["pay"].needs_approval is True
    converted = OpenAIAgentsAdapter().to_spec(built)
    assert {t.name: t.approval for t in converted.spec.tools} == {"add": "never", "pay": "required"}
    assert not [i for i in converted.report.items if "approval" in i.what]

    @function_tool(needs_approval=lambda ctx, params, call_id: params["a"] > 100)
    def refund(a: float) -> str:
        """Refund."""
        return "ok"

    conversion = OpenAIAgentsAdapter().to_spec(Agent(name="desk", tools=[refund]))
    assert conversion.spec.tools[0].approval == "required"
    assert any("needs_approval is a function" in i.what for i in conversion.report.items)


def test_an_app_of_its_own_records_what_the_sdk_really_ran_before_pausing() -> None:
    """Recorded as written (no nex build): the SDK runs the calls needing no approval first."""

    @function_tool
    def lookup(a: float, b: float) -> float:
        """Look up."""
        return add(a, b)

    @function_tool(needs_approval=True)
    def transfer(a: float, b: float) -> str:
        """Transfer."""
        return pay(a, b)

    script = [
        {
            "tool_calls": [
                {"name": "lookup", "arguments": {"a": 1, "b": 2}},
                {"name": "transfer", "arguments": {"a": 3, "b": 4}},
            ]
        }
    ]
    agent = Agent(name="desk", tools=[lookup, transfer], model=bridge_model(ScriptedModel(script)))
    traj = record(agent, "Transfer.")
    assert traj.outcome is not None and traj.outcome.status is OutcomeStatus.INTERRUPTED
    assert [p["tool"] for p in traj.outcome.pending or []] == ["transfer"]
    assert RAN == [("add", 1, 2)]
    assert [(s.name, s.result) for s in tools(traj)] == [("lookup", 3.0)]
    assert isinstance(traj.metadata["openai_agents"]["run_state"], dict)
