"""Structured output on the Agents SDK: ``Agent(output_type=...)`` ⇄ ``output_schema``.

A spec's ``output_schema`` is built as :class:`SpecOutputSchema`, an ``AgentOutputSchemaBase``
(the SDK's own extension point for output types) whose JSON Schema is the spec's as written (not
made strict) and whose check is the native runtime's. The SDK ends a run whose answer fails the
check (it never asks the model again), so ``limits.max_output_retries`` has no SDK form.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from agents.agent_output import AgentOutputSchema, AgentOutputSchemaBase

from nex_core.adapter import ConversionReport
from nex_core.protocol.output_model import schema_of_model
from nex_core.runtime.structured import parse_output, response_format, schema_name
from nex_core.trajectory.recorder import to_jsonable


class SpecOutputSchema(AgentOutputSchemaBase):
    """The answer of an agent built from a spec: JSON valid against ``schema``."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = copy.deepcopy(schema)

    def is_plain_text(self) -> bool:
        return False

    def name(self) -> str:
        return schema_name(self.schema)

    def json_schema(self) -> dict[str, Any]:
        return copy.deepcopy(self.schema)

    def is_strict_json_schema(self) -> bool:
        return False

    def validate_json(self, json_str: str) -> Any:
        return parse_output(json_str, self.schema)


def request_format(output_schema: AgentOutputSchemaBase | None) -> dict[str, Any] | None:
    """The ``response_format`` request parameter nex records for an SDK output schema."""
    if output_schema is None or output_schema.is_plain_text():
        return None
    return response_format(output_schema.json_schema())


def structured_of(output: Any) -> Any:
    """A run's final output as structured data (``None`` for a text answer)."""
    if output is None or isinstance(output, str):
        return None
    return to_jsonable(output)


def answer_text(output: Any) -> str:
    """A final output as text: a structured one as its JSON, as every adapter writes it."""
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    return json.dumps(to_jsonable(output), ensure_ascii=False, default=str)


def output_schema_of(
    output_type: Any, where: str, report: ConversionReport
) -> dict[str, Any] | None:
    """The JSON Schema of an agent's ``output_type``, with what the spec cannot say reported."""
    if output_type is None or output_type is str:
        return None
    if isinstance(output_type, SpecOutputSchema):
        return output_type.json_schema()
    if isinstance(output_type, AgentOutputSchemaBase):
        if output_type.is_plain_text():
            return None
        report.add(
            where,
            f"custom output schema {type(output_type).__name__}: its JSON Schema is carried, "
            "its own validate_json is not",
            "approximated",
        )
        return output_type.json_schema()
    schema = schema_of_model(output_type)
    if schema is None:
        report.add(where, f"output type {output_type!r} has no JSON Schema; not carried")
        return None
    name = getattr(output_type, "__name__", str(output_type))
    report.add(
        where,
        f"the answer's Python type ({name}) becomes its JSON Schema; recordings hold the "
        "answer as JSON",
        "info",
    )
    sent = AgentOutputSchema(output_type)
    if sent.is_strict_json_schema() or sent.json_schema() != schema:
        report.add(
            where,
            "the SDK shows the model its strict form of the type's schema (every property "
            'required, no additional properties; non-objects wrapped in {"response": ...}); '
            "the spec keeps the type's own schema",
            "approximated",
        )
    return schema
