"""A scenario needing a capability the adapter lacks is "not applicable", never "pass"."""

from __future__ import annotations

from kit_broken_adapters import Limited
from nex_conformance import Verdict, builtin_scenarios, run_case
from nex_conformance.baseline import Expected
from nex_conformance.cli import run_kit


def test_undeclared_capabilities_make_scenarios_not_applicable_and_they_do_not_run() -> None:
    adapter = Limited()
    report = run_kit(adapters=[adapter])
    by_id = {r.scenario: r for r in report.results}
    for scenario in builtin_scenarios():
        needed = {c.value for c in scenario.capabilities}
        result = by_id[scenario.id]
        if needed <= {"tool_calls", "tool_errors"}:
            assert result.verdict is Verdict.PASS, result.explain()
        else:
            assert result.verdict is Verdict.NOT_APPLICABLE
            assert result.checks == []
            assert result.missing_capabilities == sorted(needed - {"tool_calls", "tool_errors"})
            assert scenario.id not in adapter.ran
    assert report.ok
    assert report.counts("limited")["n/a"] > 0


def test_not_applicable_says_which_capability_is_missing() -> None:
    (handoff,) = [s for s in builtin_scenarios() if s.id == "handoff"]
    result = run_case(Limited(), handoff)
    assert result.explain() == "not applicable: the adapter does not declare handoffs"


def test_a_baseline_entry_for_a_not_applicable_scenario_is_neither_stale_nor_a_failure() -> None:
    (handoff,) = [s for s in builtin_scenarios() if s.id == "handoff"]
    result = run_case(Limited(), handoff, {"handoff": Expected("no handoffs", "test")})
    assert result.verdict is Verdict.NOT_APPLICABLE
    assert not result.verdict.fails_run


def test_the_native_adapter_declares_every_capability_the_scenarios_need(native: object) -> None:
    # Recording shapes need the framework's own apps; native is not applicable there.
    needed = {c for s in builtin_scenarios() if s.kind == "spec" for c in s.capabilities}
    assert needed <= set(native.capabilities)  # type: ignore[attr-defined]
