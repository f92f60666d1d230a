"""Expected-failure baselines: listed failures are tolerated with a reason, unlisted ones fail the
run, and a listed scenario that passes fails the run as stale."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from kit_broken_adapters import DropsToolErrors
from nex_conformance import Verdict, baseline_for
from nex_conformance.baseline import Expected, read_file
from nex_conformance.cli import run_kit

from nex_core import SpecError

TOOL_ERROR_SCENARIOS = {
    "tool_error_fed_back",
    "unknown_tool",
    "malformed_tool_arguments",
    "invalid_tool_arguments",
    "parallel_calls_one_fails",
    "sub_agent_tool_error",
}


def _failing() -> set[str]:
    report = run_kit(adapters=[DropsToolErrors()])
    return {r.scenario for r in report.results if r.verdict is Verdict.FAIL}


def test_the_broken_adapter_fails_exactly_the_tool_error_scenarios() -> None:
    assert _failing() == TOOL_ERROR_SCENARIOS


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "baseline.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_listed_failures_are_expected_and_the_run_passes(tmp_path: Path) -> None:
    path = _write(tmp_path, {s: "drops tool errors by design" for s in TOOL_ERROR_SCENARIOS})
    report = run_kit(adapters=[DropsToolErrors()], baseline_files=[str(path)])
    xfail = {r.scenario for r in report.results if r.verdict is Verdict.XFAIL}
    assert xfail == TOOL_ERROR_SCENARIOS
    assert report.ok
    assert all(
        r.baseline_reason == "drops tool errors by design"
        for r in report.results
        if r.verdict is Verdict.XFAIL
    )


def test_an_unlisted_failure_fails_the_run(tmp_path: Path) -> None:
    listed = sorted(TOOL_ERROR_SCENARIOS)[1:]
    path = _write(tmp_path, dict.fromkeys(listed, "known"))
    report = run_kit(adapters=[DropsToolErrors()], baseline_files=[str(path)])
    assert not report.ok
    failed = [r.scenario for r in report.results if r.verdict is Verdict.FAIL]
    assert failed == sorted(TOOL_ERROR_SCENARIOS)[:1]


def test_a_listed_scenario_that_passes_is_stale_and_fails_the_run(tmp_path: Path) -> None:
    entries = dict.fromkeys(TOOL_ERROR_SCENARIOS, "known")
    entries["single_tool_call"] = "was broken once"
    path = _write(tmp_path, entries)
    report = run_kit(adapters=[DropsToolErrors()], baseline_files=[str(path)])
    assert not report.ok
    stale = [r for r in report.results if r.verdict is Verdict.STALE]
    assert [r.scenario for r in stale] == ["single_tool_call"]
    assert "remove it from the baseline" in stale[0].explain()


def test_per_adapter_baseline_files_apply_only_to_their_adapter(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {"adapters": {"drops_tool_errors": {"unknown_tool": "r1"}, "other": {"handoff": "r2"}}},
    )
    assert read_file(path) == {
        "drops_tool_errors": {"unknown_tool": "r1"},
        "other": {"handoff": "r2"},
    }
    baseline = baseline_for(DropsToolErrors(), [path])
    assert baseline == {"unknown_tool": Expected("r1", str(path))}


@pytest.mark.parametrize("bad", [{"handoff": ""}, {"handoff": None}, ["handoff"]])
def test_every_entry_needs_a_reason(tmp_path: Path, bad: object) -> None:
    with pytest.raises(SpecError, match=r"reason|maps scenario ids"):
        read_file(_write(tmp_path, bad))


class _ShipsBaseline(DropsToolErrors):
    name = "ships_baseline"
    conformance_baseline: ClassVar[dict[str, str]] = dict.fromkeys(
        TOOL_ERROR_SCENARIOS, "shipped by the adapter"
    )


def test_an_adapter_can_ship_its_baseline_as_an_attribute() -> None:
    report = run_kit(adapters=[_ShipsBaseline()])
    assert report.ok
    assert report.adapters["ships_baseline"]["baseline"]["unknown_tool"] == {
        "reason": "shipped by the adapter",
        "source": "_ShipsBaseline.conformance_baseline",
    }


def test_an_adapter_attribute_may_name_a_file_and_command_line_files_override(
    tmp_path: Path,
) -> None:
    shipped = _write(tmp_path, dict.fromkeys(TOOL_ERROR_SCENARIOS, "from the file"))
    adapter = DropsToolErrors()
    adapter.conformance_baseline = str(shipped)  # type: ignore[attr-defined]
    extra = tmp_path / "extra.yaml"
    extra.write_text("unknown_tool: overridden\n", encoding="utf-8")
    baseline = baseline_for(adapter, [extra])
    assert baseline["tool_error_fed_back"].reason == "from the file"
    assert baseline["unknown_tool"] == Expected("overridden", str(extra))


def test_entries_naming_unknown_scenarios_are_reported(tmp_path: Path) -> None:
    path = _write(
        tmp_path, {**dict.fromkeys(TOOL_ERROR_SCENARIOS, "known"), "no_such_scenario": "typo"}
    )
    report = run_kit(adapters=[DropsToolErrors()], baseline_files=[str(path)])
    assert report.ok
    assert report.unknown_baseline_entries == {"drops_tool_errors": ["no_such_scenario"]}
    assert "names unknown scenarios: no_such_scenario" in report.markdown()
