"""Agent Framework agents → nex specs with an honest report; spec → Agent Framework → spec; and
``nex convert`` across frameworks through the spec (AutoGen → Agent Framework and back)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from af_docs_agents import travel_agent, weather_agent
from af_support import run
from agent_framework import Agent, AgentMiddleware, FunctionTool, MCPStdioTool
from nex_agent_framework import AgentFrameworkAdapter, bridge_model

from nex_core import ScriptedModel, normalize, run_native
from nex_core.errors import AdapterError
from nex_core.protocol import spec_from_data
from nex_core.protocol.spec import AgentSpec, ContextMode, ImportBinding, MCPBinding
from nex_core.trajectory.schema import TaskInfo

MODEL = ScriptedModel({"replies": []})
REPO = Path(__file__).resolve().parents[3]


def test_a_docs_style_agent_with_an_agent_tool_becomes_a_spec(
    adapter: AgentFrameworkAdapter,
) -> None:
    conversion = adapter.to_spec(travel_agent(MODEL))
    spec = conversion.spec
    assert spec.name == "TravelAgent" and spec.model.temperature == 0.3
    assert spec.system_prompt.startswith("You plan trips.")
    (sub,) = spec.sub_agents
    assert sub.mode is ContextMode.TOOL and sub.child.name == "WeatherAgent"
    tools = {t.name: t for t in sub.child.tools}
    assert set(tools) == {"get_weather", "get_time"}
    binding = tools["get_weather"].binding
    assert isinstance(binding, ImportBinding) and binding.path == "af_docs_agents:get_weather"
    assert tools["get_weather"].parameters is not None
    assert "location" in tools["get_weather"].parameters["properties"]
    # The function loop's limit is the protocol's max_steps, and the report says how they differ.
    assert any("max_iterations" in i.what for i in conversion.report.items)


def test_the_converted_spec_runs_natively_as_the_agent_ran(adapter: AgentFrameworkAdapter) -> None:
    script = {
        "agents": {
            "WeatherAgent": [
                {
                    "tool_calls": [
                        {"id": "c1", "name": "get_weather", "arguments": {"location": "Oslo"}}
                    ]
                },
                {"text": "Cloudy."},
            ]
        }
    }
    spec = adapter.to_spec(weather_agent(MODEL)).spec
    recorded = run(adapter.arecord(weather_agent(ScriptedModel(script)), "Oslo?"))
    native = run(run_native(spec, TaskInfo(turns=["Oslo?"]), model=ScriptedModel(script)))
    assert normalize(native) == normalize(recorded)


def test_what_the_protocol_cannot_hold_is_reported(adapter: AgentFrameworkAdapter) -> None:
    class Audit(AgentMiddleware):
        async def process(self, context: Any, call_next: Any) -> None:
            await call_next()

    def local_tool(x: int) -> int:
        return x

    agent = Agent(
        client=bridge_model(MODEL),
        name="busy",
        tools=[FunctionTool(name="local", func=local_tool, approval_mode="always_require")],
        middleware=[Audit()],
        default_options={"response_format": None, "frequency_penalty": 0.5},
    )
    conversion = adapter.to_spec(agent)
    report = conversion.report
    rendered = report.render()
    assert "middleware Audit is not carried over" in rendered
    assert "approval_mode" not in rendered  # the protocol holds it now: approval: required
    assert isinstance(conversion.spec, AgentSpec)
    assert conversion.spec.tools[0].approval == "required"
    assert "frequency_penalty" in rendered
    assert "cannot be imported by path" in rendered
    assert not report.lossless


def test_mcp_servers_become_spec_servers(adapter: AgentFrameworkAdapter) -> None:
    time = MCPStdioTool(
        name="time",
        command="python",
        args=["-m", "mcp_server_time"],
        allowed_tools=["get_current_time"],
    )
    agent = Agent(client=bridge_model(MODEL), name="clock", tools=[time])
    spec = adapter.to_spec(agent).spec
    assert spec.mcp_servers["time"].command == "python"
    (tool,) = spec.tools
    assert tool.name == "get_current_time" and isinstance(tool.binding, MCPBinding)


SPEC = spec_from_data(
    {
        "name": "triage",
        "system_prompt": "Route.",
        "model": {"id": "m", "temperature": 0.5},
        "limits": {"max_steps": 4},
        "stop_tools": ["add"],
        "parallel_tool_calls": False,
        "tools": [
            {
                "name": "add",
                "description": "Add.",
                "parameters": {"type": "object", "properties": {"a": {"type": "number"}}},
                "binding": "nex_conformance.toolkit:add",
            }
        ],
        "sub_agents": [
            {"agent": {"name": "helper", "description": "Helps."}},
            {"mode": "handoff", "agent": {"name": "billing", "system_prompt": "Bill."}},
        ],
    }
)


def test_spec_to_agent_framework_to_spec_is_lossless(adapter: AgentFrameworkAdapter) -> None:
    conversion = adapter.to_spec(adapter.from_spec(SPEC, model=MODEL))
    assert conversion.spec == SPEC
    assert conversion.report.lossless, conversion.report.render()


def test_objects_that_are_not_agents_are_refused_with_what_to_do(
    adapter: AgentFrameworkAdapter,
) -> None:
    assert not adapter.recognizes(object())
    with pytest.raises(AdapterError, match="converts Agent objects, not list"):
        adapter.to_spec([])
    pytest.importorskip("agent_framework_orchestrations")
    from agent_framework.orchestrations import SequentialBuilder

    first, second = weather_agent(MODEL), travel_agent(MODEL)
    workflow = SequentialBuilder(participants=[first, second]).build()
    assert adapter.recognizes(workflow)
    with pytest.raises(AdapterError, match=r"sequential, concurrent .*convert its agents one by"):
        adapter.to_spec(workflow)


AUTOGEN_APP = """
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.tools import AgentTool
from autogen_ext.models.replay import ReplayChatCompletionClient

