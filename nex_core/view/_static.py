"""The self-contained page: read the inputs whole and choose what to show — one trajectory, a
comparison, or a run's dashboard with every trajectory behind its link."""

from __future__ import annotations

from pathlib import Path

from nex_core.errors import SpecError
from nex_core.view import _render
from nex_core.view._compare import MAX_COLUMNS, compare
from nex_core.view._dashboard import Dashboard, Episode
from nex_core.view._load import Entry, Loaded, load, task_of, total_size

STATIC_LIMIT_BYTES = 64 * 1024 * 1024
"""Inputs larger than this are refused for a static page (it would hold them all, several times
over, and a browser opening it would stall): ``--serve`` pages through files of any size."""


def check_size(paths: list[Path], limit: int = STATIC_LIMIT_BYTES) -> None:
    size = total_size(paths)
    if size > limit:
        names = " ".join(str(p) for p in paths)
        raise SpecError(
            f"{names}: {size / 2**20:.1f} MiB of trajectories is more than a static page holds "
            f"({limit / 2**20:.0f} MiB); view it with a local server instead: "
            f"nex view {names} --serve"
        )


def select_task(entries: list[Entry], task: str) -> list[Entry]:
    chosen = [e for e in entries if task_of(e) == task]
    if not chosen:
        raise SpecError(f"no trajectory of task '{task}' in the input")
    return chosen


def comparison_page(loaded: Loaded, entries: list[Entry]) -> str:
    if len(entries) < 2:
        raise SpecError(
            f"a comparison needs at least two trajectories; the input has {len(entries)}"
        )
    if len(entries) > MAX_COLUMNS:
        raise SpecError(
            f"{len(entries)} trajectories to compare; at most {MAX_COLUMNS} fit side by side "
            "(choose them with --task, or give fewer files)"
        )
    return _render.compare_page(compare(entries), bad=loaded.bad, sources=loaded.sources)


def dashboard_page(loaded: Loaded) -> str:
    dash = Dashboard(report=loaded.report)
    for entry in loaded.entries:
        dash.add(entry)
    title = str((loaded.report or {}).get("name") or "") or ", ".join(loaded.sources)

    def link(episode: Episode) -> str:
        return f"#{episode.ref}"

    return _render.run_page(
        dash,
        details=loaded.entries,
        link=link,
        title=f"run {title}" if loaded.run_dir else title,
        bad=loaded.bad,
        sources=loaded.sources,
        run_dir=loaded.run_dir,
    )


def render_static(
    paths: list[Path],
    *,
    compare_all: bool = False,
    task: str | None = None,
    limit: int = STATIC_LIMIT_BYTES,
) -> str:
    """The page for ``paths``: several files, ``compare_all`` or ``task`` compare; a single
    trajectory is shown alone; anything else (a run folder, a file of many) is a dashboard."""
    check_size(paths, limit)
    loaded = load(paths)
    if task is not None:
        return comparison_page(loaded, select_task(loaded.entries, task))
    if compare_all or (len(paths) > 1 and loaded.run_dir is None):
        return comparison_page(loaded, loaded.entries)
    if len(loaded.entries) == 1 and loaded.run_dir is None:
        return _render.trajectory_page(loaded.entries[0], bad=loaded.bad, sources=loaded.sources)
    return dashboard_page(loaded)
