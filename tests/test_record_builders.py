"""The records nex_core.trajectory._build makes without validation equal the validated ones:
same fields in the same order, same values, same "explicitly set" names, same JSON."""

from __future__ import annotations

from typing import Any

from nex_core.trajectory import _build
from nex_core.trajectory.schema import LLMRequest, LLMStep, Message, ToolSchema, ToolStep, utcnow


def _same(built: Any, validated: Any) -> None:
    assert type(built) is type(validated)
    assert list(built.__dict__) == list(type(validated).model_fields)
    assert built.__dict__ == validated.__dict__
    assert built.model_fields_set == validated.model_fields_set
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.__pydantic_extra__ is None and built.__pydantic_private__ is None


def test_request_and_tool_message() -> None:
    messages = [Message.system("s"), Message.user("u")]
    tools = [ToolSchema(name="t")]
    _same(
        _build.request(list(messages), list(tools), {"temperature": 0.5}),
        LLMRequest(messages=messages, tools=tools, params={"temperature": 0.5}),
    )
    _same(_build.tool_message("c1", "ok"), Message.tool("c1", "ok"))


def test_steps() -> None:
    now = utcnow()
    request = LLMRequest(messages=[Message.user("u")])
    _same(
        _build.llm_step("a1", None, "agent", now, "m", request),
        LLMStep(
            id="a1", parent_id=None, agent="agent", started_at=now, model="m", request=request,
            metadata={},
        ),
    )
    _same(
        _build.tool_step("b1", "a1", "agent", now, "c1", "add", {"x": 1}, None),
        ToolStep(
            id="b1", parent_id="a1", agent="agent", started_at=now, call_id="c1", name="add",
            arguments={"x": 1}, raw_arguments=None, metadata={},
        ),
    )


def test_assignment_marks_the_field_set() -> None:
    step = _build.tool_step("b1", None, None, utcnow(), None, "add", None, "{")
    _build.assign(step, "result", 3)
    assert step.result == 3 and "result" in step.model_fields_set


def test_llm_step_with_metadata_and_a_replaced_record() -> None:
    now = utcnow()
    request = LLMRequest(messages=[Message.user("u")])
    _same(
        _build.llm_step("a1", None, "agent", now, "m", request, {"langchain_run_id": "r"}),
        LLMStep(
            id="a1", parent_id=None, agent="agent", started_at=now, model="m", request=request,
            metadata={"langchain_run_id": "r"},
        ),
    )
    answer = Message.model_validate({"role": "assistant", "content": "hi", "name": None})
    _same(_build.replaced(answer, name="lead"), answer.model_copy(update={"name": "lead"}))
    assert answer.name is None
    assert _build.string_keys({"a": 1}) and not _build.string_keys({1: "a"})
