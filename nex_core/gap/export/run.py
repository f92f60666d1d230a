"""``nex export``: accepted trajectories → samples → formats → target rows → JSONL / Parquet.

Layout: ``OUT/<target>/<format>/<split>.<jsonl|parquet>`` with a dataset card (``README.md``)
in each folder, and ``OUT/manifest.json``. Everything streams: one trajectory is in memory at a
time, JSONL is written line by line and Parquet in row groups. The whole folder is written
beside ``OUT`` and renamed into place at the end (``staging.py``), so ``OUT`` only ever holds a
complete export.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from nex_core.errors import SpecError, ToolFormatError
from nex_core.gap.export.card import dataset_card
from nex_core.gap.export.columns import Column
from nex_core.gap.export.render import Conversation, render
from nex_core.gap.export.samples import Sample, samples_of
from nex_core.gap.export.split import split_of
from nex_core.gap.export.staging import MANIFEST, staged
from nex_core.gap.export.targets import SkipSample, Target, get_target
from nex_core.gap.export.targets.base import TrajectoryContext, TrajectoryTarget
from nex_core.gap.export.writers import FILE_FORMATS, OutputFiles, require_parquet, write_text
from nex_core.runtime.simulated import simulated_call_ids
from nex_core.toolformats import ToolCallFormat
from nex_core.trajectory.reader import iter_trajectories
from nex_core.trajectory.schema import Trajectory

MAX_LISTED_BAD_LINES = 100
"""Unreadable source lines named in the manifest; the rest are only counted."""


@dataclass
class ExportOptions:
    per: Literal["trajectory", "invocation"] = "trajectory"
    formats: list[str] = field(
        default_factory=lambda: ["native", "xml", "hermes", "react", "pythonic"]
    )
    targets: list[str] = field(default_factory=lambda: ["hf"])
    """Export targets (``hf``, ``openai``, ``sharegpt`` ...; the ``nex_exporters`` hook)."""
    file_formats: list[str] = field(default_factory=lambda: ["jsonl"])
    validation_fraction: float = 0.1
    seed: str = "nex"
    include_rejected: bool = False
    """Export every completed trajectory, not only those the pipeline accepted."""
    tokenizer: str | None = None
    """Add token columns to chat rows with this tokenizer (see nex_core.tokens)."""
    chat_template: str | None = None
    """The chat template for ``tokenizer`` (a file, or a built-in name)."""
    token_columns: list[str] = field(default_factory=lambda: ["labels"])
    """Which of ``labels`` and ``assistant_masks`` to add beside ``input_ids``."""
    row_group_rows: int = 2000
    """Rows per Parquet row group (a group is flushed as soon as it is full)."""
    simulated: Literal["keep", "drop"] = "keep"
    """``drop`` leaves out samples that hold a simulated tool's result (counted as skipped)."""


class SampleTransform(Protocol):
    """Adds columns to every row (token ids and labels, rewards ...): the exporter's one seam.

    Called once per row, after the target built it, with the conversation it came from; returns
    the new columns (which must be those :attr:`columns` declares). Raise
    :class:`~nex_core.gap.export.targets.SkipSample` to leave the row out with a counted reason.
    """

    name: str
    columns: Mapping[str, Column]

    def __call__(
        self, row: Mapping[str, Any], conversation: Conversation, target: Target
    ) -> Mapping[str, Any]: ...


def _source_file(source: Path) -> Path:
    if not source.is_dir():
        return source
    path = source / "trajectories.jsonl"
    if not path.is_file():
        raise SpecError(
            f"{source} holds no trajectories.jsonl: give a GAP run folder or a trajectories "
            "JSONL file"
        )
    return path


def _check(
    options: ExportOptions, transforms: Sequence[SampleTransform]
) -> tuple[dict[str, ToolCallFormat], list[Target]]:
    from nex_core.plugins import get_plugin_manager

    formats = get_plugin_manager().merged("nex_tool_formats")
    for name in options.formats:
        if name not in formats:
            raise SpecError(
                f"unknown tool format '{name}' (available: {', '.join(sorted(formats))})"
            )
    targets = [get_target(name) for name in options.targets]
    for kind in options.file_formats:
        if kind not in FILE_FORMATS:
            raise SpecError(f"unknown file format '{kind}' (available: {', '.join(FILE_FORMATS)})")
    if "parquet" in options.file_formats:
        require_parquet()
    if not 0 <= options.validation_fraction <= 1:
        raise SpecError(f"validation fraction {options.validation_fraction} is not between 0 and 1")
    _check_clashes(transforms, targets)
    return {name: formats[name] for name in options.formats}, targets


