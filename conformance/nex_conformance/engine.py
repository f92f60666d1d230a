"""The engine both front ends share: run scenarios through adapters and judge the results.

For one (adapter, scenario) case: if the adapter lacks a capability the scenario needs, the case is
"not applicable" and does not run. Otherwise the scenario's system is built and run through
``adapter.arun`` with a :class:`RecordingModel` and the kit's logged tools, and the checks in
:mod:`nex_conformance.checks` judge the trajectory. The expected normal form comes from running
the scenario on the native reference runtime (``nex_core.runtime.run_native``, never the adapter
under test), and that reference must itself match the scenario's hand-written outline.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from nex_conformance import toolkit
from nex_conformance.baseline import Baseline
from nex_conformance.checks import (
    CheckResult,
    check_normal_form,
    check_outline,
    check_records,
    check_schema,
    run_order_problems,
)
from nex_conformance.models import RecordingModel
from nex_conformance.scenario import Expectation, Scenario, ShapeScenario
from nex_core import Adapter, AgentSpec, MemorySink, TaskInfo, normalize
from nex_core.adapter import Capability, run_sync
from nex_core.protocol.spec import ImportBinding
from nex_core.runtime.loop import run_native
from nex_core.runtime.resume import resume_native
from nex_core.trajectory.schema import Trajectory

CASE_TIMEOUT_S = 30.0


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "n/a"
    XFAIL = "xfail"
    """Failed, and listed in the adapter's baseline."""
    STALE = "stale"
    """Listed in the baseline, but passed: the entry must go. Fails the run."""

    @property
    def fails_run(self) -> bool:
        return self in (Verdict.FAIL, Verdict.STALE)


@dataclass
class CaseResult:
    scenario: str
    adapter: str
    verdict: Verdict
    checks: list[CheckResult] = field(default_factory=list)
    missing_capabilities: list[str] = field(default_factory=list)
    baseline_reason: str | None = None
    duration_ms: float = 0.0
    reason: str | None = None
    """Why the case is not applicable, when no missing capability says it (a recording
    shape the adapter cannot build)."""

    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.ok]

    def explain(self) -> str:
        """A readable account of why the case did not simply pass."""
        if self.verdict is Verdict.NOT_APPLICABLE and self.reason:
            return f"not applicable: {self.reason}"
        if self.verdict is Verdict.NOT_APPLICABLE:
            return "not applicable: the adapter does not declare " + ", ".join(
                self.missing_capabilities
            )
        if self.verdict is Verdict.STALE:
            return (
                f"listed as an expected failure ({self.baseline_reason}) but it passes: "
                "remove it from the baseline"
            )
        parts = [f"[{c.name}] {c.detail}" for c in self.failures()]
        if self.verdict is Verdict.XFAIL:
            parts.insert(0, f"expected failure: {self.baseline_reason}")
        return "\n".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "adapter": self.adapter,
            "verdict": self.verdict.value,
            "checks": [c.as_dict() for c in self.checks],
            "missing_capabilities": self.missing_capabilities,
            "baseline_reason": self.baseline_reason,
            "duration_ms": round(self.duration_ms, 2),
            "reason": self.reason,
        }


# --------------------------------------------------------------------------- reference


@dataclass
class Reference:
    normal: dict[str, Any]
    outline: CheckResult
    """Whether the native reference matches the scenario's own outline."""
    stages: list[dict[str, Any]] = field(default_factory=list)
    """The normal forms of the resumed runs (a scenario with ``resume`` stages)."""


_references: dict[str, Reference] = {}


async def reference(scenario: Scenario) -> Reference:
    """The native reference run of ``scenario`` (cached per scenario content), and of its
    resume stages, each on the same scripted model."""
    key = scenario.fingerprint()
    if key not in _references:
        model = RecordingModel(scenario.script)
        with toolkit.capture() as log:
            traj = await run_native(scenario.build(), _task(scenario), model=model)
        normal = normalize(traj)
        outline = check_outline(traj, normal, scenario.expect, "native reference")
        order = run_order_problems(log, scenario.expect.tool_runs)
        details = [outline.detail, *order]
        stages = []
        for number, stage in enumerate(scenario.resume, 1):
            who = f"native reference, resume {number}"
            with toolkit.capture() as log:
                traj = await resume_native(scenario.build(), traj, stage.decision, model=model)
            stages.append(normalize(traj))
            staged = check_outline(traj, stages[-1], stage.expect, who)
            details += [staged.detail, *run_order_problems(log, stage.expect.tool_runs)]
        problems = "\n".join(filter(None, details))
        _references[key] = Reference(normal, CheckResult("outline", not problems, problems), stages)
    return _references[key]


def _task(scenario: Scenario) -> TaskInfo:
    return TaskInfo(id=scenario.id, turns=list(scenario.turns))


def kit_tools(spec: Any) -> dict[str, str]:
    """Tool name → kit function name, for every tool in the system bound to the kit."""
    out: dict[str, str] = {}
    agents: list[AgentSpec] = spec.walk()
    for agent in agents:
        for tool in agent.tools:
            if isinstance(tool.binding, ImportBinding):
                fn = toolkit.function_name(tool.binding.path)
                if fn is not None:
                    out[tool.name] = fn
    return out


# --------------------------------------------------------------------------- one case


