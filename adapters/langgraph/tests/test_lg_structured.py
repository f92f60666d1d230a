"""Structured output on LangGraph: response formats convert to ``output_schema``, a spec's
``output_schema`` builds a ``ProviderStrategy`` agent that records as the native runtime does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.structured_output import ProviderStrategy, ToolStrategy
from nex_langgraph import arun, bridge_model, from_spec, to_spec
from pydantic import BaseModel
from typing_extensions import TypedDict

from nex_core import ScriptedModel, TaskInfo, normalize, run_native
from nex_core.protocol.spec import AgentSpec, SubAgentSpec
from nex_core.trajectory.schema import OutcomeStatus

SCHEMA = {
    "title": "Forecast",
    "type": "object",
    "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
    "required": ["city", "celsius"],
}
GOOD = '{"city": "Oslo", "celsius": 4}'


class Forecast(BaseModel):
    city: str
    celsius: float


class ForecastDict(TypedDict):
    city: str
    celsius: float


def agent_with(response_format: Any) -> Any:
    model = bridge_model(ScriptedModel([]), agent="forecaster")
    return create_agent(model, [], name="forecaster", response_format=response_format)


@pytest.mark.parametrize(
    ("given", "schema", "kinds"),
    [
        (ToolStrategy(Forecast), Forecast.model_json_schema(), {"approximated", "info"}),
        (ProviderStrategy(SCHEMA), SCHEMA, set()),
        (Forecast, Forecast.model_json_schema(), {"info"}),
        (SCHEMA, SCHEMA, set()),
        (ForecastDict, ProviderStrategy(ForecastDict).schema_spec.json_schema, {"info"}),
    ],
    ids=["tool_strategy", "provider_strategy", "pydantic", "json_schema", "typeddict"],
)
def test_every_response_format_converts_to_output_schema(
    given: Any, schema: dict[str, Any], kinds: set[str]
) -> None:
    conversion = to_spec(agent_with(given))
    assert isinstance(conversion.spec, AgentSpec)
    assert conversion.spec.output_schema == schema
    items = [i for i in conversion.report.items if i.where == "forecaster.response_format"]
    assert {i.severity for i in items} == kinds


def test_a_union_of_schemas_is_one_anyof_and_reported() -> None:
    class Other(BaseModel):
        note: str

    conversion = to_spec(agent_with(ToolStrategy(Forecast | Other)))
    assert isinstance(conversion.spec, AgentSpec) and conversion.spec.output_schema is not None
    assert len(conversion.spec.output_schema["anyOf"]) == 2
    assert any("anyOf" in i.what for i in conversion.report.items)


def both(spec: Any, script: Any) -> tuple[Any, Any]:
    task = TaskInfo(id="t1", turns=["weather?"])
    native = asyncio.run(run_native(spec, task, model=ScriptedModel(script)))
    graph = asyncio.run(arun(spec, task, model=ScriptedModel(script)))
    return native, graph


def test_a_nested_structured_sub_agent_and_a_retry_match_native() -> None:
    child = AgentSpec(name="forecaster", output_schema=SCHEMA, description="Forecasts.")
    spec = AgentSpec(name="planner", sub_agents=[SubAgentSpec(agent=child)], output_schema=SCHEMA)
    script = {
        "agents": {
            "planner": [
                {"tool_calls": [{"name": "forecaster", "arguments": {"task": "Oslo"}}]},
                {"text": "cold"},
                {"text": GOOD},
            ],
            "forecaster": [{"text": GOOD}],
        }
    }
    native, graph = both(spec, script)
    assert normalize(graph) == normalize(native)
    assert graph.outcome.structured_output == {"city": "Oslo", "celsius": 4}
    assert to_spec(from_spec(spec, model=ScriptedModel([]))).spec.output_schema == SCHEMA


def test_answers_that_never_fit_end_the_run_error() -> None:
    spec = AgentSpec(name="forecaster", output_schema=SCHEMA, limits={"max_output_retries": 1})
    native, graph = both(spec, [{"text": "cold"}, {"text": "{}"}])
    assert normalize(graph) == normalize(native)
    assert graph.outcome.status is OutcomeStatus.ERROR
    assert graph.outcome.error is not None and graph.outcome.error.type == "StructuredOutputError"
