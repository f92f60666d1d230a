"""Stream trajectories from JSONL: one line in memory at a time; bad lines reported, not fatal."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from nex_core.errors import TrajectoryError
from nex_core.trajectory.schema import READABLE_VERSIONS, Trajectory


@dataclass(frozen=True)
class BadLine:
    """A line that could not be read as a trajectory."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    kind = first["type"]
    if kind in {"json_invalid", "json_type"}:
        return f"not valid JSON ({first['msg']}); the line is truncated or corrupt"
    if where == "schema_version" and kind == "literal_error":
        versions = ", ".join(map(str, READABLE_VERSIONS))
        return (
            f"not a valid trajectory: schema_version {first['input']!r} is not one this nex "
            f"reads ({versions}); a file from a newer nex needs a newer nex"
        )
    if not where and kind == "value_error":  # a whole-trajectory check (a messages_from reference)
        return f"not a valid trajectory: {first['ctx']['error']}"
    return f"not a valid trajectory: {where}: {first['msg']}"


def iter_trajectories(
    path: str | os.PathLike[str],
    *,
    on_error: Callable[[BadLine], None] | None = None,
    strict: bool = False,
) -> Iterator[Trajectory]:
    """Yield each trajectory in ``path``. Bad lines go to ``on_error`` (or raise if ``strict``)."""
    name = str(path)
    with Path(path).open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                yield Trajectory.model_validate_json(raw)
            except ValidationError as exc:
                bad = BadLine(name, number, _describe(exc))
                if strict:
                    raise TrajectoryError(str(bad)) from None
                if on_error is not None:
                    on_error(bad)


def read_trajectories(path: str | os.PathLike[str]) -> tuple[list[Trajectory], list[BadLine]]:
    """All good trajectories and all bad lines of a (small) file."""
    bad: list[BadLine] = []
    good = list(iter_trajectories(path, on_error=bad.append))
    return good, bad
