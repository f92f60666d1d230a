"""`nex conformance`: found through nex's plugin hook, runs every scenario against every installed
adapter (the native runtime included), prints the matrix, and exits by the verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from nex_conformance import builtin_scenarios, scenario_schema

from nex_core import get_plugin_manager
from nex_core.cli.main import cli


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, dict]:
    out = tmp_path_factory.mktemp("report")
    result = CliRunner().invoke(cli, ["conformance", "--report", str(out)])
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return result, report


def test_nex_conformance_runs_every_scenario_against_every_installed_adapter(
    full_run: tuple,
) -> None:
    result, report = full_run
    installed = set(get_plugin_manager().adapters())
    assert "native" in installed
    assert set(report["adapters"]) == installed
    ids = [s.id for s in builtin_scenarios()]
    assert [s["id"] for s in report["scenarios"]] == ids
    assert len(report["results"]) == len(ids) * len(installed)
    for scenario_id in ids:
        assert scenario_id in result.output
    for name in installed:
        assert name in result.output
    assert "nex conformance: scenarios by adapters" in result.output


def test_the_native_runtime_passes_everything_on_the_command_line(full_run: tuple) -> None:
    _, report = full_run
    native = [r for r in report["results"] if r["adapter"] == "native"]
    spec = {s.id for s in builtin_scenarios() if s.kind == "spec"}
    assert {r["verdict"] for r in native if r["scenario"] in spec} == {"pass"}
    assert {r["verdict"] for r in native if r["scenario"] not in spec} == {"n/a"}
    assert report["summary"]["native"] == {
        "pass": len(spec),
        "n/a": len(builtin_scenarios()) - len(spec),
    }


def test_the_exit_status_follows_the_report(full_run: tuple) -> None:
    result, report = full_run
    assert result.exit_code == (0 if report["ok"] else 1), result.output
    assert ("conformance passed" in result.output) == report["ok"]


def test_adapter_and_scenario_selection(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["conformance", "--adapter", "native", "--scenario", "handoff", "--scenario", "stop_tool"],
    )
    assert result.exit_code == 0, result.output
    assert "handoff" in result.output and "stop_tool" in result.output
    assert "single_tool_call" not in result.output


def test_an_unknown_adapter_is_a_clean_error() -> None:
    result = CliRunner().invoke(cli, ["conformance", "--adapter", "nope"])
    assert result.exit_code == 1
    assert "no adapter named 'nope'" in result.output


def test_a_stale_baseline_fails_the_command(tmp_path: Path) -> None:
    baseline = tmp_path / "b.yaml"
    baseline.write_text(
        "adapters:\n  native:\n    single_tool_call: thought broken\n", encoding="utf-8"
    )
    result = CliRunner().invoke(
        cli,
        [
            "conformance",
            "--adapter",
            "native",
            "--scenario",
            "single_tool_call",
            "--baseline",
            str(baseline),
        ],
    )
    assert result.exit_code == 1
    assert "STALE" in result.output
    assert "remove it from the baseline" in result.output


def test_schema_and_list_subcommands() -> None:
    schema = CliRunner().invoke(cli, ["conformance", "schema"])
    assert schema.exit_code == 0
    assert json.loads(schema.output) == scenario_schema()
    listing = CliRunner().invoke(cli, ["conformance", "list"])
    assert listing.exit_code == 0
    assert "nested_sub_agents" in listing.output
