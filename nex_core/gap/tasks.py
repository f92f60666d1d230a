"""Task sources: JSONL files, one task a line, read lazily.

A line::

    {"id": "tokyo-time", "turns": ["What time is it in Tokyo?"], "expected": "Tokyo",
     "match": "contains", "verifier": "pkg.mod:func", "rubric": "...", "metadata": {...}}

``prompt`` is shorthand for a single turn. ``expected`` is checked against the final answer,
``verifier`` names a Python function ``(trajectory, task) -> bool | (bool, reason)``, and
``rubric`` (or ``judge: true``) sends the answer to the LLM judge of the ``task`` check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nex_core.errors import Location, SpecError
from nex_core.protocol.loader import validation_problems
from nex_core.trajectory.schema import TaskInfo


class Task(BaseModel):
    """One task: what the user says, and how to tell a good answer."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    id: str = Field(min_length=1)
    """Unique task id: episode keys and the train/validation split use it."""
    turns: list[str] = Field(min_length=1)
    """User turns, in order."""
    expected: str | None = None
    """Expected answer, compared with the final output (see ``match``)."""
    match: Literal["contains", "exact", "regex"] = "contains"
    """How ``expected`` is compared (case and whitespace are normalised for the first two)."""
    verifier: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
    """``pkg.mod:func`` called as ``func(trajectory, task)``."""
    rubric: str | None = None
    """Grading instructions for the LLM judge."""
    judge: bool = False
    """Ask the LLM judge even without a rubric."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free-form; copied into the trajectory's metadata."""

    @model_validator(mode="before")
    @classmethod
    def _prompt_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "prompt" in data and "turns" not in data:
            rest = {k: v for k, v in data.items() if k != "prompt"}
            return {**rest, "turns": [data["prompt"]]}
        return data

    def info(self) -> TaskInfo:
        return TaskInfo(id=self.id, turns=list(self.turns))


def iter_tasks(path: str | Path) -> Iterator[Task]:
    """Yield the tasks of a JSONL file; a bad line raises a SpecError naming file, line, field."""
    p = Path(path)
    try:
        handle = p.open("rb")
    except OSError as exc:
        raise SpecError(f"cannot read task file {p}: {exc.strerror}") from None
    except ValueError as exc:  # a NUL byte in the path
        raise SpecError(f"cannot read task file {p!r}: {exc}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            data = _json_line(raw, p, number)
            try:
                yield Task.model_validate(data)
            except ValidationError as exc:
                problems = [
                    (Location(str(p), number, loc.field), msg)
                    for loc, msg in validation_problems(exc, str(p), {})
                ]
                raise SpecError(f"{p}: line {number} is not a valid task", problems) from None


def _json_line(raw: bytes, path: Path, number: int) -> Any:
    where = Location(str(path), number)
    if b"\0" in raw:
        raise SpecError(f"{path} is not a text file", [(where, "it holds a NUL byte")])
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path} is not UTF-8 text",
                        [(where, f"byte 0x{raw[exc.start]:02x} cannot be decoded")]) from None
    try:
        return json.loads(line)
    except ValueError as exc:
        raise SpecError(f"{path} is not valid JSONL", [(where, f"not JSON: {exc}")]) from None
    except RecursionError:
        raise SpecError(f"{path} is not valid JSONL",
                        [(where, "nested too deeply to read")]) from None
