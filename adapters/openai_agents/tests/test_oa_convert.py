"""Agents SDK objects → nex specs, with an honest report; the spec runs on the native runtime."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from agents import Agent, WebSearchTool, function_tool, handoff
from agents.mcp import MCPServerStdio
from click.testing import CliRunner
from nex_openai_agents import OpenAIAgentsAdapter
from oa_docs_app import homework_guard, orchestrator, triage
from oa_tools import add

from nex_core import AdapterError, ScriptedModel, TaskInfo, load_spec, run_native
from nex_core.cli.main import cli
from nex_core.protocol.spec import CallableBinding, ContextMode, ImportBinding

ADAPTER = OpenAIAgentsAdapter()


def report_of(conversion: object) -> dict[str, str]:
    return {i.where: i.severity for i in conversion.report.items}  # type: ignore[attr-defined]


def test_handoffs_convert_and_the_spec_runs_natively_with_the_sdk_tool_bound() -> None:
    conversion = ADAPTER.to_spec(triage(ScriptedModel([])))
    spec = conversion.spec
    assert spec.name == "Triage_agent"  # renamed, and reported
    assert [(s.mode, s.child.name) for s in spec.sub_agents] == [
        (ContextMode.HANDOFF, "Spanish_agent"),
        (ContextMode.HANDOFF, "English_agent"),
    ]
    spanish = spec.sub_agents[0].child
    assert spanish.description == "Speaks Spanish."
    assert isinstance(spanish.tools[0].binding, CallableBinding)
    assert report_of(conversion)["Triage agent"] == "approximated"
    script = {
        "agents": {
            "Triage_agent": [
                {"tool_calls": [{"name": "transfer_to_Spanish_agent", "arguments": {}}]}
            ],
            "Spanish_agent": [
                {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Madrid"}}]},
                {"text": "Sol."},
            ],
        }
    }
    traj = asyncio.run(run_native(spec, TaskInfo(turns=["Hola"]), model=ScriptedModel(script)))
    assert traj.outcome is not None and traj.outcome.final_output == "Sol."
    weather = next(s for s in traj.steps if s.kind == "tool" and s.name == "get_weather")
    assert weather.result == "The weather in Madrid is sunny."


def test_agents_as_tools_become_tool_sub_agents_with_the_schema_difference_reported() -> None:
    conversion = ADAPTER.to_spec(orchestrator(ScriptedModel([])))
    sub = conversion.spec.sub_agents[0]
    assert (sub.mode, sub.child.name, sub.tool_name) == (
        ContextMode.TOOL,
        "spanish_agent",
        "translate_to_spanish",
    )
    assert "orchestrator_agent.tools.translate_to_spanish" in report_of(conversion)


def test_guardrails_output_types_hosted_tools_and_dynamic_instructions_are_reported() -> None:
    guarded = ADAPTER.to_spec(homework_guard(ScriptedModel([])))
    assert report_of(guarded)["Guardrail check.input_guardrails"] == "lost"
    # The output type is carried as its JSON Schema; the SDK's strict form of it is reported.
    assert report_of(guarded)["Guardrail check.output_type"] == "approximated"
    assert guarded.spec.output_schema is not None
    dynamic = Agent(name="d", instructions=lambda ctx, agent: "now", tools=[WebSearchTool()])
    found = report_of(ADAPTER.to_spec(dynamic))
    assert found["d.instructions"] == "lost" and found["d.tools.web_search"] == "lost"
    assert not ADAPTER.to_spec(dynamic).report.lossless


def test_mcp_servers_are_declared_and_importable_functions_bound_by_path() -> None:
    server = MCPServerStdio(params={"command": "mcp-server-time", "args": []}, name="time")
    tool = function_tool(add)  # called, not decorating: the module keeps the function
    agent = Agent(name="m", tools=[tool], mcp_servers=[server], handoffs=[handoff(Agent(name="h"))])
    conversion = ADAPTER.to_spec(agent)
    spec = conversion.spec
    assert spec.mcp_servers["time"].command == "mcp-server-time"
    assert isinstance(spec.tools[0].binding, ImportBinding)
    assert spec.tools[0].binding.path == "oa_tools:add"
    assert spec.sub_agents[0].resolved_tool_name() == "transfer_to_h"
    assert report_of(conversion)["m.mcp_servers.time"] == "approximated"


def test_what_is_not_an_agent_is_an_adapter_error_naming_it() -> None:
    with pytest.raises(AdapterError, match=r"cannot convert builtins\.dict.*agents\.Agent"):
        ADAPTER.to_spec({"name": "x"})


def test_a_handoff_cycle_is_refused_with_what_to_do() -> None:
    a = Agent(name="a")
    b = Agent(name="b", handoffs=[a])
    a.handoffs = [b]
    with pytest.raises(AdapterError, match="form a tree"):
        ADAPTER.to_spec(a)


def test_nex_convert_reads_an_agent_from_a_python_file(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        "from agents import Agent, function_tool\n\n\n"
        "def add(a: float, b: float) -> float:\n"
        '    """Add two numbers."""\n'
        "    return a + b\n\n\n"
        'helper = Agent(name="helper", instructions="Help.")\n'
        'agent = Agent(name="calc", instructions="Add.", tools=[function_tool(add)],\n'
        "              handoffs=[helper], output_type=int)\n"
    )
    out = tmp_path / "calc.yaml"
    result = CliRunner().invoke(cli, ["convert", f"{app}:agent", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "calc.output_type" in result.output  # the report
    spec = load_spec(out)
    assert [t.name for t in spec.tools] == ["add"] and spec.sub_agents[0].child.name == "helper"
