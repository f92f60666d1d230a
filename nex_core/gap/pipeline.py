"""The GAP pipeline: plan → skip what is done → execute → verify → commit → report (→ export).

Resume is by key: every committed trajectory carries its episode key in ``metadata["gap"]``; on
start the output is scanned (streaming, a torn last line tolerated) and those keys are skipped.
The pipeline alone writes, after verification, so an episode is committed once or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from nex_core.errors import OutputError
from nex_core.gap.checks import ENVIRONMENTAL_TOOL_ERRORS
from nex_core.gap.config import GapConfig
from nex_core.gap.executor import Executor
from nex_core.gap.plan import (
    Episode,
    EpisodeKey,
    applicable_pairs,
    executor_factory,
    iter_episodes,
    load_specs,
)
from nex_core.gap.progress import ProgressView
from nex_core.gap.report import Entry, Tally, print_report, write_report
from nex_core.gap.sinks import ConfigSinks
from nex_core.gap.store import DurableLog, exclusive, scan
from nex_core.gap.stored import StoredResult, complete
from nex_core.gap.verify import build_checks, verify
from nex_core.gap.worker import GAP_KEY, EpisodeResult
from nex_core.trajectory.compact import dumps_bytes
from nex_core.trajectory.schema import OutcomeStatus, Trajectory

__all__ = ["RunResult", "build_checks", "run_gap", "verify"]


@dataclass
class RunResult:
    report: dict[str, Any]
    tally: Tally


async def run_gap(
    config: GapConfig,
    *,
    executor: str | Executor | None = None,
    executor_options: dict[str, Any] | None = None,
    progress: bool = False,
    summary: bool | None = None,
    console: Console | None = None,
    limit: int | None = None,
    on_result: Callable[[Trajectory], None] | None = None,
    retry_errors: bool | None = None,
) -> RunResult:
    """Run every pending episode of ``config``; returns the report (also written as JSON).

    ``summary`` prints the report's tables (default: when ``progress`` is on). ``retry_errors``
    (default: the config's) runs again the episodes in the output that ended in ``error`` or
    were rejected for an environmental tool failure; the new attempt replaces the old one in the
    counts. A run that stops early (an output write failed, Ctrl-C) still writes ``report.json``
    for the episodes that were committed, marked ``aborted``.
    """
    console = console or Console(stderr=True)
    retry = config.retry_errors if retry_errors is None else retry_errors
    out = config.output_dir
    with exclusive(out):
        specs = load_specs(config)
        checks = build_checks(config)
        tally = Tally()
        done: set[str] = set()
        failed: dict[str, Entry] = {}
        """Episodes whose latest attempt in the output failed: a later attempt replaces them."""

        def count(key: str, entry: Entry, gap: dict[str, Any]) -> bool:
            earlier = failed.pop(key, None)
            if earlier is not None:  # a retry: its attempt replaces the failed one in the counts
                tally.apply(earlier, -1)
                if not entry.resumed:
                    tally.retried += 1
            tally.apply(entry)
            again = _retryable(entry, gap)
            if again:
                failed[key] = entry
            return again

        def seen(trajectory: Trajectory) -> None:
            gap = trajectory.metadata.get(GAP_KEY)
            if not isinstance(gap, dict) or "key" not in gap:
                return
            key = EpisodeKey.from_dict(gap["key"]).text()
            if count(key, Entry.of(trajectory, gap, resumed=True), gap) and retry:
                done.discard(key)
            else:
                done.add(key)
            if gap.get("accepted"):
                for check in checks:
                    check.observe(trajectory, gap)

        bad = scan(config.trajectories_path, seen)
        tally.bad_lines = [str(b) for b in bad]
        pairs, not_applicable = applicable_pairs(config, specs)
        total = sum(1 for _ in iter_episodes(config, pairs))
        pending: Iterator[Episode] = (
            (e for e in iter_episodes(config, pairs) if e.key.text() not in done)
            if done
            else iter_episodes(config, pairs)
        )
        if limit is not None:
            pending = _take(pending, limit)
        runner = _executor(config, executor, executor_options)
        log = DurableLog(config.trajectories_path)
        sinks = ConfigSinks(config)
        view = ProgressView(console, total=total, done=len(done), enabled=progress)

        async def emit(result: EpisodeResult | StoredResult) -> None:
            trajectory: Trajectory | None
            if isinstance(result, StoredResult):  # verified where it ran (nex_core.gap.stored)
                line, gap, trajectory = await complete(checks, result)
                entry = result.entry(gap)
            else:
                gap = await verify(checks, result)
                trajectory = result.trajectory
                line = dumps_bytes(trajectory)
                entry = Entry.of(trajectory, gap, resumed=False)
            await log.append(line)
            if trajectory is None and (sinks.sinks or on_result is not None):
                trajectory = Trajectory.model_validate_json(line)  # only they need it parsed
            if sinks.sinks:
                assert trajectory is not None
                await sinks.write(trajectory)
            count(result.episode.key.text(), entry, gap)
            view.advance(tally)
            if on_result is not None:
                assert trajectory is not None
                on_result(trajectory)

        def finish(stats: dict[str, Any], aborted: str | None) -> dict[str, Any]:
            tally.mcp_restarts = dict(stats.get("mcp_restarts", {}))
            report = tally.as_dict(config.name)
            report["executor"] = {
                "name": getattr(runner, "name", type(runner).__name__),
                **{k: v for k, v in stats.items() if k != "mcp_restarts"},
            }
            report["commits"] = log.commits
            if sinks.sinks:
                report["sinks"] = sinks.summary()
            report["not_applicable"] = not_applicable
            if aborted is not None:
                report["aborted"] = aborted
            if summary if summary is not None else progress:
                print_report(report, console)
            return report

        started = time.perf_counter()
        try:
            with view, _settled_heap():
                stats = await runner.execute(config, pending, emit)
        except BaseException as exc:
            tally.seconds = time.perf_counter() - started
            await log.aclose()
            await asyncio.to_thread(sinks.close)
            raise _aborted(exc, finish({}, _abort_reason(exc)), out / "report.json") from None
        tally.seconds = time.perf_counter() - started
        await log.aclose()
        await asyncio.to_thread(sinks.close)  # an exporting sink sends what it still holds
        report = finish(stats, None)
        write_report(report, out / "report.json")
    if config.export is not None:
        from nex_core.gap.export import ExportOptions, export

        settings = config.export
        summary_ = export(
            config.trajectories_path,
            out / settings.out,
            ExportOptions(
                per=settings.per,
                formats=list(settings.formats),
                targets=list(settings.targets),
                file_formats=list(settings.file_formats),
                validation_fraction=settings.validation_fraction,
                seed=settings.seed,
            ),
        )
        report["export"] = summary_
        write_report(report, out / "report.json")
    return RunResult(report, tally)


def _retryable(entry: Entry, gap: dict[str, Any]) -> bool:
    """Whether ``retry_errors`` runs this episode again: it ended in ``error``, or it was
    rejected because a tool's environment failed it (``status:tool_*``), which a fixed
    environment (the server installed, the binding importable) may not repeat."""
    if entry.status == OutcomeStatus.ERROR.value:
        return True
    rejected = str(gap.get("rejected_by") or "")
    reason = rejected.partition(":")[2]
    return rejected.startswith("status:") and reason in set(ENVIRONMENTAL_TOOL_ERRORS.values())


def _abort_reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
        return "cancelled"
    return f"{type(exc).__name__}: {exc}"


def _aborted(exc: BaseException, report: dict[str, Any], path: Path) -> BaseException:
    """Write the report of what finished before ``exc`` stopped the run; the error to raise."""
    try:
        write_report(report, path)
        note = f"the run stopped; the report of the {report['this_run']['episodes']} episode(s) "
        note += f"committed by this run is in {path}"
    except OutputError as also:
        note = f"the run stopped, and its report could not be written either ({also})"
    if isinstance(exc, OutputError):
        return OutputError(f"{exc}; {note}")
    return exc


@contextlib.contextmanager
def _settled_heap() -> Iterator[None]:
    """Keep what exists before the run (imported modules, SDK types, specs) out of the cyclic
    garbage collector while it runs. Each full collection otherwise walks that whole heap (about
    190,000 objects with the openai SDK loaded: 65 ms, during which no episode advances), and a
    run allocates enough to trigger several. Objects made during the run are collected as usual;
    ``gc.unfreeze`` hands the rest back afterwards."""
    if gc.get_freeze_count():  # a caller froze the heap itself: leave its choice alone
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _take(episodes: Iterator[Episode], n: int) -> Iterator[Episode]:
    for i, episode in enumerate(episodes):
        if i >= n:
            return
        yield episode


def _executor(
    config: GapConfig, executor: str | Executor | None, options: dict[str, Any] | None
) -> Executor:
    if isinstance(executor, Executor):
        return executor
    name = executor or config.executor
    merged = {**(config.executor_options if name == config.executor else {}), **(options or {})}
    made: Executor = executor_factory(name)(**merged)
    return made