def _check_clashes(transforms: Sequence[SampleTransform], targets: Sequence[Target]) -> None:
    for t in transforms:
        for target in targets:
            if isinstance(target, TrajectoryTarget):
                continue  # transforms see conversation rows only
            clash = set(t.columns) & set(target.columns)
            if clash:
                raise SpecError(
                    f"transform '{t.name}' adds columns the '{target.name}' target has: "
                    f"{', '.join(sorted(clash))}"
                )


def _digest(task_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(task_id.encode(), digest_size=8).digest(), "big")


def _selected(traj: Trajectory, include_rejected: bool) -> bool:
    gap = traj.metadata.get("gap", {})
    accepted = gap.get("accepted") if isinstance(gap, dict) and "accepted" in gap else None
    completed = traj.outcome is not None and traj.outcome.status.value == "completed"
    return bool(accepted or (include_rejected and completed) or (accepted is None and completed))


def _run_metadata(traj: Trajectory, task_id: str) -> dict[str, str]:
    gap = traj.metadata.get("gap", {})
    key = gap.get("key", {}) if isinstance(gap, dict) else {}
    return {
        "task_id": task_id,
        "trajectory_id": traj.id,
        "backend": str(key.get("backend", traj.provenance.adapter)),
        "model": str(key.get("model", traj.provenance.model or "")),
    }


def _metadata(traj: Trajectory, sample: Sample, task_id: str, fmt: str) -> dict[str, str]:
    run = _run_metadata(traj, task_id)
    return {
        "task_id": run["task_id"],
        "trajectory_id": run["trajectory_id"],
        "invocation": sample.invocation,
        "agent": sample.agent or "",
        "backend": run["backend"],
        "model": run["model"],
        "format": fmt,
    }


class _Export:
    """One export's state: counters and the files it writes."""

    def __init__(
        self,
        files: OutputFiles,
        formats: dict[str, ToolCallFormat],
        targets: list[Target],
        transforms: Sequence[SampleTransform],
    ) -> None:
        self.files = files
        self.formats = formats
        self.targets = [t for t in targets if not isinstance(t, TrajectoryTarget)]
        self.trajectory_targets = [t for t in targets if isinstance(t, TrajectoryTarget)]
        self.transforms = transforms
        self.columns = {
            t.name: {**t.columns, **{k: v for tr in transforms for k, v in tr.columns.items()}}
            for t in self.targets
        }
        self.columns.update({t.name: dict(t.columns) for t in self.trajectory_targets})
        self.skipped: Counter[str] = Counter()
        self.trajectories = self.samples = 0

    def add(self, traj: Trajectory, sample: Sample, task_id: str, split: str) -> None:
        self.samples += 1
        for fmt_name, fmt in self.formats.items():
            try:
                conversation = render(sample, fmt)
            except ToolFormatError as exc:  # the format cannot express this sample
                self.skipped[f"{fmt_name}: {exc}"[:160]] += 1
                continue
            meta = _metadata(traj, sample, task_id, fmt_name)
            for target in self.targets:
                where = f"{target.name}/{fmt_name}"
                try:
                    row = target.row(conversation, meta)
                    for transform in self.transforms:
                        row = {**row, **transform(row, conversation, target)}
                except SkipSample as skip:
                    self.skipped[f"{where}: {skip.reason}"[:160]] += 1
                    continue
                self.files.write(where, split, self.columns[target.name], row)

    def add_trajectory(
        self, traj: Trajectory, task_id: str, split: str, context: TrajectoryContext
    ) -> None:
        """The rows of every trajectory-level target (rollout, atif) for ``traj``."""
        context = TrajectoryContext(
            _run_metadata(traj, task_id), context.per, context.tokenizer, context.chat_template
        )
        for target in self.trajectory_targets:
            for row in target.rows(traj, context):
                if isinstance(row, SkipSample):
                    self.skipped[f"{target.name}: {row.reason}"[:160]] += 1
                else:
                    self.files.write(target.name, split, self.columns[target.name], row)

    def write_cards(self, file_formats: list[str]) -> None:
        for folder, (columns, first_row) in self.files.folders.items():
            names = [p.split("/")[-1] for p in self.files.rows if p.startswith(folder + "/")]
            card = dataset_card(f"nex export: {folder}", columns, first_row, names, file_formats)
            write_text(self.files.root / folder / "README.md", card)


