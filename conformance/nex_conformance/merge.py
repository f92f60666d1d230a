"""One matrix from several reports (``nex conformance matrix REPORT...``).

Adapters whose frameworks cannot share an environment (the OpenAI Agents SDK pins an older
``websockets`` than AutoGen's stack) are checked in separate runs; each run writes its
``report.json``, and merging them gives the matrix of every adapter side by side. The merged
report is a report like any other: same JSON shape, same Markdown, ``ok`` only when every part
is. An adapter checked in more than one report must have the same verdict on every scenario both
ran (else the merge fails, naming the scenario and the files); its first report's results are
kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nex_conformance.checks import CheckResult
from nex_conformance.engine import CaseResult, Verdict
from nex_conformance.report import REPORT_VERSION, SuiteReport
from nex_core.errors import NexError


class ReportError(NexError):
    """A report that cannot be read or merged (named, with why)."""


def _path(source: str | Path) -> Path:
    path = Path(source)
    return path / "report.json" if path.is_dir() else path


def load_report(source: str | Path) -> SuiteReport:
    """The report in ``source`` (a ``report.json``, or the folder ``--report`` wrote)."""
    path = _path(source)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no conformance report there") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not a readable conformance report ({exc})") from None
    if not isinstance(data, dict) or data.get("report_version") != REPORT_VERSION:
        found = data.get("report_version") if isinstance(data, dict) else None
        raise ReportError(
            f"{path}: report_version {found!r}; this kit reads version {REPORT_VERSION}"
        )
    try:
        results = [_result(r) for r in data["results"]]
        return SuiteReport(
            results=results,
            adapters=dict(data["adapters"]),
            scenarios=list(data["scenarios"]),
            unknown_baseline_entries=dict(data.get("unknown_baseline_entries") or {}),
            started_at=str(data["started_at"]),
            duration_s=float(data.get("duration_s") or 0.0),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"{path}: malformed conformance report ({exc!r})") from None


def _result(data: dict[str, Any]) -> CaseResult:
    return CaseResult(
        scenario=str(data["scenario"]),
        adapter=str(data["adapter"]),
        verdict=Verdict(data["verdict"]),
        checks=[
            CheckResult(str(c["name"]), bool(c["ok"]), str(c.get("detail", "")))
            for c in data["checks"]
        ],
        missing_capabilities=list(data.get("missing_capabilities") or []),
        baseline_reason=data.get("baseline_reason"),
        duration_ms=float(data.get("duration_ms") or 0.0),
        reason=data.get("reason"),
    )


def merge_reports(sources: Sequence[str | Path]) -> SuiteReport:
    """One report of every adapter in ``sources`` (see the module docstring)."""
    if not sources:
        raise ReportError("name at least one conformance report to merge")
    merged = SuiteReport(results=[], adapters={}, scenarios=[])
    seen_in: dict[str, Path] = {}
    verdicts: dict[tuple[str, str], Verdict] = {}
    merged.started_at = ""
    for source in sources:
        report = load_report(source)
        path = _path(source)
        for scenario in report.scenarios:
            if all(s["id"] != scenario["id"] for s in merged.scenarios):
                merged.scenarios.append(scenario)
        for result in report.results:
            key = (result.scenario, result.adapter)
            earlier = verdicts.get(key)
            if earlier is None:
                verdicts[key] = result.verdict
                merged.results.append(result)
                continue
            if earlier is not result.verdict:
                raise ReportError(
                    f"{result.adapter} on {result.scenario}: {earlier.value} in "
                    f"{seen_in[result.adapter]}, {result.verdict.value} in {path}; "
                    "reports of one adapter must agree"
                )
        for name, info in report.adapters.items():
            merged.adapters.setdefault(name, info)
            seen_in.setdefault(name, path)
        for name, ids in report.unknown_baseline_entries.items():
            merged.unknown_baseline_entries.setdefault(name, ids)
        merged.duration_s += report.duration_s
        if not merged.started_at or report.started_at < merged.started_at:
            merged.started_at = report.started_at
    # Native first, then by name, as one run of the kit orders them.
    order = sorted(merged.adapters, key=lambda a: (a != "native", a))
    merged.adapters = {name: merged.adapters[name] for name in order}
    return merged
