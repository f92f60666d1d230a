"""`nex conformance matrix`: reports of separate runs merge into one matrix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from kit_broken_adapters import DropsToolErrors, Limited
from nex_conformance import ReportError, load_report, merge_reports
from nex_conformance.cli import run_kit

from nex_core.cli.main import cli
from nex_core.runtime.plugin import NativeAdapter

SCENARIOS = ["single_tool_call", "tool_error_fed_back", "handoff"]


def _write(tmp_path: Path, name: str, *adapters: object) -> Path:
    report = run_kit(scenario_ids=SCENARIOS, adapters=list(adapters))  # type: ignore[arg-type]
    folder = tmp_path / name
    report.write(folder)
    return folder


def test_two_runs_merge_into_one_matrix_of_every_adapter(tmp_path: Path) -> None:
    first = _write(tmp_path, "one", NativeAdapter(), Limited())
    second = _write(tmp_path, "two", DropsToolErrors())
    out = tmp_path / "merged"
    args = ["conformance", "matrix", str(first), str(second / "report.json"), "--report", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output  # drops_tool_errors fails, so the merge fails
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert list(data["adapters"]) == ["native", "drops_tool_errors", "limited"]
    assert len(data["results"]) == 3 * len(SCENARIOS) and data["ok"] is False
    assert data["summary"]["native"] == {"pass": len(SCENARIOS)}
    md = (out / "matrix.md").read_text(encoding="utf-8")
    assert "| scenario | native | drops_tool_errors | limited |" in md
    # Each adapter's capabilities, as its own run declared them.
    native_row = next(ln for ln in md.splitlines() if ln.startswith("| native | nex-core"))
    assert "teams_selector" in native_row
    # The merged report reads back as any report does, failure details included.
    again = load_report(out)
    failed = [r for r in again.results if r.verdict.value == "fail"]
    assert failed and all(r.adapter == "drops_tool_errors" and r.explain() for r in failed)


def test_passing_runs_merge_to_a_passing_matrix(tmp_path: Path) -> None:
    first = _write(tmp_path, "one", NativeAdapter())
    second = _write(tmp_path, "two", Limited())
    result = CliRunner().invoke(cli, ["conformance", "matrix", str(first), str(second)])
    assert result.exit_code == 0, result.output
    assert merge_reports([first, second]).ok


def test_one_adapter_in_two_reports_must_agree(tmp_path: Path) -> None:
    first = _write(tmp_path, "one", NativeAdapter())
    second = _write(tmp_path, "two", NativeAdapter())
    assert len(merge_reports([first, second]).results) == len(SCENARIOS)  # kept once
    path = second / "report.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["results"][0]["verdict"] = "fail"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReportError, match=r"native on \w+: pass in .* fail in .*must agree"):
        merge_reports([first, second])


def test_unreadable_reports_are_one_error_line_naming_the_file(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"report_version": 0}), encoding="utf-8")
    for source, message in (
        (tmp_path / "missing", "no conformance report there"),
        (old, "report_version 0; this kit reads version 1"),
    ):
        result = CliRunner().invoke(cli, ["conformance", "matrix", str(source)])
        assert result.exit_code == 1
        assert f"error: {source}" in result.output and message in result.output
        assert "Traceback" not in result.output
