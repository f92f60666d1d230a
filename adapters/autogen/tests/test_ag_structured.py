"""Structured output on AutoGen: ``output_content_type`` ⇄ ``output_schema``; a StructuredMessage
answer is the outcome's structured output, recorded as the native runtime records it."""

from __future__ import annotations

import asyncio
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from nex_autogen import AutogenAdapter, bridge_model
from pydantic import BaseModel

from nex_core import ScriptedModel, TaskInfo, normalize, run_native
from nex_core.protocol.spec import AgentSpec, SubAgentSpec
from nex_core.trajectory.schema import LLMStep, OutcomeStatus

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


def both(spec: Any, script: Any) -> tuple[Any, Any]:
    task = TaskInfo(id="t1", turns=["weather?"])
    native = asyncio.run(run_native(spec, task, model=ScriptedModel(script)))
    autogen = AutogenAdapter().run(spec, task, model=ScriptedModel(script))
    return native, autogen


def test_an_app_agent_with_a_pydantic_output_type_converts_to_its_schema() -> None:
    agent = AssistantAgent(
        "forecaster", bridge_model(ScriptedModel([])), output_content_type=Forecast
    )
    conversion = AutogenAdapter().to_spec(agent)
    assert isinstance(conversion.spec, AgentSpec)
    assert conversion.spec.output_schema == Forecast.model_json_schema()
    severities = {
        i.severity for i in conversion.report.items if i.where.endswith(".output_content_type")
    }
    assert severities == {"info", "approximated"}


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
    native, autogen = both(spec, script)
    assert normalize(autogen) == normalize(native)
    assert autogen.outcome.structured_output == {"city": "Oslo", "celsius": 4}
    first = next(s for s in autogen.steps if isinstance(s, LLMStep))
    assert first.request.params["response_format"]["json_schema"]["schema"] == SCHEMA
    built = AutogenAdapter().from_spec(spec, model=ScriptedModel([]))
    assert AutogenAdapter().to_spec(built).spec.output_schema == SCHEMA


def test_answers_that_never_fit_end_the_run_error() -> None:
    spec = AgentSpec(name="forecaster", output_schema=SCHEMA, limits={"max_output_retries": 1})
    native, autogen = both(spec, [{"text": "cold"}, {"text": "{}"}])
    assert normalize(autogen) == normalize(native)
    assert autogen.outcome.status is OutcomeStatus.ERROR
    assert autogen.outcome.error is not None
    assert autogen.outcome.error.type == "StructuredOutputError"