from nex_conformance.toolkit import add

INFO = {"vision": False, "function_calling": True, "json_output": False,
        "family": "unknown", "structured_output": False}
client = ReplayChatCompletionClient([], model_info=INFO)
helper = AssistantAgent("helper", client, description="helps", system_message="you help")
calc = AssistantAgent("calc", client, tools=[add, AgentTool(helper)],
                      system_message="You calc.", max_tool_iterations=5)
"""

SCRIPT = """
agents:
  calc:
    - tool_calls: [{name: add, arguments: {a: 2, b: 3}}, {name: helper, arguments: {task: hi}}]
    - text: "5, and hello"
  helper:
    - text: "hello"
"""


def test_nex_convert_migrates_an_autogen_agent_to_a_running_agent_framework_program(
    tmp_path: Path,
) -> None:
    pytest.importorskip("autogen_agentchat")
    (tmp_path / "agapp.py").write_text(textwrap.dedent(AUTOGEN_APP), encoding="utf-8")
    (tmp_path / "script.yaml").write_text(SCRIPT, encoding="utf-8")
    nex = Path(sys.executable).with_name("nex")
    env = {**os.environ, "PYTHONPATH": str(REPO / "conformance")}
    converted = subprocess.run(
        [str(nex), "convert", "agapp.py:calc", "--to", "agent-framework", "-o", "migrated.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert converted.returncode == 0, converted.stderr
    assert "conversion report" in converted.stderr  # the AutoGen side's report, as it converts
    program = (tmp_path / "migrated.py").read_text(encoding="utf-8")
    assert "from agent_framework import Agent, FunctionTool" in program
    assert "autogen" not in program.split('"""', 2)[2]
    # The program runs (in this process: one subprocess per CLI path is enough).
    namespace: dict[str, Any] = {"__name__": "migrated"}
    exec(compile(program, str(tmp_path / "migrated.py"), "exec"), namespace)
    model = ScriptedModel.from_file(tmp_path / "script.yaml")

    async def answer() -> Any:
        async with namespace["build_calc"](model) as agent:
            return await namespace["converse"](agent, ["2+3?"])

    assert asyncio.run(answer()) == "5, and hello"


AF_APP = """
from agent_framework import Agent, tool
from nex_agent_framework import bridge_model
from nex_conformance.toolkit import add

from nex_core import ScriptedModel

model = ScriptedModel({"replies": []})
helper = Agent(client=bridge_model(model), name="helper", description="Helps.")
calc = Agent(
    client=bridge_model(model),
    name="calc",
    instructions="You calc.",
    tools=[tool(add), helper.as_tool()],
)
"""


def test_nex_convert_writes_an_agent_framework_agent_as_an_autogen_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("nex_autogen")
    from click.testing import CliRunner

    from nex_core.cli.main import cli

    (tmp_path / "af_app.py").write_text(AF_APP, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(
        cli, ["convert", "af_app.py:calc", "--to", "autogen", "-o", "calc_autogen.py"]
    )
    assert result.exit_code == 0, result.output
    program = (tmp_path / "calc_autogen.py").read_text(encoding="utf-8")
    assert "AssistantAgent" in program and '"nex_conformance.toolkit:add"' in program
    assert "agent_tool(lambda: build_helper(model)" in program
    compile(program, "calc_autogen.py", "exec")
