"""Trajectories side by side: each one's normal form (ids as ordinals, times dropped, parallel
batches as sets) flattened to a list of steps, aligned to the first one's, and every cell that
differs from the first column's marked, field by field."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from nex_core.trajectory.normalize import normalize
from nex_core.trajectory.schema import Trajectory
from nex_core.view._load import Entry

MAX_COLUMNS = 8


@dataclass
class Cell:
    fields: dict[str, Any]
    """The step's normal form, without its children (they are rows of their own)."""
    depth: int
    differs: set[str] = field(default_factory=set)
    """Fields whose value is not the first column's (all of them when the row has no first
    column's step)."""

    @property
    def key(self) -> str:
        """What rows are aligned by: the step's shape (kind, agent, tool or child, depth), so a
        step whose content differs still faces its counterpart, and an extra step stands alone."""
        f = self.fields
        shape = [f.get("kind"), f.get("agent"), f.get("name"), f.get("child"), f.get("mode")]
        return json.dumps([*shape, self.depth], default=str)

    @property
    def title(self) -> str:
        f = self.fields
        who = f.get("agent") or ""
        if f.get("kind") == "tool":
            return f"tool {f.get('name')} [{who}]"
        if f.get("kind") == "subagent":
            return f"{f.get('mode')} → {f.get('child')} [{who}]"
        return f"{f.get('kind')} [{who}]"


@dataclass
class Row:
    cells: list[Cell | None]

    @property
    def same(self) -> bool:
        """Every trajectory has this step, and each one's equals the first column's."""
        return all(c is not None and not c.differs for c in self.cells)


@dataclass
class Comparison:
    entries: list[Entry]
    headers: list[dict[str, Any]]
    rows: list[Row]

    @property
    def identical(self) -> bool:
        return all(r.same for r in self.rows)


def _fields(step: dict[str, Any]) -> dict[str, Any]:
    """The step's fields, a request split into its messages, so a difference is marked on the
    message that differs rather than on the whole request."""
    fields: dict[str, Any] = {}
    for key, value in step.items():
        if key == "steps":
            continue
        if key == "request" and isinstance(value, dict):
            for n, message in enumerate(value.get("messages", [])):
                fields[f"message {n + 1} · {message.get('role', '?')}"] = message
            fields["tools offered"] = value.get("tools", [])
        else:
            fields[key] = value
    return fields


def _flatten(steps: list[dict[str, Any]], depth: int, out: list[Cell]) -> list[Cell]:
    for step in steps:
        out.append(Cell(_fields(step), depth))
        _flatten(step.get("steps", []), depth + 1, out)
    return out


def _cells(entry: Entry) -> tuple[list[Cell], dict[str, Any]]:
    canonical = normalize(Trajectory.model_validate(entry.data))
    cells = _flatten(canonical["steps"], 0, [])
    cells.append(Cell({"kind": "outcome", **(canonical.get("outcome") or {})}, 0))
    return cells, canonical


def compare(entries: list[Entry]) -> Comparison:
    """Align ``entries`` (at least two) to the first; rows hold one cell per trajectory."""
    columns = [_cells(e) for e in entries]
    pivot = columns[0][0]
    pivot_keys = [c.key for c in pivot]
    # anchored[i][j]: column j's cell on pivot row i; inserted[i]: rows of column j's extra
    # steps coming after pivot row i (i = -1: before the first).
    anchored: list[list[Cell | None]] = [[c] + [None] * (len(columns) - 1) for c in pivot]
    inserted: dict[int, list[list[Cell | None]]] = {}
    for j, (cells, _) in enumerate(columns[1:], start=1):
        matcher = difflib.SequenceMatcher(None, pivot_keys, [c.key for c in cells], autojunk=False)
        for tag, i1, i2, k1, k2 in matcher.get_opcodes():
            paired = {"equal": i2 - i1, "replace": min(i2 - i1, k2 - k1)}
            pairs = paired.get(tag, 0)
            for n in range(pairs):
                anchored[i1 + n][j] = cells[k1 + n]
            for k in range(k1 + pairs, k2):
                extra: list[Cell | None] = [None] * len(columns)
                extra[j] = cells[k]
                inserted.setdefault(i1 + pairs - 1, []).append(extra)
    rows = [Row(r) for r in inserted.get(-1, [])]
    for i, cells_row in enumerate(anchored):
        rows.append(Row(cells_row))
        rows += [Row(r) for r in inserted.get(i, [])]
    for row in rows:
        first = row.cells[0]
        for cell in row.cells:
            if cell is None or cell is first:
                continue
            if first is None:
                cell.differs = set(cell.fields)
            else:
                names = set(cell.fields) | set(first.fields)
                cell.differs = {n for n in names if cell.fields.get(n) != first.fields.get(n)}
    headers = [
        {
            "provenance": e.data.get("provenance", {}),
            "task": e.data.get("task", {}),
            "outcome": e.data.get("outcome", {}),
            "file": e.file,
            "line": e.line,
            "ref": e.ref,
        }
        for e in entries
    ]
    return Comparison(entries, headers, rows)
