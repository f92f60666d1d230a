"""The simulated binding: a model plays the tool, the same on every backend, deterministic with
the scripted model, and recorded as simulated so exports can drop it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import synth_helpers  # noqa: F401  (puts the repository on sys.path)

from nex_core import AgentSpec, ScriptedModel, SimulatedBinding, ToolSpec, get_adapter, load_spec
from nex_core.runtime.simulated import mark_simulated, simulated_tools
from nex_core.trajectory import normalize

BACKENDS = [b for b in ("native", "langgraph", "autogen")
            if b == "native" or importlib.util.find_spec(f"nex_{b}") is not None]  # fmt: skip


def _spec() -> AgentSpec:
    return AgentSpec(
        name="clerk",
        system_prompt="Help with orders.",
        tools=[ToolSpec(
            name="lookup_order",
            description="Find an order.",
            parameters={"type": "object", "properties": {"id": {"type": "string"}},
                        "required": ["id"]},
            binding={"kind": "simulated", "state": {"orders": {"A1": "shipped"}},
                     "instructions": "Unknown ids: not found."},
        )],
    )  # fmt: skip


def _script(sim: list[Any] | None = None) -> dict[str, Any]:
    agents: dict[str, Any] = {
        "clerk": [
            {"tool_calls": [{"name": "lookup_order", "arguments": {"id": "A1"}}]},
            {"tool_calls": [{"name": "lookup_order", "arguments": {"id": "Z9"}}]},
            {"text": "A1 is shipped; Z9 does not exist."},
        ],
    }
    if sim is not None:
        agents["sim:lookup_order"] = sim
    return {"agents": agents}


SIM_REPLIES = [{"text": '{"id": "A1", "status": "shipped"}'}, {"text": "not found"}]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_model_plays_the_tool_on_every_backend(backend: str) -> None:
    spec = _spec()
    model = ScriptedModel(_script(SIM_REPLIES))
    with simulated_tools(model):
        trajectory = get_adapter(backend).run(spec, "Where are A1 and Z9?", model=model)
    assert mark_simulated(trajectory, spec) == 2
    assert trajectory.outcome is not None and trajectory.outcome.status.value == "completed"
    tools = [s for s in trajectory.steps if s.kind == "tool"]
    assert [s.metadata.get("simulated") for s in tools] == [True, True]
    assert "shipped" in json.dumps(tools[0].result) and tools[1].result == "not found"
    # What the playing model saw: the tool, its state, and (second call) the first call.
    first, second = [c for c in model.calls if c.agent == "sim:lookup_order"]
    system = first.request.messages[0].text()
    assert "lookup_order" in system and '"A1": "shipped"' in system and "Unknown ids" in system
    assert "[]" in system  # no earlier calls yet
    assert '"Z9"' in second.request.messages[1].text()
    assert '"result": {"id": "A1", "status": "shipped"}' in second.request.messages[0].text()
    assert model.remaining() == 0


def test_the_scripted_simulation_is_deterministic() -> None:
    runs = []
    for _ in range(2):
        model = ScriptedModel(_script(SIM_REPLIES))
        with simulated_tools(model):
            runs.append(get_adapter("native").run(_spec(), "Where is A1?", model=model))
    assert normalize(runs[0]) == normalize(runs[1])


def test_a_script_without_the_tools_replies_fails_the_call_not_the_agent() -> None:
    model = ScriptedModel(_script(None))
    with simulated_tools(model):
        trajectory = get_adapter("native").run(_spec(), "Where is A1?", model=model)
    tools = [s for s in trajectory.steps if s.kind == "tool"]
    assert tools[0].error is not None and "sim:lookup_order" in tools[0].error.message
    assert trajectory.outcome is not None and trajectory.outcome.final_output is not None


def test_no_model_to_play_the_tool_is_a_recorded_binding_error() -> None:
    model = ScriptedModel(_script(SIM_REPLIES))
    trajectory = get_adapter("native").run(_spec(), "Where is A1?", model=model)  # no session
    tool = next(s for s in trajectory.steps if s.kind == "tool")
    assert tool.error is not None and tool.error.type == "ToolBindingError"
    assert "no model plays it" in tool.error.message


def test_the_binding_reads_from_yaml_in_short_and_long_form(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        "name: a\ntools:\n"
        "  - {name: t, parameters: {type: object}, binding: simulated}\n"
        "  - {name: u, parameters: {type: object}, binding: {kind: simulated, state: {n: 1}}}\n"
    )
    spec = load_spec(path)
    assert isinstance(spec, AgentSpec)
    assert [type(t.binding) for t in spec.tools] == [SimulatedBinding, SimulatedBinding]
    assert spec.tools[1].binding.state == {"n": 1}  # type: ignore[union-attr]
    path.write_text("name: a\ntools:\n  - {name: t, binding: {kind: simulated, stat: {}}}\n")
    with pytest.raises(Exception, match=r"tools\[0\]\.binding\.stat"):
        load_spec(path)


def test_export_drops_simulated_observations_on_request(tmp_path: Path) -> None:
    from nex_core.gap.export import ExportOptions, export
    from nex_core.trajectory.sinks import JSONLSink

    model = ScriptedModel(_script(SIM_REPLIES))
    real = AgentSpec(name="plain", system_prompt="Just answer.")
    source = tmp_path / "runs.jsonl"
    with JSONLSink(source) as sink, simulated_tools(model):
        simulated = get_adapter("native").run(_spec(), "Where is A1?", model=model)
        mark_simulated(simulated, _spec())
        sink.write(simulated)
        plain = get_adapter("native").run(real, "Hi", model=ScriptedModel([{"text": "Hello"}]))
        sink.write(plain)
    options = dict(formats=["native"], include_rejected=True, validation_fraction=0)
    kept = export(source, tmp_path / "kept", ExportOptions(**options))  # type: ignore[arg-type]
    dropped = export(source, tmp_path / "dropped",
                     ExportOptions(simulated="drop", **options))  # type: ignore[arg-type]
    assert kept["samples"] == 2 and "simulated_observations" not in kept["skipped"]
    assert dropped["samples"] == 1 and dropped["skipped"]["simulated_observations"] == 1


def test_generated_programs_refuse_simulated_tools_by_name(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from nex_core.cli.main import cli

    spec = tmp_path / "agent.yaml"
    spec.write_text("name: a\ntools:\n  - {name: t, parameters: {}, binding: simulated}\n")
    generators = [*BACKENDS[1:]]
    if importlib.util.find_spec("nex_agent_framework") is not None:
        generators.append("agent-framework")
    for target in generators:
        result = CliRunner().invoke(cli, ["convert", str(spec), "--to", target, "-o",
                                          str(tmp_path / f"{target}.py")])  # fmt: skip
        assert result.exit_code == 1, result.output
        assert "tool 't' of agent 'a' is simulated" in result.output


def test_an_openai_compatible_endpoint_plays_the_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    from chat_server import ChatServer, Reply

    from nex_core.models.openai_compat import OpenAICompatibleModel

    monkeypatch.setenv("SYNTH_TEST_KEY", "test-key")
    replies = [
        Reply(tool_calls=[("call_1", "lookup_order", {"id": "A1"})]),
        Reply(text='{"id": "A1", "status": "shipped"}'),  # the endpoint, playing the tool
        Reply(text="A1 has shipped."),
    ]
    with ChatServer(replies) as server:
        model = OpenAICompatibleModel("m", base_url=server.base_url,
                                      api_key_env="SYNTH_TEST_KEY", max_retries=0)  # fmt: skip
        with simulated_tools(model):
            trajectory = get_adapter("native").run(_spec(), "Where is A1?", model=model)
        sim_request = server.requests[1].body
    mark_simulated(trajectory, _spec())
    tool = next(s for s in trajectory.steps if s.kind == "tool")
    assert tool.result == {"id": "A1", "status": "shipped"} and tool.metadata["simulated"]
    assert "You are simulating a software tool" in sim_request["messages"][0]["content"]
    assert "tools" not in sim_request  # the simulator is offered no tools
    assert trajectory.outcome is not None and trajectory.outcome.final_output == "A1 has shipped."
