"""nex-conformance: prove a nex adapter faithful with scripted scenarios."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nex_conformance.baseline import Baseline, Expected, baseline_for
    from nex_conformance.checks import CheckResult
    from nex_conformance.engine import CaseResult, Verdict, arun_case, arun_suite, run_case
    from nex_conformance.merge import ReportError, load_report, merge_reports
    from nex_conformance.models import RecordingModel
    from nex_conformance.scenario import (
        Scenario,
        builtin_scenarios,
        load_scenario,
        scenario_schema,
        select,
    )

__version__ = "0.1.0"

__all__ = [
    "Baseline",
    "CaseResult",
    "CheckResult",
    "Expected",
    "RecordingModel",
    "ReportError",
    "Scenario",
    "Verdict",
    "__version__",
    "arun_case",
    "arun_suite",
    "baseline_for",
    "builtin_scenarios",
    "load_report",
    "load_scenario",
    "merge_reports",
    "run_case",
    "scenario_schema",
    "select",
]

# Imported on first use: `nex` loads this distribution's plugin module (nex_conformance.cli) with
# every plugin manager, and `nex --help` must not pay for the scenarios and the engine.
_EXPORTS = {
    "Baseline": "nex_conformance.baseline",
    "CaseResult": "nex_conformance.engine",
    "CheckResult": "nex_conformance.checks",
    "Expected": "nex_conformance.baseline",
    "RecordingModel": "nex_conformance.models",
    "ReportError": "nex_conformance.merge",
    "Scenario": "nex_conformance.scenario",
    "Verdict": "nex_conformance.engine",
    "arun_case": "nex_conformance.engine",
    "arun_suite": "nex_conformance.engine",
    "baseline_for": "nex_conformance.baseline",
    "builtin_scenarios": "nex_conformance.scenario",
    "load_report": "nex_conformance.merge",
    "load_scenario": "nex_conformance.scenario",
    "merge_reports": "nex_conformance.merge",
    "run_case": "nex_conformance.engine",
    "scenario_schema": "nex_conformance.scenario",
    "select": "nex_conformance.scenario",
}


if not TYPE_CHECKING:  # type checkers see the imports above, not a catch-all

    def __getattr__(name: str) -> Any:
        if name in _EXPORTS:
            value = getattr(importlib.import_module(_EXPORTS[name]), name)
            globals()[name] = value
            return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
