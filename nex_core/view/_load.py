"""What the viewer reads: trajectory files and GAP run folders, line by line, with every bad line
kept (file and line) so the page can list it beside the good ones."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nex_core.errors import SpecError
from nex_core.trajectory.reader import BadLine, _describe
from nex_core.trajectory.redact import redact_data
from nex_core.trajectory.schema import Trajectory

RUN_TRAJECTORIES = "trajectories.jsonl"
RUN_REPORT = "report.json"


@dataclass(frozen=True, slots=True)
class Entry:
    """One good trajectory: where it was read from, and the record as stored (JSON data)."""

    file: str
    line: int
    data: dict[str, Any]
    source: int = 0
    """Which input (its place on the command line)."""

    @property
    def ref(self) -> str:
        """A page-wide unique id for links."""
        return f"t{self.source}-{self.line}"


@dataclass
class Loaded:
    """Everything given on the command line, read."""

    entries: list[Entry] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    run_dir: Path | None = None
    report: dict[str, Any] | None = None
    sources: list[str] = field(default_factory=list)


def task_of(entry: Entry) -> str | None:
    """The task id a trajectory ran (its task, else its provenance's)."""
    d = entry.data
    task = (d.get("task") or {}).get("id") or (d.get("provenance") or {}).get("task_id")
    return str(task) if task is not None else None


def trajectories_file(path: Path) -> Path:
    """The JSONL file behind ``path``: the path itself, or a GAP run folder's log."""
    if path.is_dir():
        log = path / RUN_TRAJECTORIES
        if not log.is_file():
            raise SpecError(
                f"{path}: a folder given to nex view must be a GAP run folder holding "
                f"{RUN_TRAJECTORIES}; none found"
            )
        return log
    if not path.exists():
        raise SpecError(f"{path}: no such file or folder")
    return path


def record_data(trajectory: Trajectory) -> dict[str, Any]:
    """The record to show: every field the schema knows (``messages_from`` resolved, so each
    request lists the messages exactly as sent), secrets scrubbed once more in case an older
    nex stored one."""
    data = trajectory.model_dump(mode="json", exclude_none=True)
    scrubbed: dict[str, Any] = redact_data(data)
    return scrubbed


def parse_line(file: str, number: int, raw: bytes, source: int = 0) -> Entry | BadLine:
    try:
        trajectory = Trajectory.model_validate_json(raw)
    except ValidationError as exc:
        return BadLine(file, number, _describe(exc))
    return Entry(file, number, record_data(trajectory), source)


def iter_lines(path: Path, start: int = 0) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, raw line) for each non-blank line, one line in memory."""
    with path.open("rb") as f:
        offset = 0
        for number, raw in enumerate(f, start=1):
            here = offset
            offset += len(raw)
            if number > start and raw.strip():
                yield number, here, raw


def iter_entries(path: Path, source: int = 0) -> Iterator[Entry | BadLine]:
    name = str(path)
    for number, _, raw in iter_lines(path):
        yield parse_line(name, number, raw, source)


def read_report(run_dir: Path, bad: list[BadLine]) -> dict[str, Any] | None:
    path = run_dir / RUN_REPORT
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        bad.append(BadLine(str(path), 1, f"not valid JSON ({exc}); the report is ignored"))
        return None
    if not isinstance(data, dict):
        bad.append(BadLine(str(path), 1, "not a JSON object; the report is ignored"))
        return None
    scrubbed: dict[str, Any] = redact_data(data)
    return scrubbed


def total_size(paths: list[Path]) -> int:
    return sum(os.path.getsize(trajectories_file(p)) for p in paths)


def load(paths: list[Path]) -> Loaded:
    """Read every input whole (the static page; ``--serve`` pages through files instead)."""
    loaded = Loaded()
    for source, path in enumerate(paths):
        log = trajectories_file(path)
        loaded.sources.append(str(path))
        if path.is_dir():
            if loaded.run_dir is not None:
                raise SpecError("nex view shows one GAP run folder at a time")
            loaded.run_dir = path
            loaded.report = read_report(path, loaded.bad)
        for item in iter_entries(log, source):
            if isinstance(item, Entry):
                loaded.entries.append(item)
            else:
                loaded.bad.append(item)
    return loaded
