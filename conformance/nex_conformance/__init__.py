"""nex-conformance: prove a nex adapter faithful with scripted scenarios."""

from nex_conformance.baseline import Baseline, Expected, baseline_for
from nex_conformance.checks import CheckResult
from nex_conformance.engine import CaseResult, Verdict, arun_case, arun_suite, run_case
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
    "Scenario",
    "Verdict",
    "__version__",
    "arun_case",
    "arun_suite",
    "baseline_for",
    "builtin_scenarios",
    "load_scenario",
    "run_case",
    "scenario_schema",
    "select",
]
