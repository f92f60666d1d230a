"""Converting LangGraph graphs to nex specs, and specs to LangGraph and back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lg_docs_graphs as docs
import lg_specs
import pytest
from click.testing import CliRunner
from nex_langgraph import from_spec, to_code, to_spec

from nex_core import AgentSpec, ScriptedModel, TeamSpec, dump_spec, load_spec
from nex_core.cli.main import cli
from nex_core.protocol.spec import ContextMode, ImportBinding

MODEL = ScriptedModel([])


def items(report: Any) -> list[tuple[str, str, str]]:
    return [(i.severity, i.where, i.what) for i in report.items]


def test_react_agent_tools_schemas_bindings() -> None:
    conversion = to_spec(docs.react_agent(MODEL))
    spec = conversion.spec
    assert isinstance(spec, AgentSpec)
    assert (spec.name, spec.system_prompt) == ("calculator", "You are a careful calculator.")
    add = spec.tools[0]
    assert (add.name, add.description) == ("add", "Add two numbers.")
    assert add.parameters == {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
    }
    assert add.binding == ImportBinding(path="lg_docs_graphs:add.func")
    assert spec.tools[2].binding == ImportBinding(path="lg_docs_graphs:divide")  # a plain function
    # LangGraph's own loop semantics differ from the protocol's: said, not dropped.
    assert [i[0] for i in items(conversion.report)] == ["approximated"]


def test_deprecated_create_react_agent() -> None:
    spec = to_spec(docs.legacy_react_agent(MODEL)).spec
    assert isinstance(spec, AgentSpec)
    assert spec.system_prompt == "You are a careful calculator." and [
        t.name for t in spec.tools
    ] == ["add", "multiply"]


def test_hand_written_graph_reports_custom_code_edges_and_checkpointer() -> None:
    conversion = to_spec(docs.hand_written(MODEL))
    assert [t.name for t in conversion.spec.tools] == ["add", "multiply"]  # type: ignore[union-attr]
    whats = " | ".join(i[2] for i in items(conversion.report))
    assert "custom node code" in whats and "tools_condition" in whats and "checkpointer" in whats
    assert not conversion.report.lossless


def test_supervisor_with_two_workers() -> None:
    conversion = to_spec(docs.supervisor(MODEL))
    spec = conversion.spec
    assert isinstance(spec, AgentSpec) and spec.name == "supervisor"
    assert [(s.mode, s.child.name) for s in spec.sub_agents] == [
        (ContextMode.HANDOFF, "research_expert"),
        (ContextMode.HANDOFF, "math_expert"),
    ]
    assert spec.sub_agents[1].child.system_prompt.startswith("You are a math expert")
    assert spec.extensions["langgraph"]["pattern"] == "supervisor"
    assert any("hands control back" in i[2] for i in items(conversion.report))


def test_agent_used_as_tool() -> None:
    conversion = to_spec(docs.agent_as_tool(MODEL))
    spec = conversion.spec
    assert isinstance(spec, AgentSpec)
    (sub,) = spec.sub_agents
    assert (sub.mode, sub.child.name, sub.tool_name) == (ContextMode.TOOL, "researcher", "research")
    assert [t.name for t in sub.child.tools] == ["web_search"]
    assert any("{task}" in i[2] for i in items(conversion.report))


def test_swarm_with_handoffs_and_a_cycle() -> None:
    conversion = to_spec(docs.swarm(MODEL))
    spec = conversion.spec
    assert isinstance(spec, AgentSpec) and spec.name == "Alice"
    (to_bob,) = spec.sub_agents
    assert (to_bob.mode, to_bob.child.name, to_bob.description) == (
        ContextMode.HANDOFF,
        "Bob",
        "Transfer to Bob",
    )
    (back,) = to_bob.child.sub_agents
    assert back.child.name == "Alice" and back.child.sub_agents == []
    whats = [i[2] for i in items(conversion.report)]
    assert any("cycle" in w for w in whats) and any("checkpointer" in w for w in whats)


def test_agents_as_subgraph_nodes() -> None:
    conversion = to_spec(docs.subgraph_nodes(MODEL))
    assert isinstance(conversion.spec, TeamSpec)
    assert [m.name for m in conversion.spec.members] == ["researcher", "writer"]
    assert any("round-robin" in i[2] for i in items(conversion.report))


# --------------------------------------------------------------------------- round trips


def canonical(spec: AgentSpec | TeamSpec) -> dict[str, Any]:
    """A spec as LangGraph can hold it: the root agent's description has no place in a graph."""
    data = json.loads(dump_spec(spec, fmt="json"))
    data.pop("description", None)
    return data


@pytest.mark.parametrize(
    "make",
    [
        lambda: lg_specs.calculator(
            stop_tools=["add"],
            limits={"max_steps": 4, "max_model_retries": 2},
            parallel_tool_calls=True,
        ),
        lg_specs.nested,
        lg_specs.handoffs,
    ],
    ids=["tools", "agents-as-tools", "handoffs"],
)
def test_round_trip_spec_langgraph_spec(make: Any) -> None:
    spec = make()
    back = to_spec(from_spec(spec, model=MODEL))
    assert canonical(back.spec) == canonical(spec)


def test_round_trip_supervisor() -> None:
    spec = to_spec(docs.supervisor(MODEL)).spec
    again = to_spec(from_spec(spec, model=MODEL)).spec
    # The documentation's workers have no ProtocolMiddleware; rebuilt ones do, with the same limits.
    assert canonical(again) == canonical(spec)


# --------------------------------------------------------------------------- CLI and code


def test_cli_convert_graph_file(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        "from nex_core import ScriptedModel\nimport lg_docs_graphs as d\n"
        "graph = d.react_agent(ScriptedModel([]))\n"
    )
    out = tmp_path / "agent.yaml"
    result = CliRunner().invoke(cli, ["convert", f"{app}:graph", "-o", str(out)])
    assert result.exit_code == 0, result.output
    spec = load_spec(out)
    assert isinstance(spec, AgentSpec) and [t.name for t in spec.tools] == [
        "add",
        "multiply",
        "divide",
    ]


def test_cli_writes_runnable_langgraph_module(tmp_path: Path) -> None:
    spec_file = tmp_path / "agent.yaml"
    spec_file.write_text(dump_spec(lg_specs.calculator()))
    code_file = tmp_path / "agent_langgraph.py"
    result = CliRunner().invoke(
        cli, ["convert", str(spec_file), "--to", "langgraph", "-o", str(code_file)]
    )
    assert result.exit_code == 0, result.output
    namespace: dict[str, Any] = {"__name__": "generated"}
    exec(compile(code_file.read_text(), str(code_file), "exec"), namespace)
    model = ScriptedModel(
        [{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}, {"text": "3"}]
    )
    graph = namespace["build"](model)
    assert graph.invoke({"messages": [("user", "1+2")]})["messages"][-1].content == "3"
    assert to_code(lg_specs.calculator()) == code_file.read_text()
