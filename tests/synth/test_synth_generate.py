"""nex synth's loop on a scripted generator: valid systems written, mistakes fed back and
repaired, a generator that never gets it right reported with nothing written as valid."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from synth_helpers import TIME_SERVER, run_synth, shop_bundle, sim_tool, variant

from nex_core import load_spec
from nex_core.gap import load_config
from nex_core.synth import SynthConfig, blueprints, structural_digest, synth_stats
from nex_core.trajectory.reader import iter_trajectories


def test_a_valid_system_is_written_whole_and_loads(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run, model = run_synth(out, shop_bundle())
    assert [s.status for s in run.systems] == ["valid"]
    system = out / run.systems[0].path  # type: ignore[operator]
    spec = load_spec(system / "desk.yaml")
    assert [a.name for a in spec.walk()] == ["desk", "stock"]
    tasks = [json.loads(line) for line in (system / "tasks.jsonl").read_text().splitlines()]
    assert [t["id"] for t in tasks] == ["parcel", "sku9"]
    config = load_config(system / "gap.yaml")  # checked against the installation
    assert "native" in config.backends
    dry = next(iter_trajectories(system / "dry_run.jsonl"))
    assert dry.outcome is not None and dry.outcome.final_output == "in transit"
    assert {s.name for s in dry.steps if s.kind == "tool" and s.metadata.get("simulated")} == {
        "track_parcel", "check_stock"}  # fmt: skip
    manifest = json.loads((out / "synth.json").read_text())
    assert {p["name"] for p in manifest["prompts"]} == {"generator", "request", "repair"}
    assert all(p["version"] == 1 and len(p["sha256"]) == 64 for p in manifest["prompts"])
    # The generator's call is a recorded run: the request it got, the reply it gave.
    (generation,) = iter_trajectories(out / "generator.jsonl")
    assert generation.provenance.adapter == "synth"
    assert generation.metadata["synth"]["prompts"][0]["name"] == "generator"
    (step,) = generation.steps
    assert step.kind == "llm" and "```yaml" in (step.response.message.content or "")
    assert "A shop help desk." in model.calls[0].request.messages[1].text()


def _bad_yaml(bundle: dict[str, Any]) -> str:
    return "root: desk.yaml\nfiles: {desk.yaml: [unclosed\n"


def _not_json_schema(bundle: dict[str, Any]) -> dict[str, Any]:
    bundle["files"]["desk.yaml"]["tools"][0]["parameters"]["properties"]["id"]["type"] = "text"
    return bundle


def _cycle(bundle: dict[str, Any]) -> dict[str, Any]:
    bundle["files"]["stock.yaml"]["sub_agents"] = [{"ref": "desk.yaml", "mode": "tool"}]
    return bundle


def _unbound(bundle: dict[str, Any]) -> dict[str, Any]:
    del bundle["files"]["stock.yaml"]["tools"][0]["binding"]
    return bundle


def _invented_import(bundle: dict[str, Any]) -> dict[str, Any]:
    bundle["files"]["stock.yaml"]["tools"][0]["binding"] = "os:system"
    return bundle


@pytest.mark.parametrize(
    ("mistake", "named"),
    [
        (_bad_yaml, "not valid YAML"),
        (_not_json_schema, "not a valid JSON Schema"),
        (_cycle, "cycle"),
        (_unbound, "binding"),
        (_invented_import, "not in the catalog"),
    ],
)
def test_a_mistake_is_fed_back_and_repaired(
    tmp_path: Path, mistake: Callable[[dict[str, Any]], Any], named: str
) -> None:
    out = tmp_path / "out"
    run, model = run_synth(out, mistake(variant(shop_bundle())), shop_bundle())
    (system,) = run.systems
    assert system.status == "valid" and system.attempts == 2
    # The second request holds the first reply and the problems nex found in it.
    repair = model.calls[1].request.messages
    assert [m.role for m in repair] == ["system", "user", "assistant", "user"]
    assert named in repair[-1].text()
    (generation,) = iter_trajectories(out / "generator.jsonl")
    first, second = generation.steps
    assert any(named in p for p in first.metadata["synth"]["problems"])
    assert second.metadata["synth"]["problems"] == []
    assert not (out / "rejected").exists()


def test_a_generator_that_never_succeeds_writes_nothing_valid(tmp_path: Path) -> None:
    out = tmp_path / "out"
    bad = _not_json_schema(variant(shop_bundle()))
    run, model = run_synth(out, bad, bad, bad, max_retries=2)
    (system,) = run.systems
    assert system.status == "rejected" and system.attempts == 3
    assert any("not a valid JSON Schema" in p for p in system.problems)
    assert not (out / "systems").exists()
    rejected = out / "rejected" / "000"
    assert sorted(p.name for p in rejected.iterdir()) == [
        "attempt-1.txt", "attempt-2.txt", "attempt-3.txt", "problems.txt"]  # fmt: skip
    manifest = json.loads((out / "synth.json").read_text())
    assert manifest["counts"] == {"rejected": 1}
    (generation,) = iter_trajectories(out / "generator.jsonl")
    assert generation.outcome is not None and generation.outcome.status.value == "error"
    assert model.remaining() == 0


def test_a_generator_model_failure_is_reported(tmp_path: Path) -> None:
    run, _ = run_synth(tmp_path / "out")  # the script has no replies at all
    (system,) = run.systems
    assert system.status == "rejected" and system.attempts == 0
    assert "generator model failed" in system.problems[0]


def test_near_duplicates_are_removed(tmp_path: Path) -> None:
    reworded = variant(shop_bundle())
    desk = reworded["files"]["desk.yaml"]
    desk["system_prompt"] = "Entirely different words."
    desk["name"] = "front"
    reworded["tasks"][0]["prompt"] = "Another question?"
    run, _ = run_synth(tmp_path / "out", shop_bundle(), reworded, n=2)
    assert [s.status for s in run.systems] == ["valid", "duplicate"]
    assert run.systems[1].duplicate_of == 0
    assert len(list((tmp_path / "out" / "systems").iterdir())) == 1


def test_structural_digest_sees_structure_not_wording(tmp_path: Path) -> None:
    def digest_of(bundle: dict[str, Any], name: str) -> str:
        folder = tmp_path / name
        folder.mkdir()
        for file, doc in bundle["files"].items():
            (folder / file).write_text(yaml.safe_dump(doc))
        return structural_digest(load_spec(folder / bundle["root"]))

    base = digest_of(shop_bundle(), "a")
    reordered = variant(shop_bundle())
    reordered["files"]["desk.yaml"]["description"] = "Something else."
    assert digest_of(reordered, "b") == base
    handoff = variant(shop_bundle())
    handoff["files"]["desk.yaml"]["sub_agents"][0]["mode"] = "handoff"
    assert digest_of(handoff, "c") != base


def test_blueprints_follow_the_seed_and_the_ranges() -> None:
    config = SynthConfig(n=6, seed=3, depth=[0, 2], modes=["tool", "team"], tool_formats=[
        "native", "hermes"])  # fmt: skip
    drawn = blueprints(config)
    assert drawn == blueprints(config)
    assert blueprints(config.model_copy(update={"n": 2})) == drawn[:2]
    assert drawn != blueprints(config.model_copy(update={"seed": 4}))
    assert all(0 <= b.depth <= 2 and b.mode in {"tool", "team"} for b in drawn)
    assert {b.tool_format for b in drawn} <= {"native", "hermes"}


def test_real_tools_bind_to_the_catalog(tmp_path: Path) -> None:
    bundle = variant(shop_bundle())
    bundle["files"]["desk.yaml"]["tools"].append({
        "name": "clock", "description": "Current time.",
        "parameters": {"type": "object", "properties": {
            "timezone": {"type": "string", "examples": ["UTC"]}}, "required": ["timezone"]},
        "binding": {"kind": "mcp", "server": "time", "tool": "get_current_time"},
    })  # fmt: skip
    wrong_server = variant(bundle)
    wrong_server["files"]["desk.yaml"]["tools"][-1]["binding"]["server"] = "clockd"
    out = tmp_path / "out"
    run, model = run_synth(out, wrong_server, bundle, tools={"mcp_servers": {"time": TIME_SERVER}})
    assert run.systems[0].status == "valid" and run.systems[0].attempts == 2
    assert "get_current_time" in model.calls[0].request.messages[0].text()  # the catalog
    assert "not in the catalog" in model.calls[1].request.messages[-1].text()
    system = out / run.systems[0].path  # type: ignore[operator]
    spec = load_spec(system / "desk.yaml")
    assert "time" in spec.mcp_servers
    dry = next(iter_trajectories(system / "dry_run.jsonl"))
    (clock,) = [s for s in dry.steps if s.kind == "tool" and s.name == "clock"]
    assert clock.error is None and "UTC" in json.dumps(clock.result)
    assert not clock.metadata.get("simulated")
    stats = synth_stats(out)
    assert stats["distribution"]["bindings"] == {"mcp": 1, "simulated": 2}
    assert stats["status"] == {"valid": 1}


def test_the_output_folder_must_be_new(tmp_path: Path) -> None:
    from nex_core.errors import OutputError

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="not an empty folder"):
        run_synth(tmp_path / "out", shop_bundle())


def test_a_team_in_a_text_tool_format_is_checked_and_dry_run(tmp_path: Path) -> None:
    team = {
        "root": "crew.yaml",
        "files": {
            "crew.yaml": {"kind": "team", "name": "crew", "termination": {"max_turns": 3},
                          "members": [
                {"name": "planner", "system_prompt": "Plan.", "tool_format": "hermes",
                 "tools": [sim_tool("find_flight", {"flights": ["NX1"]})]},
                {"name": "booker", "system_prompt": "Book.", "tools": [sim_tool("book", {})],
                 "sub_agents": [{"ref": "pay.yaml", "mode": "tool"}]},
            ]},
            "pay.yaml": {"name": "pay", "system_prompt": "Pay.",
                         "tools": [sim_tool("charge", {}, "card")]},
        },
        "tasks": [{"id": "fly", "prompt": "Book me a flight.", "expected": "booked NX1"}],
    }  # fmt: skip
    run, _ = run_synth(tmp_path / "out", team)
    (system,) = run.systems
    assert system.status == "valid", system.problems
    assert system.shape is not None
    assert system.shape["modes"] == {"team": 2, "tool": 1}
    assert system.shape["tool_formats"] == ["hermes", "native"]
    dry = next(iter_trajectories(tmp_path / "out" / system.path / "dry_run.jsonl"))  # type: ignore[operator]
    assert dry.outcome is not None and dry.outcome.final_output == "booked NX1"
    turns = [s.child for s in dry.steps if s.kind == "subagent" and s.mode == "team_turn"]
    assert turns == ["planner", "booker", "planner"]


def test_an_import_path_from_the_catalog_is_a_real_tool(tmp_path: Path) -> None:
    bundle = variant(shop_bundle())
    bundle["files"]["stock.yaml"]["tools"].append({
        "name": "add", "description": "Add two numbers.",
        "parameters": {"type": "object", "properties": {"a": {"type": "number"},
                                                        "b": {"type": "number"}},
                       "required": ["a", "b"]},
        "binding": "examples.calculator.tools:add",
    })  # fmt: skip
    tools = {"imports": [{"path": "examples.calculator.tools:add"}]}
    run, model = run_synth(tmp_path / "out", bundle, tools=tools)
    assert run.systems[0].status == "valid", run.systems[0].problems
    catalog = model.calls[0].request.messages[0].text()
    assert '"path": "examples.calculator.tools:add"' in catalog
    assert '"a": {"type": "number"}' in catalog  # the schema read from the signature
    dry = next(iter_trajectories(tmp_path / "out" / run.systems[0].path / "dry_run.jsonl"))  # type: ignore[operator]
    (add,) = [s for s in dry.steps if s.kind == "tool" and s.name == "add"]
    assert add.arguments == {"a": 1.0, "b": 1.0} and add.result == 2.0