async def _checks(adapter: Adapter, scenario: Scenario) -> list[CheckResult]:
    ref = await reference(scenario)
    if not ref.outline.ok:
        return [
            CheckResult(
                "reference",
                False,
                "the native reference disagrees with the scenario's "
                f"outline (a scenario or runtime bug):\n{ref.outline.detail}",
            )
        ]
    model, sink = RecordingModel(scenario.script), MemorySink()
    spec = scenario.build()
    with toolkit.capture() as log:
        try:
            traj = await asyncio.wait_for(
                adapter.arun(spec, _task(scenario), model=model, sinks=[sink]), CASE_TIMEOUT_S
            )
        except Exception as exc:
            return [_raised("adapter.arun", exc)]
    checks = _judge(adapter.name, scenario, scenario.expect, ref.normal, traj, sink, model, 0, log)
    for number, stage in enumerate(scenario.resume, 1):
        paused = traj
        sink, seen = MemorySink(), len(model.exchanges)
        with toolkit.capture() as log:
            try:
                traj = await asyncio.wait_for(
                    adapter.aresume(spec, paused, stage.decision, model=model, sinks=[sink]),
                    CASE_TIMEOUT_S,
                )
            except Exception as exc:
                return [*checks, _raised(f"adapter.aresume (resume {number})", exc)]
        checks += _judge(
            f"{adapter.name}, resume {number}",
            scenario,
            stage.expect,
            ref.stages[number - 1],
            traj,
            sink,
            model,
            seen,
            log,
        )
        shared = traj.session_id is not None and traj.session_id == paused.session_id
        checks.append(
            CheckResult(
                "session",
                shared,
                ""
                if shared
                else f"resume {number}: session_id {traj.session_id!r} is not the paused run's "
                f"({paused.session_id!r})",
            )
        )
    return checks


def _raised(what: str, exc: Exception) -> CheckResult:
    detail = "".join(traceback.format_exception(exc, limit=6))
    return CheckResult("run", False, f"{what} raised instead of returning a trajectory:\n{detail}")


def _judge(
    who: str,
    scenario: Scenario,
    expect: Expectation,
    reference_normal: dict[str, Any],
    traj: Trajectory,
    sink: MemorySink,
    model: RecordingModel,
    seen: int,
    log: Sequence[Any],
) -> list[CheckResult]:
    """The checks of one run (the first, or a resume stage): schema, outline, normal form and
    records, the model's exchanges counted from ``seen`` (the stages share one model)."""
    schema, again = check_schema(traj, sink.trajectories)
    if again is None:
        return [schema]
    normal = normalize(again)
    who = f"adapter {who}"
    return [
        schema,
        check_outline(again, normal, expect, who),
        check_normal_form(normal, reference_normal, who),
        check_records(
            again, model.exchanges[seen:], log, kit_tools(scenario.system), expect.tool_runs
        ),
    ]


def missing_capabilities(adapter: Adapter, scenario: Scenario | ShapeScenario) -> list[str]:
    """Capabilities the scenario needs that the adapter lacks, and text tool formats its system
    uses that the adapter does not declare (``text_tool_format:NAME``)."""
    missing = sorted(c.value for c in set(scenario.capabilities) - set(adapter.capabilities))
    if isinstance(scenario, ShapeScenario):
        return missing
    formats = adapter.missing_text_formats(scenario.system)
    return missing + [f"{Capability.TEXT_TOOL_FORMAT.value}:{f}" for f in formats]


async def arun_case(
    adapter: Adapter, scenario: Scenario | ShapeScenario, baseline: Baseline | None = None
) -> CaseResult:
    """Judge ``adapter`` on ``scenario``; ``baseline`` turns listed failures into expected ones."""
    from nex_conformance.shapes import HOOK, WITHOUT_HOOK, arun_shape

    expected = (baseline or {}).get(scenario.id)
    reason = expected.reason if expected else None
    missing = missing_capabilities(adapter, scenario)
    if isinstance(scenario, ShapeScenario) and getattr(adapter, HOOK, None) is None:
        # The shape's own reason says more than a missing capability would.
        return CaseResult(
            scenario.id,
            adapter.name,
            Verdict.NOT_APPLICABLE,
            missing_capabilities=missing,
            baseline_reason=reason,
            reason=WITHOUT_HOOK[scenario.shape],
        )
    if missing:
        return CaseResult(
            scenario.id,
            adapter.name,
            Verdict.NOT_APPLICABLE,
            missing_capabilities=missing,
            baseline_reason=reason,
        )
    t0 = time.perf_counter()
    if isinstance(scenario, ShapeScenario):
        checks, not_applicable = await arun_shape(adapter, scenario, CASE_TIMEOUT_S)
        if not_applicable is not None:
            return CaseResult(
                scenario.id,
                adapter.name,
                Verdict.NOT_APPLICABLE,
                baseline_reason=reason,
                reason=not_applicable,
            )
    else:
        checks = await _checks(adapter, scenario)
    passed = all(c.ok for c in checks)
    if passed:
        verdict = Verdict.STALE if expected else Verdict.PASS
    else:
        verdict = Verdict.XFAIL if expected else Verdict.FAIL
    return CaseResult(
        scenario.id,
        adapter.name,
        verdict,
        checks,
        baseline_reason=reason,
        duration_ms=(time.perf_counter() - t0) * 1e3,
    )


def run_case(
    adapter: Adapter, scenario: Scenario | ShapeScenario, baseline: Baseline | None = None
) -> CaseResult:
    """Synchronous :func:`arun_case` (usable inside a running event loop too)."""
    return run_sync(arun_case(adapter, scenario, baseline))


async def arun_suite(
    adapters: Sequence[Adapter],
    scenarios: Sequence[Scenario | ShapeScenario],
    baselines: dict[str, Baseline] | None = None,
) -> list[CaseResult]:
    """Every scenario against every adapter, one case at a time (the tool log is process-wide)."""
    results = []
    for adapter in adapters:
        baseline = (baselines or {}).get(adapter.name, {})
        for scenario in scenarios:
            results.append(await arun_case(adapter, scenario, baseline))
    return results
