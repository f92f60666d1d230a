"""Structured output: what the model is asked for, and how its answer is checked.

An agent with an ``output_schema`` answers in JSON valid against it. The model is asked for a
``json_schema`` response format (the OpenAI shape, which vLLM, SGLang and Ollama honour as
guided decoding); the answer's text is parsed and validated here. The native runtime and every
adapter that builds an agent from a spec use the same check and the same feedback text, so an
invalid answer reads the same to the model in every framework.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nex_core.errors import StructuredOutputError
from nex_core.runtime.tools import InvalidArguments, validate_value

__all__ = [
    "OUTPUT_NAME",
    "StructuredOutputError",
    "feedback_text",
    "parse_output",
    "response_format",
    "schema_name",
]

OUTPUT_NAME = "final_output"
"""The response format's name when the schema has no usable ``title``."""

_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def schema_name(schema: dict[str, Any]) -> str:
    """A name for the schema as providers want it (``^[A-Za-z0-9_-]{1,64}$``): its ``title``,
    else ``final_output``."""
    title = schema.get("title")
    name = _NAME.sub("_", title).strip("_")[:64] if isinstance(title, str) else ""
    return name or OUTPUT_NAME


def response_format(schema: dict[str, Any]) -> dict[str, Any]:
    """The request parameter that asks an OpenAI-compatible model for ``schema``."""
    return {"type": "json_schema", "json_schema": {"name": schema_name(schema), "schema": schema}}


def parse_output(text: str, schema: dict[str, Any]) -> Any:
    """The JSON value of ``text``, valid against ``schema``; else :class:`StructuredOutputError`
    whose message says what is wrong (the text fed back to the model)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise StructuredOutputError(f"the answer is not JSON ({exc})") from None
    try:
        validate_value(value, schema, root="(answer)")
    except InvalidArguments as exc:
        raise StructuredOutputError(f"the answer does not match the output schema: {exc}") from None
    return value


def feedback_text(error: StructuredOutputError) -> str:
    """The user message that tells the model its answer failed (as tool errors read)."""
    return f"Error: StructuredOutputError: {error}"
