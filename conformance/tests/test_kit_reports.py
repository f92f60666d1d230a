"""Reports: the JSON record, the Markdown matrix, and JUnit XML through the pytest front end."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from kit_broken_adapters import DropsToolErrors, Limited
from nex_conformance import builtin_scenarios
from nex_conformance.cli import run_kit

from nex_core.runtime.plugin import NativeAdapter

N = len(builtin_scenarios())
SHAPES = sum(s.kind == "recording_shape" for s in builtin_scenarios())
"""Cases native is not applicable to (a spec always names its agents, its state is messages)."""


def test_json_report_is_the_complete_record(tmp_path: Path) -> None:
    report = run_kit(adapters=[NativeAdapter(), DropsToolErrors(), Limited()])
    paths = report.write(tmp_path)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["report_version"] == 1 and data["ok"] is False
    assert list(data["adapters"]) == ["native", "drops_tool_errors", "limited"]
    assert "handoffs" in data["adapters"]["native"]["capabilities"]
    assert len(data["results"]) == 3 * N
    failed = [r for r in data["results"] if r["verdict"] == "fail"]
    assert {r["adapter"] for r in failed} == {"drops_tool_errors"}
    checks = {c["name"]: c for c in failed[0]["checks"]}
    assert set(checks) == {"schema", "outline", "normal_form", "records"}
    assert checks["schema"]["ok"] is True and checks["outline"]["ok"] is False
    assert checks["outline"]["detail"].startswith("--- expected outline (scenario)")
    na = [r for r in data["results"] if r["verdict"] == "n/a"]
    shaped = [r for r in na if r["reason"]]
    assert len(shaped) == 3 * SHAPES and all("kit_shape_app" in r["reason"] for r in shaped)
    assert all(
        r["adapter"] == "limited" and r["missing_capabilities"] for r in na if r not in shaped
    )
    assert data["summary"]["native"] == {"pass": N - SHAPES, "n/a": SHAPES}


def test_markdown_matrix_has_a_row_per_scenario_and_a_column_per_adapter(tmp_path: Path) -> None:
    report = run_kit(adapters=[NativeAdapter(), DropsToolErrors()])
    md = report.write(tmp_path)["markdown"].read_text(encoding="utf-8")
    assert "| scenario | native | drops_tool_errors |" in md
    assert "| `tool_error_fed_back` | ✅ pass | ❌ fail |" in md
    assert "| `handoff` | ✅ pass | ✅ pass |" in md
    rows = [ln for ln in md.splitlines() if ln.startswith("| `")]
    assert len(rows) == N
    assert "**FAILED**" in md
    assert "### `tool_error_fed_back` on drops_tool_errors: fail" in md
    assert "```diff\n[outline] --- expected outline (scenario)" in md


CONFORMANCE_MODULE = """
from nex_conformance.pytest_plugin import test_conformance  # noqa: F401
"""

BROKEN_MODULE = """
import pytest
from nex_core.runtime.plugin import NativeAdapter
from nex_core.trajectory.schema import StepStatus, ToolStep
from nex_conformance.pytest_plugin import test_conformance  # noqa: F401


class DropsErrors(NativeAdapter):
    name = "drops_errors"

    async def arun(self, spec, task, **kw):
        traj = await super().arun(spec, task, **kw)
        for step in traj.steps:
            if isinstance(step, ToolStep) and step.error is not None:
                step.error, step.status = None, StepStatus.OK
        return traj


@pytest.fixture(scope="session")
def nex_adapter():
    return DropsErrors()
"""


def test_pytest_front_end_writes_junit_xml(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_native_conformance=CONFORMANCE_MODULE)
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(
        "--nex-adapter", "native", f"--junitxml={junit}", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=N - SHAPES, skipped=SHAPES)
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("tests") == str(N) and suite.get("failures") == "0"
    names = {tc.get("name") for tc in suite.iter("testcase")}
    assert "test_conformance[native-handoff]" in names
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["nex_verdict"] == "pass"


def test_pytest_front_end_fails_skips_and_xfails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken_conformance=BROKEN_MODULE)
    baseline = pytester.path / "baseline.yaml"
    baseline.write_text("unknown_tool: reports unknown tools as successes\n", encoding="utf-8")
    report_dir = pytester.path / "report"
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(
        f"--nex-baseline={baseline}",
        f"--nex-report={report_dir}",
        f"--junitxml={junit}",
        "--nex-scenario=unknown_tool",
        "--nex-scenario=tool_error_fed_back",
        "--nex-scenario=single_tool_call",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1, failed=1, xfailed=1)
    result.stdout.fnmatch_lines(
        ["*tool_error_fed_back on drops_errors:*", "*expected outline (scenario)*"]
    )
    data = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert {r["scenario"]: r["verdict"] for r in data["results"]} == {
        "single_tool_call": "pass",
        "tool_error_fed_back": "fail",
        "unknown_tool": "xfail",
    }
    assert "| `unknown_tool` | ⚠️ xfail |" in (report_dir / "matrix.md").read_text(encoding="utf-8")
    root = ET.parse(junit).getroot()
    assert root.find("testsuite").get("failures") == "1"  # type: ignore[union-attr]


def test_pytest_front_end_marker_and_not_applicable_skips(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marked="""
import pytest
from nex_core import Capability
from nex_core.runtime.plugin import NativeAdapter
from nex_conformance.pytest_plugin import test_conformance  # noqa: F401


class ToolsOnly(NativeAdapter):
    name = "tools_only"
    capabilities = frozenset({Capability.TOOL_CALLS})


@pytest.fixture(scope="session")
def nex_adapter():
    return ToolsOnly()
"""
    )
    result = pytester.runpytest("--nex-scenario=single_tool_call", "--nex-scenario=handoff", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*not applicable: the adapter does not declare handoffs*"])


def test_marker_picks_the_adapter(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marked="""
import pytest
from nex_conformance.pytest_plugin import test_conformance  # noqa: F401

pytestmark = pytest.mark.nex_adapter("native")
"""
    )
    result = pytester.runpytest("--nex-scenario=handoff", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_conformance?native-handoff? PASSED*"])
