"""Verification of one episode: the configured checks in order, until one rejects.

Split in steps (:func:`start`, :func:`run_checks`, :func:`decide`) because a multi-process
executor runs the first part where the episode ran and the rest in the driver
(``nex_core.gap.stored``); :func:`verify` is all of it in one place, as the local executor runs
it. Either way the pipeline metadata ends the same: ``digest``, ``checks`` (one outcome per check
that ran), ``accepted`` and, when rejected, ``rejected_by``.
"""

from __future__ import annotations

from typing import Any

from nex_core.gap.checks import Check, DedupCheck, Verdict
from nex_core.gap.config import GapConfig
from nex_core.gap.rewards import apply_rewards
from nex_core.gap.tasks import Task
from nex_core.gap.worker import GAP_KEY, EpisodeResult
from nex_core.trajectory.normalize import digest
from nex_core.trajectory.schema import Trajectory


def build_checks(config: GapConfig) -> list[Check]:
    """The configured checks, deduplication last (it must see the final accept decision)."""
    from nex_core.plugins import get_plugin_manager

    known = get_plugin_manager().merged("nex_verifiers")
    checks = [known[entry.name](**entry.options) for entry in config.check_entries()]
    return [c for c in checks if not isinstance(c, DedupCheck)] + [
        c for c in checks if isinstance(c, DedupCheck)
    ]


def worker_checks(checks: list[Check]) -> int:
    """How many of ``checks``, from the first, may run in a worker (``Check.worker_safe``)."""
    count = 0
    for check in checks:
        if not check.worker_safe:
            break
        count += 1
    return count


def checks_for_worker(config: GapConfig, most: int) -> tuple[list[Check], int]:
    """A worker's checks and how many it runs: at most ``most``, the count the driver found
    (a check registered in the driver's process alone is not known here, so on any failure to
    build them the worker runs none and the driver verifies everything)."""
    try:
        checks = build_checks(config)
    except Exception:
        return [], 0
    return checks, min(most, worker_checks(checks))


def start(trajectory: Trajectory) -> dict[str, Any]:
    """The episode's pipeline metadata, with the digest (taken before any check adds rewards)."""
    gap: dict[str, Any] = trajectory.metadata.setdefault(GAP_KEY, {})
    gap["digest"] = digest(trajectory)
    gap["checks"] = {}
    return gap


def outcome(verdict: Verdict) -> dict[str, Any]:
    """One check's entry in ``metadata["gap"]["checks"]``."""
    return {
        "ok": verdict.ok,
        **({"reason": verdict.reason} if verdict.reason else {}),
        **({"detail": verdict.detail} if verdict.detail else {}),
        **({"rewards": dict(verdict.rewards)} if verdict.rewards else {}),
    }


async def run_checks(
    checks: list[Check], trajectory: Trajectory, task: Task, outcomes: dict[str, Any]
) -> str | None:
    """Run ``checks`` in order until one rejects; returns ``NAME:REASON`` of that one."""
    for check in checks:
        verdict = await check.check(trajectory, task)
        apply_rewards(trajectory, verdict)
        outcomes[check.name] = outcome(verdict)
        if not verdict.ok:
            return f"{check.name}:{verdict.reason}"
    return None


def decide(gap: dict[str, Any], rejected_by: str | None) -> None:
    gap["accepted"] = rejected_by is None
    if rejected_by is not None:
        gap["rejected_by"] = rejected_by


async def verify(checks: list[Check], result: EpisodeResult) -> dict[str, Any]:
    """Run the checks in order until one rejects; returns the episode's pipeline metadata."""
    trajectory = result.trajectory
    gap = start(trajectory)
    decide(gap, await run_checks(checks, trajectory, result.episode.task, gap["checks"]))
    if gap["accepted"]:
        # No await since the dedup check ran: no other episode can slip in between.
        for check in checks:
            check.observe(trajectory, gap)
    return gap
