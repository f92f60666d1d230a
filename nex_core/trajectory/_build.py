"""Records built from values that are already valid, without running pydantic's validator.

The native runtime builds four records a tool round (a request, two steps, a tool message) from
values it made itself; validating them again was about a tenth of its time per step. Each
builder here takes only values of the exact declared types (callers check, or fall back to the
validating constructor) and makes the record validation would make: every field present, in
declaration order, the same "explicitly set" names. ``tests/test_record_builders.py`` compares
each with the validated record, so a field added to the schema fails there, not silently here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from nex_core.trajectory.schema import (
    TRAJECTORY_VERSION,
    LLMRequest,
    LLMStep,
    Message,
    Provenance,
    StepStatus,
    SubAgentStep,
    TaskInfo,
    ToolSchema,
    ToolStep,
    Trajectory,
)

_new = object.__new__
_setattr = object.__setattr__
_RUNNING = StepStatus.RUNNING  # an enum member read through its class costs a lookup per step


def _slot_setter(name: str) -> Any:
    """The setter of one of ``BaseModel``'s slots (``__dict__`` and the three pydantic keeps
    beside it), called directly: ``object.__setattr__`` finds the same descriptor through the
    class's attribute lookup on every call, a fifth of what building a record costs. Should a
    pydantic release keep them elsewhere, ``object.__setattr__`` still sets them."""
    descriptor = BaseModel.__dict__.get(name)
    setter = getattr(descriptor, "__set__", None)
    if setter is None:
        return lambda record, value: _setattr(record, name, value)
    return setter


_set_dict = _slot_setter("__dict__")
_set_fields_set = _slot_setter("__pydantic_fields_set__")
_set_extra = _slot_setter("__pydantic_extra__")
_set_private = _slot_setter("__pydantic_private__")

_ready: set[type] = set()
"""The record classes whose pydantic model is built (a set lookup: reading
``cls.__pydantic_complete__`` goes through pydantic's metaclass ``__getattr__`` hook)."""

_LLM_GIVEN = frozenset({"id", "parent_id", "agent", "started_at", "model", "request", "metadata"})
_TOOL_GIVEN = frozenset(
    {
        "id",
        "parent_id",
        "agent",
        "started_at",
        "call_id",
        "name",
        "arguments",
        "raw_arguments",
        "metadata",
    }
)
_SUBAGENT_GIVEN = frozenset(
    {"id", "parent_id", "agent", "started_at", "child", "mode", "call_id", "input", "metadata"}
)
_TRAJECTORY_GIVEN = frozenset(
    {"id", "provenance", "task", "root_agent", "session_id", "started_at"}
)
_NO_FIELDS: frozenset[str] = frozenset()

# A new step's fields, in declaration order, with the values every new step has; a builder
# copies the template (in C) and sets the given ones, cheaper than a 14- or 17-key literal.
_STEP_FIELDS: dict[str, Any] = {
    "id": None,
    "parent_id": None,
    "agent": None,
    "started_at": None,
    "ended_at": None,
    "status": _RUNNING,
    "error": None,
    "metadata": None,
    "rewards": None,
    "labels": None,
}
_LLM_FIELDS = {**_STEP_FIELDS, "kind": "llm", "model": None, "request": None, "response": None}
_TOOL_FIELDS = {
    **_STEP_FIELDS,
    "kind": "tool",
    "call_id": None,
    "name": None,
    "arguments": None,
    "raw_arguments": None,
    "result": None,
    "latency_ms": None,
}
_REQUEST_GIVEN = frozenset({"messages", "tools", "params"})
_TOOL_MESSAGE_GIVEN = frozenset({"role", "content", "tool_call_id"})


def plain(value: Any) -> bool:
    """Whether a ``str | None`` field keeps ``value`` as it is (validation converts a str
    subclass, and rejects anything else)."""
    return value is None or type(value) is str


def built(cls: Any, fields: dict[str, Any], given: frozenset[str]) -> Any:
    """A record of ``cls`` holding ``fields`` (every field, in declaration order)."""
    if cls not in _ready:
        _prepare(cls)
    record = _new(cls)
    _set_dict(record, fields)
    _set_fields_set(record, set(given))
    _set_extra(record, None)
    _set_private(record, None)
    return record


def _prepare(cls: Any) -> None:
    # The record models are built on first use (defer_build, for start-up time); a record made
    # here may be the first, and serialising it needs the built model.
    if not cls.__pydantic_complete__:
        cls.model_rebuild()
    if cls.__pydantic_complete__:
        _ready.add(cls)


def assign(record: Any, name: str, value: Any) -> None:
    """``record.name = value`` as pydantic's ``__setattr__`` does it for a plain field (the
    schema validates no assignment), without its Python-level dispatch."""
    record.__dict__[name] = value
    record.__pydantic_fields_set__.add(name)


def llm_step(
    id: str,
    parent_id: str | None,
    agent: str | None,
    started_at: datetime,
    model: str | None,
    request: LLMRequest,
    metadata: dict[str, Any] | None = None,
) -> LLMStep:
    """An LLM step; ``metadata`` a new dict with string keys (the step's own) or none."""
    fields = _LLM_FIELDS.copy()
    fields["id"] = id
    fields["parent_id"] = parent_id
    fields["agent"] = agent
    fields["started_at"] = started_at
    fields["metadata"] = {} if metadata is None else metadata
    fields["model"] = model
    fields["request"] = request
    step: LLMStep = built(LLMStep, fields, _LLM_GIVEN)
    return step


def tool_step(
    id: str,
    parent_id: str | None,
    agent: str | None,
    started_at: datetime,
    call_id: str | None,
    name: str,
    arguments: dict[str, Any] | None,
    raw_arguments: str | None,
) -> ToolStep:
    fields = _TOOL_FIELDS.copy()
    fields["id"] = id
    fields["parent_id"] = parent_id
    fields["agent"] = agent
    fields["started_at"] = started_at
    fields["metadata"] = {}
    fields["call_id"] = call_id
    fields["name"] = name
    fields["arguments"] = arguments
    fields["raw_arguments"] = raw_arguments
    step: ToolStep = built(ToolStep, fields, _TOOL_GIVEN)
    return step


def string_keys(value: Any) -> bool:
    """Whether ``value`` is a plain dict with string keys (a ``dict[str, Any]`` field keeps
    such a dict's items as they are)."""
    return type(value) is dict and all(type(key) is str for key in value)


def replaced(record: Any, **changes: Any) -> Any:
    """``record.model_copy(update=changes)`` for plain fields whose values are already valid,
    without pydantic's copy machinery (a shallow copy: the other fields' values are shared)."""
    fields = dict(record.__dict__)
    fields.update(changes)
    copy = built(type(record), fields, frozenset())
    copy.__pydantic_fields_set__.update(record.__pydantic_fields_set__, changes)
    return copy


def request(
    messages: list[Message], tools: list[ToolSchema], params: dict[str, Any]
) -> LLMRequest:
    """An LLM request from a new list of messages, a new list of tool schemas and a new params
    dict with string keys (validation would copy each; these are the request's own)."""
    built_request: LLMRequest = built(
        LLMRequest,
        {"messages": messages, "messages_from": None, "tools": tools, "params": params},
        _REQUEST_GIVEN,
    )
    return built_request


def tool_message(call_id: str, text: str) -> Message:
    """``Message.tool(call_id, text)`` for two strings."""
    message: Message = built(
        Message,
        {
            "role": "tool",
            "content": text,
            "name": None,
            "tool_calls": None,
            "tool_call_id": call_id,
            "reasoning": None,
        },
        _TOOL_MESSAGE_GIVEN,
    )
    return message


def subagent_step(
    id: str,
    parent_id: str | None,
    agent: str | None,
    started_at: datetime,
    child: str,
    mode: str,
    call_id: str | None,
    input: list[Message],
) -> SubAgentStep:
    """A sub-agent step; ``mode`` one of the schema's three, ``input`` a new list of
    messages (the step's own)."""
    step: SubAgentStep = built(
        SubAgentStep,
        {
            "id": id,
            "parent_id": parent_id,
            "agent": agent,
            "started_at": started_at,
            "ended_at": None,
            "status": _RUNNING,
            "error": None,
            "metadata": {},
            "rewards": None,
            "labels": None,
            "kind": "subagent",
            "child": child,
            "mode": mode,
            "call_id": call_id,
            "input": input,
            "output": None,
        },
        _SUBAGENT_GIVEN,
    )
    return step


def trajectory(
    id: str,
    provenance: Provenance,
    task: TaskInfo,
    root_agent: str | None,
    session_id: str | None,
    started_at: datetime,
) -> Trajectory:
    """A new, empty trajectory (what ``Recorder`` starts with); validation would keep the
    given ``Provenance`` and ``TaskInfo`` objects as they are, and so does this."""
    built_trajectory: Trajectory = built(
        Trajectory,
        {
            "schema_version": TRAJECTORY_VERSION,
            "id": id,
            "provenance": provenance,
            "task": task,
            "root_agent": root_agent,
            "session_id": session_id,
            "started_at": started_at,
            "ended_at": None,
            "steps": [],
            "outcome": None,
            "metadata": {},
        },
        _TRAJECTORY_GIVEN,
    )
    return built_trajectory


def empty_task() -> TaskInfo:
    """``TaskInfo()``."""
    task: TaskInfo = built(TaskInfo, {"id": None, "turns": []}, _NO_FIELDS)
    return task
