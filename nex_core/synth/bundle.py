"""What the generator writes: one YAML document holding a system's spec files and its tasks.

::

    root: support.yaml
    files: {support.yaml: {kind: agent, ...}, billing.yaml: {...}}
    tasks: [{id: ..., prompt: ..., expected: ...}, ...]

:func:`parse_bundle` reads a model's reply (the document, or a fenced ``yaml`` block in it) with
nex's own document parser, so every mistake comes back with its line and field.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nex_core.protocol.loader import parse_document, validate_data

FILE_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\.ya?ml$"
"""Spec file names: a bare name (no folders, so a bundle cannot write outside its system)."""
TASK_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
"""Task ids double as script file names."""

_FENCE = re.compile(r"```(?:ya?ml)?[ \t]*\n(.*?)```", re.DOTALL)

REPLY_SOURCE = "reply"
"""The name errors in a reply are reported under."""


class _Draft(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class TaskDraft(_Draft):
    """A task of the generated set; becomes one line of ``tasks.jsonl``."""

    id: str = Field(pattern=TASK_ID)
    prompt: str = Field(min_length=1)
    expected: str | None = Field(default=None, min_length=1)
    """Text the right final answer contains."""
    rubric: str | None = Field(default=None, min_length=1)
    """Grading instructions for an LLM judge, when no expected text fits."""

    @model_validator(mode="after")
    def _checkable(self) -> TaskDraft:
        if self.expected is None and self.rubric is None:
            raise ValueError("a task needs 'expected' (preferred) or 'rubric'")
        return self

    def task_line(self) -> dict[str, Any]:
        line: dict[str, Any] = {"id": self.id, "prompt": self.prompt}
        if self.expected is not None:
            line["expected"] = self.expected
        if self.rubric is not None:
            line["rubric"] = self.rubric
        return line


class Bundle(_Draft):
    """A generated system: its spec files, which one is the root, and its tasks."""

    root: str = Field(pattern=FILE_NAME)
    """The file holding the root agent or team."""
    files: dict[str, dict[str, Any]] = Field(min_length=1)
    """Spec documents by file name."""
    tasks: list[TaskDraft] = Field(min_length=1)
    """Tasks for the GAP pipeline."""

    @model_validator(mode="after")
    def _consistent(self) -> Bundle:
        bad = [name for name in self.files if not re.match(FILE_NAME, name)]
        if bad:
            raise ValueError(f"file names must be bare .yaml names, not {bad}")
        if self.root not in self.files:
            raise ValueError(f"root '{self.root}' is not one of files: {sorted(self.files)}")
        ids = [t.id for t in self.tasks]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"task ids must be unique; repeated: {repeated}")
        return self


def reply_document(text: str) -> str:
    """The YAML of a reply: its first fenced block, else the whole text."""
    match = _FENCE.search(text)
    return match.group(1) if match else text


def parse_bundle(text: str) -> Bundle:
    """The bundle in a model's reply; a :class:`~nex_core.errors.SpecError` (with lines and
    fields) when it is not YAML or not a bundle."""
    document = reply_document(text)
    data, index = parse_document(document, REPLY_SOURCE)
    return validate_data(Bundle, data, REPLY_SOURCE, index)
