"""Reports of a conformance run: the JSON record and a Markdown matrix of scenarios by adapters.

(JUnit XML comes from pytest: run the kit through the pytest plugin with ``--junitxml``.)
"""

from __future__ import annotations

import json
import platform
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nex_conformance.baseline import Baseline
from nex_conformance.engine import CaseResult, Verdict
from nex_conformance.scenario import Scenario, ShapeScenario, builtin_scenarios
from nex_core import Adapter
from nex_core import __version__ as nex_version

REPORT_VERSION = 1

SYMBOLS = {
    Verdict.PASS: "✅ pass",
    Verdict.FAIL: "❌ fail",
    Verdict.NOT_APPLICABLE: "⬜ n/a",
    Verdict.XFAIL: "⚠️ xfail",
    Verdict.STALE: "🔁 stale",
}
LEGEND = {
    Verdict.PASS: "every check passed",
    Verdict.FAIL: "a check failed (fails the run)",
    Verdict.NOT_APPLICABLE: "the adapter does not declare a capability the scenario needs",
    Verdict.XFAIL: "failed, listed in the adapter's baseline with a reason",
    Verdict.STALE: "listed in the baseline but passes: remove the entry (fails the run)",
}


@dataclass
class SuiteReport:
    """Everything one run of the kit found."""

    results: list[CaseResult]
    adapters: dict[str, dict[str, Any]]
    scenarios: list[dict[str, Any]]
    unknown_baseline_entries: dict[str, list[str]] = field(default_factory=dict)
    """Per adapter: baseline entries naming scenarios the kit does not have."""
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(r.verdict.fails_run for r in self.results)

    def cell(self, scenario: str, adapter: str) -> CaseResult | None:
        for r in self.results:
            if r.scenario == scenario and r.adapter == adapter:
                return r
        return None

    def counts(self, adapter: str) -> Counter[str]:
        return Counter(r.verdict.value for r in self.results if r.adapter == adapter)

    # ----------------------------------------------------------------- JSON

    def as_dict(self) -> dict[str, Any]:
        from nex_conformance import __version__

        return {
            "report_version": REPORT_VERSION,
            "kit_version": __version__,
            "nex_version": nex_version,
            "python": platform.python_version(),
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "ok": self.ok,
            "adapters": self.adapters,
            "scenarios": self.scenarios,
            "summary": {a: dict(self.counts(a)) for a in self.adapters},
            "unknown_baseline_entries": self.unknown_baseline_entries,
            "results": [r.as_dict() for r in self.results],
        }

    # ----------------------------------------------------------------- Markdown

    def markdown(self) -> str:
        names = list(self.adapters)
        lines = [
            "# nex conformance",
            "",
            f"{'**passed**' if self.ok else '**FAILED**'} — {len(self.scenarios)} scenarios by "
            f"{len(names)} adapters, nex {nex_version}, {self.started_at}",
            "",
            "| scenario | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for s in self.scenarios:
            cells = []
            for a in names:
                r = self.cell(s["id"], a)
                cells.append(SYMBOLS[r.verdict] if r else "")
            lines.append(f"| `{s['id']}` | " + " | ".join(cells) + " |")
        lines += ["", "| adapter | " + " | ".join(v.value for v in Verdict) + " |"]
        lines.append("|---|" + "---|" * len(Verdict))
        for a in names:
            c = self.counts(a)
            lines.append(f"| {a} | " + " | ".join(str(c.get(v.value, 0)) for v in Verdict) + " |")
        lines += ["", "Legend: " + "; ".join(f"{SYMBOLS[v]}: {t}" for v, t in LEGEND.items())]
        lines += ["", "## Adapters", "", "| adapter | framework | capabilities |", "|---|---|---|"]
        for a, info in self.adapters.items():
            framework = f"{info.get('framework')} {info.get('framework_version') or ''}".strip()
            capabilities = ", ".join(info.get("capabilities") or [])
            lines.append(f"| {a} | {framework} | {capabilities} |")
        lines += self._details()
        return "\n".join(lines) + "\n"

    def _details(self) -> list[str]:
        out: list[str] = []
        for title, verdicts in (
            ("Failures", {Verdict.FAIL, Verdict.STALE}),
            ("Expected failures", {Verdict.XFAIL}),
        ):
            picked = [r for r in self.results if r.verdict in verdicts]
            if not picked:
                continue
            out += ["", f"## {title}"]
            for r in picked:
                out += ["", f"### `{r.scenario}` on {r.adapter}: {r.verdict.value}", ""]
                out += ["```diff", r.explain(), "```"]
        reasoned = [r for r in self.results if r.verdict is Verdict.NOT_APPLICABLE and r.reason]
        if reasoned:  # a recording shape the adapter cannot build says why
            out += ["", "## Not applicable, and why", ""]
            out += [f"- `{r.scenario}` on {r.adapter}: {r.reason}" for r in reasoned]
        for adapter, ids in self.unknown_baseline_entries.items():
            out += ["", f"Baseline of {adapter} names unknown scenarios: {', '.join(ids)}"]
        return out

    def write(self, directory: str | Path) -> dict[str, Path]:
        """Write ``report.json`` and ``matrix.md`` into ``directory``."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"json": folder / "report.json", "markdown": folder / "matrix.md"}
        paths["json"].write_text(
            json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        paths["markdown"].write_text(self.markdown(), encoding="utf-8")
        return paths


def adapter_info(adapter: Adapter, baseline: Baseline) -> dict[str, Any]:
    return {
        "framework": adapter.framework,
        "framework_version": adapter.framework_version,
        "version": adapter.version,
        "capabilities": sorted(c.value for c in adapter.capabilities),
        "baseline": {k: {"reason": v.reason, "source": v.source} for k, v in baseline.items()},
    }


def build_report(
    adapters: Sequence[Adapter],
    scenarios: Sequence[Scenario | ShapeScenario],
    results: list[CaseResult],
    baselines: dict[str, Baseline],
    duration_s: float = 0.0,
) -> SuiteReport:
    known = {s.id for s in builtin_scenarios()} | {s.id for s in scenarios}
    unknown = {
        a.name: sorted(set(baselines.get(a.name, {})) - known)
        for a in adapters
        if set(baselines.get(a.name, {})) - known
    }
    return SuiteReport(
        results=results,
        adapters={a.name: adapter_info(a, baselines.get(a.name, {})) for a in adapters},
        scenarios=[
            {
                "id": s.id,
                "description": s.description,
                "capabilities": [c.value for c in s.capabilities],
            }
            for s in scenarios
        ],
        unknown_baseline_entries=unknown,
        duration_s=duration_s,
    )
