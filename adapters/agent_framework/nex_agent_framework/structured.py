"""Structured output on Agent Framework: ``response_format`` ⇄ ``output_schema``.

An agent built from a spec with an ``output_schema`` has ``response_format`` in its default
options: a pydantic model standing for the JSON Schema (``nex_core.protocol.output_model``), so
the model is asked for that schema and ``AgentResponse.value`` checks it. Agent Framework parses
the answer only when ``.value`` is read and never asks again; nex's driver (and the agent-as-tool
function below) checks each answer with the native runtime's check and, while retries remain,
appends the same feedback message and runs the agent again on the history.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agent_framework import AgentResponse, FunctionTool, Message
from pydantic import BaseModel

from nex_core.errors import StructuredOutputError
from nex_core.protocol.output_model import model_from_schema, schema_of_model
from nex_core.protocol.spec import AgentSpec
from nex_core.runtime.structured import feedback_text, parse_output
from nex_core.runtime.tools import ToolHandle
from nex_core.trajectory.recorder import to_jsonable

Runner = Callable[[list[Message]], Awaitable[AgentResponse]]


def response_format_for(spec: AgentSpec) -> type[BaseModel] | None:
    """The ``response_format`` option of an agent built from ``spec``."""
    return None if spec.output_schema is None else model_from_schema(spec.output_schema)


def schema_of_format(response_format: Any) -> dict[str, Any] | None:
    """The JSON Schema a ``response_format`` option asks for: a pydantic model's, or a mapping
    that is a JSON Schema itself (or OpenAI's ``{"type": "json_schema", ...}`` around one)."""
    if response_format is None:
        return None
    if isinstance(response_format, Mapping):
        inner = response_format.get("json_schema")
        if response_format.get("type") == "json_schema" and isinstance(inner, Mapping):
            return dict(inner.get("schema") or {})
        return dict(response_format)
    return schema_of_model(response_format)


def last_text(response: AgentResponse) -> str:
    """The text of a run's last assistant message (what Agent Framework parses)."""
    for message in reversed(response.messages):
        if str(message.role) == "assistant" and message.text:
            return str(message.text)
    return ""


def structured_value(response: AgentResponse) -> Any:
    """The structured answer of an app's run (its ``response_format`` parsed), as JSON data;
    ``None`` when it has none."""
    if getattr(response, "_response_format", None) is None:
        return None
    try:
        value = response.value
    except ValueError:  # pydantic's ValidationError too: the answer does not fit its format
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return to_jsonable(value)


def check(response: AgentResponse, spec: AgentSpec) -> Any:
    """The answer of ``response`` valid against ``spec.output_schema``, else
    :class:`StructuredOutputError`."""
    assert spec.output_schema is not None
    return parse_output(last_text(response), spec.output_schema)


def feedback(error: StructuredOutputError) -> Message:
    """The user message that tells the model its answer failed, as natively."""
    return Message("user", [feedback_text(error)])


def structured_agent_tool(handle: ToolHandle, child: Any, spec: AgentSpec) -> FunctionTool:
    """Agent-as-tool for a child with an output schema: its checked answer's JSON is the
    result, as the native runtime returns it (``as_tool`` would return the raw text, unchecked).
    The function closes over ``child``, so the recorder finds the agent it calls."""
    retries = spec.limits.max_output_retries

    async def ask(task: str) -> str:
        history = [Message("user", [str(task)])]
        for attempt in range(retries + 1):
            response = await child.run(list(history))
            history.extend(response.messages)
            try:
                value = check(response, spec)
            except StructuredOutputError as exc:
                if attempt >= retries:
                    raise
                history.append(feedback(exc))
                continue
            return json.dumps(value, ensure_ascii=False)
        raise AssertionError("unreachable")

    return FunctionTool(
        name=handle.schema.name,
        description=handle.schema.description,
        func=ask,
        input_model=dict(handle.schema.parameters),
    )
