"""Reading ATIF files: the version and every field checked before anything is converted.

A ``.jsonl`` file holds one ATIF document a line (what ``nex export --target atif`` writes);
any other file one JSON document (Harbor's ``trajectory.json``). Fields are checked with the
``atif`` package's models (``pip install 'nex-core[atif]'``); a problem is a
:class:`~nex_core.errors.SpecError` naming the file, the line and the field, and nothing of the
file is returned.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nex_core.errors import Location, SpecError
from nex_core.trajectory.schema import Trajectory

READABLE_ATIF = range(0, 9)
"""The ATIF 1.x minor versions read: ATIF-v1.0 to ATIF-v1.8."""

_VERSION = re.compile(r"^ATIF-v1\.(\d+)$")


def _atif_model() -> Any:
    try:
        from atif import Trajectory as AtifTrajectory
    except ImportError:
        raise SpecError(
            "reading ATIF needs the atif package: pip install 'nex-core[atif]'"
        ) from None
    return AtifTrajectory


def _field(path: tuple[Any, ...]) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return text or "(document)"


def _versions(data: Any, path: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], str] | None:
    """The first (path, problem) of a missing or unknown ``schema_version``, nested included."""
    if not isinstance(data, dict):
        return path, "an ATIF document must be a JSON object"
    version = data.get("schema_version")
    where = (*path, "schema_version")
    if version is None and path:
        return None  # embedded sub-agent trajectories may leave it out
    match = _VERSION.match(version) if isinstance(version, str) else None
    if match is None or int(match.group(1)) not in READABLE_ATIF:
        return where, (
            f"unknown ATIF version {version!r} (this nex reads ATIF-v1.0 to "
            f"ATIF-v1.{READABLE_ATIF[-1]})"
        )
    for i, sub in enumerate(data.get("subagent_trajectories") or []):
        found = _versions(sub, (*path, "subagent_trajectories", i))
        if found is not None:
            return found
    return None


def _check(data: Any, source: str, line_of: Any) -> list[tuple[Location, str]]:
    version = _versions(data)
    if version is not None:
        path, problem = version
        return [(Location(source, line_of(path), _field(path)), problem)]
    try:
        _atif_model().model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path = tuple(err["loc"])
            message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            if err["type"] == "missing":
                message = "required field is missing"
            problems.append((Location(source, line_of(path), _field(path)), message))
        return problems
    return []


def _documents(path: Path) -> list[tuple[int, Any]]:
    """``(line, data)`` of every document in ``path``; a line that is not JSON is an error."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{source} is not UTF-8 text (at byte {exc.start})") from None
    if path.suffix != ".jsonl":
        from nex_core.protocol._document import parse_document
        from nex_core.protocol.loader import _best_line

        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SpecError(
                f"{source} is not an ATIF document",
                [(Location(source, getattr(exc, "lineno", None)), f"not valid JSON: {exc}")],
            ) from None
        _, index = parse_document(text, source)
        found = _check(data, source, lambda p: _best_line(index, p))
        if found:
            raise SpecError(f"{source} is not a valid ATIF document", found)
        return [(1, data)]
    out = []
    problems: list[tuple[Location, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except ValueError as exc:
            problems.append((Location(source, number), f"not valid JSON: {exc}"))
            continue
        problems += _check(data, source, lambda _p, n=number: n)
        out.append((number, data))
    if problems:
        raise SpecError(f"{source} holds invalid ATIF documents", problems)
    return out


def read_atif(path: str | os.PathLike[str]) -> list[tuple[Trajectory, list[str]]]:
    """Every ATIF document in ``path`` as a trajectory with its conversion notes."""
    from nex_core.atif._import import from_atif

    file = Path(path)
    results = []
    for line, data in _documents(file):
        try:
            results.append(from_atif(data))
        except (ValidationError, ValueError, KeyError, TypeError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SpecError(
                f"{file} cannot be imported",
                [(Location(str(file), line, "extra.nex"), f"not what nex writes: {detail}")],
            ) from None
    return results
