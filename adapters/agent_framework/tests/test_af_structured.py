"""Structured output on Agent Framework: ``response_format`` ⇄ ``output_schema``; a checked
answer is the outcome's structured output, recorded as the native runtime records it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agent_framework import Agent
from nex_agent_framework import AgentFrameworkAdapter, bridge_model
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
    framework = AgentFrameworkAdapter().run(spec, task, model=ScriptedModel(script))
    return native, framework


@pytest.mark.parametrize(
    ("given", "schema"), [(Forecast, Forecast.model_json_schema()), (SCHEMA, SCHEMA)]
)
def test_an_app_agent_records_and_converts_its_response_format(given: Any, schema: Any) -> None:
    agent = Agent(
        client=bridge_model(ScriptedModel([{"text": GOOD}]), agent="forecaster"),
        name="forecaster",
        default_options={"response_format": given},
    )
    adapter = AgentFrameworkAdapter()
    conversion = adapter.to_spec(agent)
    assert isinstance(conversion.spec, AgentSpec) and conversion.spec.output_schema == schema
    assert any(i.severity == "approximated" for i in conversion.report.items)
    traj = asyncio.run(adapter.arecord(agent, "weather?"))
    assert traj.outcome is not None
    assert traj.outcome.structured_output == {"city": "Oslo", "celsius": 4}
    (step,) = [s for s in traj.steps if isinstance(s, LLMStep)]
    assert step.request.params["response_format"]["json_schema"]["schema"] == schema


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
            "forecaster": [{"text": "{}"}, {"text": GOOD}],
        }
    }
    native, framework = both(spec, script)
    assert normalize(framework) == normalize(native)
    assert framework.outcome.structured_output == {"city": "Oslo", "celsius": 4}
    built = AgentFrameworkAdapter().from_spec(spec, model=ScriptedModel([]))
    assert AgentFrameworkAdapter().to_spec(built).spec.output_schema == SCHEMA


def test_answers_that_never_fit_end_the_run_error() -> None:
    spec = AgentSpec(name="forecaster", output_schema=SCHEMA, limits={"max_output_retries": 1})
    native, framework = both(spec, [{"text": "cold"}, {"text": "{}"}])
    assert normalize(framework) == normalize(native)
    assert framework.outcome.status is OutcomeStatus.ERROR
    assert framework.outcome.error is not None
    assert framework.outcome.error.type == "StructuredOutputError"


def test_the_written_program_asks_for_the_schema() -> None:
    spec = AgentSpec(name="forecaster", output_schema=SCHEMA)
    code = AgentFrameworkAdapter().to_code(spec)
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(code, "generated.py", "exec"), namespace)
    agent = namespace["build_forecaster"](ScriptedModel([{"text": GOOD}]))
    traj = asyncio.run(AgentFrameworkAdapter().arecord(agent, "weather?"))
    assert traj.outcome is not None
    assert traj.outcome.structured_output == {"city": "Oslo", "celsius": 4}
