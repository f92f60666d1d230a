"""The records nex_core.trajectory._build makes without validation equal the validated ones:
same fields in the same order, same values, same "explicitly set" names, same JSON."""

from __future__ import annotations

import uuid
from typing import Any

from nex_core.trajectory import _build
from nex_core.trajectory._context import new_id, new_trajectory_id
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMStep,
    Message,
    Provenance,
    SubAgentStep,
    TaskInfo,
    ToolSchema,
    ToolStep,
    Trajectory,
    utcnow,
)


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


def test_subagent_step_trajectory_and_task() -> None:
    now = utcnow()
    task_message = Message.user("find it")
    _same(
        _build.subagent_step("s1", "a1", "lead", now, "helper", "tool", "c1", [task_message]),
        SubAgentStep(
            id="s1", parent_id="a1", agent="lead", started_at=now, child="helper", mode="tool",
            call_id="c1", input=[task_message], metadata={},
        ),
    )
    provenance = Provenance(framework="f", adapter="a", nex_version="1")
    task = TaskInfo(turns=["hi"])
    made = _build.trajectory("t1", provenance, task, "lead", "s", now)
    _same(
        made,
        Trajectory(
            id="t1", provenance=provenance, task=task, root_agent="lead", session_id="s",
            started_at=now,
        ),
    )
    assert made.provenance is provenance and made.task is task  # as validation keeps them
    _same(_build.empty_task(), TaskInfo())


def test_a_recorder_starts_the_trajectory_validation_would() -> None:
    provenance = Provenance(framework="f", adapter="a", nex_version="1")
    for kwargs in (
        {},
        {"task": TaskInfo(id="t", turns=["x"]), "root_agent": "r", "session_id": "s"},
        {"trajectory_id": "given"},
    ):
        recorder = Recorder(provenance=provenance, **kwargs)  # type: ignore[arg-type]
        made = recorder.trajectory
        expected = Trajectory(
            id=made.id,
            provenance=provenance,
            task=kwargs.get("task") or TaskInfo(),
            root_agent=kwargs.get("root_agent"),
            session_id=kwargs.get("session_id"),
            started_at=made.started_at,
        )
        _same(made, expected)
        if "trajectory_id" in kwargs:
            assert made.id == "given"
        else:  # a version-4 UUID's hex, as uuid4().hex writes it
            assert uuid.UUID(hex=made.id).version == 4 and uuid.UUID(hex=made.id).hex == made.id
    # A provenance given as a dict is validated, as before.
    validated = Recorder(provenance={"framework": "f", "adapter": "a", "nex_version": "1"})  # type: ignore[arg-type]
    assert type(validated.trajectory.provenance) is Provenance


def test_ids() -> None:
    ids = {new_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 16 and int(i, 16) >= 0 and i == i.lower() for i in ids)
    assert len({new_trajectory_id() for _ in range(2000)}) == 2000
    for bits in (0, 1, 0xABC, (1 << 64) - 1):  # the same text as the format it replaced
        assert hex(bits | (1 << 64))[3:] == f"{bits:016x}"


def test_slot_setters() -> None:
    """The four slots are set through their descriptors (the fast path is the one taken), and
    a slot pydantic kept elsewhere would be set through ``object.__setattr__``."""
    slots = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
    for name in slots:
        assert type(_build._slot_setter(name)).__name__ == "method-wrapper", name
    record = object.__new__(ToolSchema)
    fallback = _build._slot_setter("__no_such_slot__")
    assert type(fallback).__name__ == "function"
    _build._slot_setter("__dict__")(record, {"name": "t", "description": "", "parameters": {}})
    assert record.__dict__["name"] == "t"
