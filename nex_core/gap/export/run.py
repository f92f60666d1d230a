"""``nex export``: accepted trajectories → samples → formats → dataset rows → JSONL / Parquet.

Layout: ``OUT/<dataset>/<format>/<split>.<jsonl|parquet>`` and ``OUT/manifest.json``. JSONL is
streamed; Parquet rows are buffered per file and written at the end (pyarrow).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from nex_core.errors import SpecError, ToolFormatError
from nex_core.gap.export.render import render
from nex_core.gap.export.samples import samples_of
from nex_core.gap.export.split import split_of
from nex_core.trajectory.reader import iter_trajectories


@dataclass
class ExportOptions:
    per: Literal["trajectory", "invocation"] = "trajectory"
    formats: list[str] = field(
        default_factory=lambda: ["native", "xml", "hermes", "react", "pythonic"]
    )
    datasets: list[str] = field(default_factory=lambda: ["openai-chat"])
    file_formats: list[str] = field(default_factory=lambda: ["jsonl"])
    validation_fraction: float = 0.1
    seed: str = "nex"
    include_rejected: bool = False
    """Export every completed trajectory, not only those the pipeline accepted."""
    tokenizer: str | None = None
    """Add token columns to chat rows with this tokenizer (see nex_core.tokens)."""
    chat_template: str | None = None
    token_columns: list[str] = field(default_factory=lambda: ["labels"])


class _Files:
    def __init__(self, out: Path, file_formats: list[str]) -> None:
        self.out = out
        self.file_formats = file_formats
        self._jsonl: dict[Path, TextIO] = {}
        self._parquet: dict[Path, list[dict[str, Any]]] = {}
        self.rows: Counter[str] = Counter()

    def add(self, dataset: str, fmt: str, split: str, row: dict[str, Any]) -> None:
        folder = self.out / dataset / fmt
        for kind in self.file_formats:
            path = folder / f"{split}.{kind}"
            if kind == "jsonl":
                if path not in self._jsonl:
                    folder.mkdir(parents=True, exist_ok=True)
                    self._jsonl[path] = path.open("w", encoding="utf-8")
                self._jsonl[path].write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                self._parquet.setdefault(path, []).append(row)
            self.rows[str(path.relative_to(self.out))] += 1

    def close(self) -> None:
        for handle in self._jsonl.values():
            handle.close()
        if self._parquet:
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise SpecError(
                    "Parquet output needs pyarrow: pip install 'nex-core[gap]'"
                ) from None
            for path, rows in self._parquet.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(pa.Table.from_pylist(rows), path)


def _row_tokenizer(options: ExportOptions) -> Any:
    """The token-column transform (nex_core.tokens), loaded only when asked for."""
    if options.tokenizer is None:
        return None
    from nex_core.tokens import row_tokenizer

    return row_tokenizer(options.tokenizer, options.chat_template, options.token_columns)


def _source_file(source: Path) -> Path:
    return source / "trajectories.jsonl" if source.is_dir() else source


def export(
    source: str | Path, out: str | Path, options: ExportOptions | None = None
) -> dict[str, Any]:
    """Export ``source`` (a run folder or a trajectories JSONL) into ``out``; returns a summary."""
    from nex_core.plugins import get_plugin_manager

    options = options or ExportOptions()
    pm = get_plugin_manager()
    formats = pm.merged("nex_tool_formats")
    datasets = pm.merged("nex_exporters")
    for name in options.formats:
        if name not in formats:
            raise SpecError(f"unknown tool format '{name}' (known: {', '.join(sorted(formats))})")
    for name in options.datasets:
        if name not in datasets:
            raise SpecError(
                f"unknown dataset format '{name}' (known: {', '.join(sorted(datasets))})"
            )
    layouts = {name: datasets[name]() for name in options.datasets}
    tokens = _row_tokenizer(options)
    out = Path(out)
    files = _Files(out, list(options.file_formats))
    skipped: Counter[str] = Counter()
    trajectories = samples = 0
    splits: dict[str, set[str]] = {"train": set(), "validation": set()}
    bad: list[str] = []
    try:
        for traj in iter_trajectories(
            _source_file(Path(source)), on_error=lambda b: bad.append(str(b))
        ):
            gap = traj.metadata.get("gap", {})
            accepted = gap.get("accepted") if isinstance(gap, dict) and "accepted" in gap else None
            completed = traj.outcome is not None and traj.outcome.status.value == "completed"
            if not (
                accepted
                or (options.include_rejected and completed)
                or (accepted is None and completed)
            ):
                skipped["not_accepted"] += 1
                continue
            trajectories += 1
            task_id = traj.task.id or traj.id
            split = split_of(task_id, options.validation_fraction, options.seed)
            splits[split].add(task_id)
            key = gap.get("key", {}) if isinstance(gap, dict) else {}
            for sample in samples_of(traj, options.per):
                samples += 1
                for fmt_name in options.formats:
                    try:
                        conversation = render(sample, formats[fmt_name])
                    except ToolFormatError as exc:
                        skipped[f"{fmt_name}:{exc}"[:120]] += 1
                        continue
                    meta = {
                        "task_id": task_id,
                        "trajectory_id": traj.id,
                        "invocation": sample.invocation,
                        "agent": sample.agent or "",
                        "backend": str(key.get("backend", traj.provenance.adapter)),
                        "model": str(key.get("model", traj.provenance.model or "")),
                        "format": fmt_name,
                    }
                    for ds_name, layout in layouts.items():
                        row = layout.row(conversation, meta)
                        if tokens is not None and (row := tokens(row)) is None:
                            continue  # the tokenizer counted why
                        files.add(ds_name, fmt_name, split, row)
    finally:
        files.close()
    summary = {
        "trajectories": trajectories,
        "samples": samples,
        "files": dict(sorted(files.rows.items())),
        "skipped": dict(skipped),
        "tasks": {k: len(v) for k, v in splits.items()},
        "unreadable_lines": bad,
    }
    if tokens is not None:
        summary["tokenizer"] = tokens.manifest()
        skipped.update(tokens.skipped)
        summary["skipped"] = dict(skipped)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_text(
        json.dumps({"options": options.__dict__, **summary}, indent=2) + "\n", encoding="utf-8"
    )
    return summary