def export(
    source: str | Path,
    out: str | Path,
    options: ExportOptions | None = None,
    *,
    transforms: Iterable[SampleTransform] = (),
) -> dict[str, Any]:
    """Export ``source`` (a run folder or a trajectories JSONL) into ``out``; returns a summary.

    ``out`` is replaced as a whole when the export is complete (it must be missing, empty or an
    earlier export). Bad input never stops the export: unreadable source lines, samples a format
    cannot express and rows a target cannot write are counted in the manifest.
    """
    from nex_core import __version__

    options = options or ExportOptions()
    transforms = list(transforms)
    tokens = None
    context = TrajectoryContext({}, options.per, options.tokenizer, options.chat_template)
    formats, targets = _check(options, transforms)
    chat_rows = any(not isinstance(t, TrajectoryTarget) for t in targets)
    if options.tokenizer is not None and chat_rows:
        from nex_core.gap.export.tokens import token_columns

        tokens = token_columns(options.tokenizer, options.chat_template, options.token_columns)
        transforms.append(tokens)
        _check_clashes([tokens], targets)
    source_file = _source_file(Path(source))
    try:
        source_file.open("rb").close()
    except OSError as exc:
        raise SpecError(f"cannot read {source_file}: {exc.strerror}") from None
    # Task ids as 64-bit digests in flat arrays (8 bytes a task, one allocation), counted at the
    # end, rather than a set of id strings (about 100 bytes and one object a task).
    splits: dict[str, array[int]] = {"train": array("Q"), "validation": array("Q")}
    bad: list[str] = []
    bad_count = 0

    def on_bad(line: object) -> None:
        nonlocal bad_count
        bad_count += 1
        if len(bad) < MAX_LISTED_BAD_LINES:
            bad.append(str(line))

    for target in targets:
        if isinstance(target, TrajectoryTarget):
            target.prepare(context)
    with staged(Path(out)) as root:
        files = OutputFiles(root, list(options.file_formats), row_group_rows=options.row_group_rows)
        state = _Export(files, formats, targets, transforms)
        try:
            skipped_rejected = 0
            for traj in iter_trajectories(source_file, on_error=on_bad):
                if not _selected(traj, options.include_rejected):
                    skipped_rejected += 1
                    continue
                state.trajectories += 1
                task_id = traj.task.id or traj.id
                split = split_of(task_id, options.validation_fraction, options.seed)
                splits[split].append(_digest(task_id))
                state.add_trajectory(traj, task_id, split, context)
                if not state.targets:
                    continue
                simulated = simulated_call_ids(traj) if options.simulated == "drop" else set()
                for sample in samples_of(traj, options.per):
                    if simulated and any(m.tool_call_id in simulated for m in sample.messages):
                        state.skipped["simulated_observations"] += 1
                        continue
                    state.add(traj, sample, task_id, split)
            files.close()
        except BaseException:
            files.abandon()
            raise
        state.write_cards(list(options.file_formats))
        if skipped_rejected:
            state.skipped["not_accepted"] = skipped_rejected
        summary: dict[str, Any] = {
            "trajectories": state.trajectories,
            "samples": state.samples,
            "files": dict(sorted(files.rows.items())),
            "skipped": dict(sorted(state.skipped.items())),
            "tasks": {k: len(set(v)) for k, v in splits.items()},
            "unreadable_lines": bad,
            "unreadable_count": bad_count,
        }
        if tokens is not None:
            summary["tokenizer"] = tokens.manifest()
        for target in state.trajectory_targets:
            summary[target.name] = target.manifest()
        manifest = {
            "status": "complete",
            "nex_version": __version__,
            "source": str(Path(source).absolute()),
            "options": asdict(options),
            "targets": {
                t.name: {"columns": {k: str(v) for k, v in state.columns[t.name].items()}}
                for t in targets
            },
            "transforms": [t.name for t in transforms],
            "storage": (
                "Parquet: json and json_list columns use Arrow's JSON extension type "
                "(datasets' Json()); JSONL: rows as written, typed by each folder's README.md "
                "dataset card"
            ),
            **summary,
        }
        write_text(root / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return summary
