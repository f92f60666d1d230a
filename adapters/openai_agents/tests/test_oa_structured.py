"""Structured output on the Agents SDK: ``output_type`` ⇄ ``output_schema``; the final output
is the outcome's structured output, recorded as the native runtime records it."""

from __future__ import annotations

import asyncio
from typing import Any

from agents import Agent
from nex_openai_agents import OpenAIAgentsAdapter
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
    sdk = OpenAIAgentsAdapter().run(spec, task, model=ScriptedModel(script))
    return native, sdk


def test_an_app_agent_with_a_pydantic_output_type_converts_to_its_schema() -> None:
    conversion = OpenAIAgentsAdapter().to_spec(Agent(name="forecaster", output_type=Forecast))
    assert isinstance(conversion.spec, AgentSpec)
    assert conversion.spec.output_schema == Forecast.model_json_schema()
    kinds = {i.severity for i in conversion.report.items if i.where.endswith(".output_type")}
    assert kinds == {"info", "approximated"}


def test_a_nested_structured_sub_agent_matches_native() -> None:
    child = AgentSpec(name="forecaster", output_schema=SCHEMA, description="Forecasts.")
    spec = AgentSpec(name="planner", sub_agents=[SubAgentSpec(agent=child)], output_schema=SCHEMA)
    script = {
        "agents": {
            "planner": [
                {"tool_calls": [{"name": "forecaster", "arguments": {"task": "Oslo"}}]},
                {"text": GOOD},
            ],
            "forecaster": [{"text": GOOD}],
        }
    }
    native, sdk = both(spec, script)
    assert normalize(sdk) == normalize(native)
    assert sdk.outcome.structured_output == {"city": "Oslo", "celsius": 4}
    first = next(s for s in sdk.steps if isinstance(s, LLMStep))
    assert first.request.params["response_format"]["json_schema"]["schema"] == SCHEMA
    built = OpenAIAgentsAdapter().from_spec(spec, model=ScriptedModel([]))
    assert OpenAIAgentsAdapter().to_spec(built).spec.output_schema == SCHEMA


def test_an_answer_that_does_not_fit_ends_the_run_error() -> None:
    spec = AgentSpec(name="forecaster", output_schema=SCHEMA, limits={"max_output_retries": 0})
    native, sdk = both(spec, [{"text": "{}"}])
    assert normalize(sdk)["outcome"] == normalize(native)["outcome"]
    assert sdk.outcome.status is OutcomeStatus.ERROR
    assert sdk.outcome.error is not None and sdk.outcome.error.type == "StructuredOutputError"


def test_the_written_program_builds_the_schema() -> None:
    spec = AgentSpec(name="forecaster", output_schema=SCHEMA)
    code = OpenAIAgentsAdapter().to_code(spec)
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(code, "generated.py", "exec"), namespace)
    agent = namespace["build"](ScriptedModel([{"text": GOOD}]))
    assert OpenAIAgentsAdapter().to_spec(agent).spec.output_schema == SCHEMA
    traj = asyncio.run(OpenAIAgentsAdapter().arecord(agent, "weather?"))
    assert traj.outcome is not None
    assert traj.outcome.structured_output == {"city": "Oslo", "celsius": 4}
