"""The protocol models: shorthands, defaults, validation rules, refs and secret references."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from nex_core.errors import SpecError
from nex_core.protocol import (
    AgentSpec,
    ContextMode,
    ImportBinding,
    MCPBinding,
    MCPServerSpec,
    ModelSettings,
    SubAgentSpec,
    TeamSpec,
    ToolFormat,
    dump_spec,
    load_spec,
    spec_from_data,
)
from nex_core.protocol.secrets import is_reference, resolve
from nex_core.runtime.tools import tool_handles


def test_binding_shorthands() -> None:
    spec = spec_from_data(
        {
            "name": "a",
            "mcp_servers": {"s": {"command": "python"}},
            "tools": [
                {"name": "x", "binding": "pkg.mod:func"},
                {"name": "y", "binding": {"path": "pkg.mod:other"}},
                {"name": "z", "binding": {"server": "s", "tool": "remote"}},
            ],
        }
    )
    assert isinstance(spec, AgentSpec)
    x, y, z = spec.tools
    assert isinstance(x.binding, ImportBinding) and x.binding.path == "pkg.mod:func"
    assert isinstance(y.binding, ImportBinding)
    assert isinstance(z.binding, MCPBinding) and z.binding.tool == "remote"


def test_defaults() -> None:
    spec = AgentSpec(name="a")
    assert spec.limits.max_steps == 10
    assert spec.limits.max_model_retries == 0
    assert spec.parallel_tool_calls is True
    assert spec.tool_format is ToolFormat.NATIVE
    assert spec.version == 1


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"name": "bad name"}, "name"),
        ({"name": "a", "limits": {"max_steps": 0}}, "max_steps"),
        ({"name": "a", "model": {"temperature": 3}}, "temperature"),
        ({"name": "a", "surprise": 1}, "surprise"),
        ({"name": "a", "tools": [{"name": "t", "binding": "not a path"}]}, "binding"),
        ({"name": "a", "sub_agents": [{"mode": "tool"}]}, "exactly one"),
    ],
)
def test_invalid_specs_are_rejected(data: dict, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        spec_from_data(data)
    assert fragment in str(info.value)


def test_duplicate_tool_names_and_unknown_stop_tools() -> None:
    dup = {"name": "a", "tools": [{"name": "t", "binding": "m:f"}, {"name": "t", "binding": "m:g"}]}
    with pytest.raises(SpecError, match="two tools named 't'"):
        spec_from_data(dup)
    with pytest.raises(SpecError, match="stop_tools"):
        spec_from_data({"name": "a", "stop_tools": ["nope"]})


def test_subagent_tool_names() -> None:
    child = AgentSpec(name="helper", description="Helps.")
    assert SubAgentSpec(agent=child).resolved_tool_name() == "helper"
    handoff = SubAgentSpec(agent=child, mode=ContextMode.HANDOFF)
    assert handoff.resolved_tool_name() == "transfer_to_helper"
    parent = AgentSpec(name="p", sub_agents=[SubAgentSpec(agent=child), handoff.model_copy()])
    with pytest.raises(ValueError):
        # the same child twice under one name is a clash only when names collide
        AgentSpec(name="p", sub_agents=[SubAgentSpec(agent=child), SubAgentSpec(agent=child)])
    handles = tool_handles(parent)
    assert handles["helper"].schema.parameters["required"] == ["task"]
    assert handles["transfer_to_helper"].kind == "handoff"


def test_unresolved_ref_has_no_child() -> None:
    with pytest.raises(ValueError, match="not been resolved"):
        _ = SubAgentSpec(ref="other.yaml").child


def test_mcp_server_transport_fields() -> None:
    with pytest.raises(ValueError, match="needs 'command'"):
        MCPServerSpec(transport="stdio")
    with pytest.raises(ValueError, match="needs 'url'"):
        MCPServerSpec(transport="http")
    assert MCPServerSpec(transport="http", url="http://127.0.0.1:1/mcp").url


def test_team_spec_and_walk() -> None:
    inner = AgentSpec(name="inner")
    a = AgentSpec(name="a", sub_agents=[SubAgentSpec(agent=inner)])
    team = TeamSpec(name="t", members=[a, AgentSpec(name="b")])
    assert [x.name for x in team.walk()] == ["a", "inner", "b"]
    with pytest.raises(ValueError):
        TeamSpec(name="t", members=[])


def test_load_resolves_refs_and_dump_keeps_them(tmp_path: Path) -> None:
    (tmp_path / "child.yaml").write_text("name: child\ndescription: a child\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "grandchild.yaml").write_text("name: grandchild\n")
    (tmp_path / "child.yaml").write_text("name: child\nsub_agents:\n  - ref: sub/grandchild.yaml\n")
    (tmp_path / "root.yaml").write_text("name: root\nsub_agents:\n  - ref: child.yaml\n")
    spec = load_spec(tmp_path / "root.yaml")
    assert [a.name for a in spec.walk()] == ["root", "child", "grandchild"]
    dumped = yaml.safe_load(dump_spec(spec))
    assert dumped["sub_agents"] == [{"ref": "child.yaml"}]
    as_json = json.loads(dump_spec(spec, fmt="json"))
    assert as_json["kind"] == "agent"


def test_dump_round_trip_inline() -> None:
    spec = AgentSpec(
        name="root",
        model=ModelSettings(id="m", temperature=0.5, api_key="${env:KEY}"),
        tools=[],
        sub_agents=[SubAgentSpec(agent=AgentSpec(name="kid"), mode=ContextMode.HANDOFF)],
        tool_format=ToolFormat.XML,
    )
    again = spec_from_data(yaml.safe_load(dump_spec(spec)))
    assert again == spec


# --------------------------------------------------------------------------- secrets


def test_literal_api_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="reference"):
        ModelSettings(api_key="sk-live-1234567890abcdef")


def test_secret_references_are_never_stored_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEX_TEST_KEY", "super-secret-value-123")
    path = tmp_path / "a.yaml"
    path.write_text(
        "name: a\n"
        "model: {api_key: '${env:NEX_TEST_KEY}', base_url: '${env:NEX_TEST_KEY}'}\n"
        "mcp_servers:\n"
        "  s: {transport: http, url: 'http://127.0.0.1:9/mcp',"
        " headers: {Authorization: 'Bearer ${env:NEX_TEST_KEY}'}}\n"
    )
    spec = load_spec(path)
    assert isinstance(spec, AgentSpec)
    assert spec.model.api_key == "${env:NEX_TEST_KEY}"
    assert spec.mcp_servers["s"].headers["Authorization"] == "Bearer ${env:NEX_TEST_KEY}"
    text = dump_spec(spec) + dump_spec(spec, fmt="json") + spec.model_dump_json()
    assert "super-secret-value-123" not in text
    # Only the runtime resolves, on demand.
    assert resolve(spec.model.api_key or "") == "super-secret-value-123"


def test_reference_helpers() -> None:
    assert is_reference("${env:A_B}")
    assert not is_reference("x${env:A}")
    with pytest.raises(SpecError, match="NEX_SURELY_UNSET"):
        resolve("${env:NEX_SURELY_UNSET}", environ={})
    assert resolve("a-${env:X}-b", environ={"X": "1"}) == "a-1-b"
