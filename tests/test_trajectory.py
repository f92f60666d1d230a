"""The trajectory schema and its normal form: ids become ordinals, times go, a batch is a set."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from nex_core.trajectory import (
    LLMRequest,
    LLMResponse,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    Recorder,
    TaskInfo,
    ToolCall,
    Trajectory,
    digest,
    normalize,
)
from nex_core.trajectory.schema import LLMStep, SubAgentStep, ToolStep

PROV = Provenance(framework="test", adapter="test", nex_version="0")


def record(
    call_ids: tuple[str, str], order: tuple[int, int], *, result_b: object = 6
) -> Trajectory:
    """One LLM call asking for two tools, run in ``order``; then a final answer."""
    rec = Recorder(provenance=PROV, task=TaskInfo(turns=["hi"]), root_agent="a")
    calls = [
        ToolCall.make(call_ids[0], "add", {"a": 1, "b": 2}),
        ToolCall.make(call_ids[1], "mul", {"a": 2, "b": 3}),
    ]
    request = LLMRequest(messages=[Message.system("s"), Message.user("hi")])
    with rec.llm_call(agent="a", request=request) as step:
        step.response = LLMResponse(
            message=Message.assistant(None, calls), finish_reason="tool_calls"
        )
    results = {0: 3, 1: result_b}
    for i in order:
        t = rec.begin_tool(
            agent="a",
            name=calls[i].name,
            call_id=calls[i].id,
            arguments=calls[i].function.arguments,
        )
        rec.end_tool(t, results[i])
    follow = LLMRequest(
        messages=[
            *request.messages,
            Message.assistant(None, calls),
            Message.tool(call_ids[0], "3"),
            Message.tool(call_ids[1], str(result_b)),
        ]
    )
    with rec.llm_call(agent="a", request=follow) as step:
        step.response = LLMResponse(message=Message.assistant("3 and 6"))
    return rec.finish(Outcome(status=OutcomeStatus.COMPLETED, final_output="3 and 6"))


def test_normalize_replaces_ids_drops_times_and_sorts_batches() -> None:
    one = record(("call_abc", "call_def"), (0, 1))
    two = record(("x-1", "x-2"), (1, 0))
    assert one.id != two.id and one.started_at != two.started_at
    assert normalize(one) == normalize(two)
    assert digest(one) == digest(two)
    form = normalize(one)
    text = json.dumps(form)
    assert "call_abc" not in text and "started_at" not in text and "latency" not in text
    first, *tools, last = form["steps"]
    assert first["response"]["tool_calls"][0]["id"] == "call_1"
    assert {t["call_id"] for t in tools} == {"call_1", "call_2"}
    assert last["request"]["messages"][-1]["tool_call_id"] == "call_2"


def test_normalize_sees_real_differences() -> None:
    assert digest(record(("a", "b"), (0, 1))) != digest(record(("a", "b"), (0, 1), result_b=7))


def test_results_compare_as_the_text_the_model_saw() -> None:
    # A framework that keeps the object (6) and one that keeps its rendering ("6") agree.
    assert normalize(record(("a", "b"), (0, 1), result_b=6)) == normalize(
        record(("a", "b"), (0, 1), result_b="6")
    )


def test_nesting_survives_normalize() -> None:
    rec = Recorder(provenance=PROV, root_agent="boss")
    with rec.active():
        t = rec.begin_tool(agent="boss", name="kid", call_id="c9", arguments={"task": "x"})
        with (
            rec.under(t.id),
            rec.subagent(
                agent="boss", child="kid", mode="tool", call_id="c9", input=[Message.user("x")]
            ) as s,
        ):
            with rec.llm_call(agent="kid", request=LLMRequest(messages=[Message.user("x")])) as st:
                st.response = LLMResponse(message=Message.assistant("done"))
            s.output = "done"
        rec.end_tool(t, "done")
    traj = rec.finish(Outcome(status=OutcomeStatus.COMPLETED, final_output="done"))
    (tool_step,) = normalize(traj)["steps"]
    (sub_step,) = tool_step["steps"]
    assert sub_step["kind"] == "subagent" and sub_step["output"] == "done"
    assert sub_step["steps"][0]["agent"] == "kid"


def test_malformed_arguments_keep_the_raw_text() -> None:
    rec = Recorder(provenance=PROV)
    step = rec.begin_tool(agent="a", name="t", call_id="1", arguments='{"a": 1')
    rec.end_tool(step, error=ValueError("bad"))
    assert step.arguments is None and step.raw_arguments == '{"a": 1'
    (form,) = normalize(rec.finish(Outcome(status=OutcomeStatus.ERROR)))["steps"]
    assert form["raw_arguments"] == '{"a": 1'
    assert form["error"] == {"type": "ValueError", "message": "bad"}


def test_json_round_trip_and_discriminated_steps() -> None:
    traj = record(("a", "b"), (0, 1))
    again = Trajectory.model_validate_json(traj.to_json())
    assert again == traj
    kinds = [type(s) for s in again.steps]
    assert kinds == [LLMStep, ToolStep, ToolStep, LLMStep]
    assert again.children(None) == again.steps
    assert again.step(again.steps[1].id).name == "add"  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        again.step("nope")


def test_schema_rejects_unknown_fields_and_kinds() -> None:
    data = json.loads(record(("a", "b"), (0, 1)).to_json())
    data["surprise"] = 1
    with pytest.raises(ValidationError):
        Trajectory.model_validate(data)
    data.pop("surprise")
    data["steps"][0]["kind"] = "mystery"
    with pytest.raises(ValidationError):
        Trajectory.model_validate(data)


def test_message_helpers() -> None:
    m = Message(role="user", content=[{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])
    assert m.text() == "ab"
    assert Message.assistant().text() == ""
    tc = ToolCall.make("1", "f", "[1]")
    with pytest.raises(ValueError):
        tc.parsed_arguments()
    assert ToolCall.make("1", "f", {"x": 1}).parsed_arguments() == {"x": 1}
    assert SubAgentStep.model_fields["mode"].annotation is not None
