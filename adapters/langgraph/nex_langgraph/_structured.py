"""Structured output on LangGraph: ``create_agent(response_format=...)`` ⇄ ``output_schema``.

Conversion reads the JSON Schema of whatever strategy an agent was given (a ``ToolStrategy``, a
``ProviderStrategy``, or a bare pydantic model / dataclass / TypedDict / JSON-schema dict, which
``create_agent`` wraps in an ``AutoStrategy``). A spec is built with a ``ProviderStrategy`` of
its JSON Schema (the model is asked for a JSON answer, as the native runtime asks) and
:class:`StructuredOutputMiddleware`, which checks the answer with nex's own check and feeds an
invalid one back as the native runtime does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.structured_output import (
    AutoStrategy,
    ProviderStrategy,
    StructuredOutputValidationError,
    ToolStrategy,
)
from langchain_core.messages import AIMessage, HumanMessage

from nex_core.adapter import ConversionReport
from nex_core.errors import StructuredOutputError
from nex_core.runtime.structured import feedback_text, parse_output

STRATEGIES = (ToolStrategy, ProviderStrategy, AutoStrategy)


def output_schema_of(strategy: Any, where: str, report: ConversionReport) -> dict[str, Any] | None:
    """The JSON Schema an agent's response format asks for, with what the spec cannot say
    reported under ``where`` (``<agent>.response_format``)."""
    kind = type(strategy).__name__
    if isinstance(strategy, ToolStrategy):
        specs = list(strategy.schema_specs)
        if strategy.handle_errors is not True:
            report.add(
                where,
                f"ToolStrategy handle_errors={strategy.handle_errors!r} is not carried: the "
                "spec's agent feeds every invalid answer back, up to limits.max_output_retries",
            )
        report.add(
            where,
            "ToolStrategy answers through a tool call named after the schema; the spec's "
            "agent answers in a JSON message valid against the same schema",
            "approximated",
        )
    elif isinstance(strategy, ProviderStrategy | AutoStrategy):
        specs = [strategy.schema_spec] if hasattr(strategy, "schema_spec") else []
        if not specs:  # AutoStrategy keeps only the schema
            from langchain.agents.structured_output import _SchemaSpec

            specs = [_SchemaSpec(strategy.schema)]
    else:
        report.add(where, f"response format {kind} is not understood; not carried")
        return None
    schemas = [dict(s.json_schema) for s in specs]
    python = [s for s in specs if s.schema_kind != "json_schema"]
    if python:
        report.add(
            where,
            "the answer's Python type ("
            + ", ".join(getattr(s.schema, "__name__", str(s.schema)) for s in python)
            + ") becomes its JSON Schema; recordings hold the answer as JSON",
            "info",
        )
    if len(schemas) == 1:
        return schemas[0]
    report.add(where, f"a union of {len(schemas)} schemas becomes one anyOf schema", "approximated")
    return {"anyOf": schemas}


def strategy_for(schema: dict[str, Any]) -> ProviderStrategy[Any]:
    """The response format a spec's ``output_schema`` is built as."""
    return ProviderStrategy(schema)


class StructuredOutputMiddleware(AgentMiddleware):
    """The native runtime's check of a final answer: JSON valid against the schema, else the
    error goes back to the model as a user message, ``max_retries`` times, then the run fails
    with :class:`StructuredOutputError`."""

    def __init__(self, agent: str, schema: dict[str, Any], max_retries: int) -> None:
        super().__init__()
        self.agent = agent
        self.schema = schema
        self.max_retries = max_retries

    def _checked(self, request: Any, response: Any, error: Exception | None) -> Any:
        """``(value, None)`` for a valid answer (or a reply with tool calls), else
        ``(None, the AI message and the error)``."""
        message = getattr(error, "ai_message", None) if error is not None else _last_ai(response)
        if message is None or message.tool_calls:
            if error is not None:
                raise error
            return response, None
        try:
            value = parse_output(message.text, self.schema)
        except StructuredOutputError as exc:
            return None, (message, exc)
        response.structured_response = value
        return response, None

    def wrap_model_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        extra: list[Any] = []
        for attempt in range(self.max_retries + 1):
            try:
                response, error = handler(request), None
            except StructuredOutputValidationError as exc:
                response, error = None, exc
            done, failed = self._checked(request, response, error)
            if failed is None:
                done.result = [*extra, *done.result]
                return done
            request, extra = self._again(request, extra, failed, attempt)
        raise AssertionError("unreachable")

    async def awrap_model_call(
        self, request: Any, handler: Callable[[Any], Awaitable[Any]]
    ) -> Any:
        extra: list[Any] = []
        for attempt in range(self.max_retries + 1):
            try:
                response, error = await handler(request), None
            except StructuredOutputValidationError as exc:
                response, error = None, exc
            done, failed = self._checked(request, response, error)
            if failed is None:
                done.result = [*extra, *done.result]
                return done
            request, extra = self._again(request, extra, failed, attempt)
        raise AssertionError("unreachable")

    def _again(
        self, request: Any, extra: list[Any], failed: tuple[AIMessage, StructuredOutputError],
        attempt: int,
    ) -> tuple[Any, list[Any]]:
        message, exc = failed
        if attempt >= self.max_retries:
            raise exc
        added = [message, HumanMessage(content=feedback_text(exc))]
        return request.override(messages=[*request.messages, *added]), [*extra, *added]


def _last_ai(response: Any) -> AIMessage | None:
    for message in reversed(getattr(response, "result", None) or []):
        if isinstance(message, AIMessage):
            return message
    return None
