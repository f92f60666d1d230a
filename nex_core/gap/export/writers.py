"""Streaming row writers: JSONL line by line, Parquet in row groups. Neither holds a file in memory.

A Parquet file is written as a sequence of row groups of at most ``row_group_rows`` rows (or
about ``row_group_bytes`` of encoded data, whichever comes first); each group is flushed as soon
as it is full. An export writes many files at once (targets x formats x splits), so the files
also share one budget (``buffer_budget_bytes``): when their buffers together exceed it, the
largest is flushed early. Memory is bounded whatever the number of rows or files.
Columns are typed by their declared :class:`~nex_core.gap.export.columns.Column` kind, never
inferred from the data.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from nex_core.errors import SpecError
from nex_core.gap.export.columns import Column, arrow_type
from nex_core.trajectory.redact import redact_data

FILE_FORMATS = ("jsonl", "parquet")


_dumps = json.JSONEncoder(ensure_ascii=False).encode
"""One encoder for every value (``json.dumps`` with options builds a new one per call)."""


class JsonlFile:
    """One row per line, exactly as the row's objects are (no schema needed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: TextIO = path.open("w", encoding="utf-8")

    def write(self, row: Mapping[str, Any]) -> None:
        self._handle.write(_dumps(row) + "\n")

    def close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()


class ParquetFile:
    """Rows buffered column-wise (JSON already encoded) and flushed one row group at a time."""

    def __init__(
        self,
        path: Path,
        columns: Mapping[str, Column],
        *,
        row_group_rows: int = 2000,
        row_group_bytes: int = 16 << 20,
    ) -> None:
        self.path = path
        self.columns = dict(columns)
        self.row_group_rows = row_group_rows
        self.row_group_bytes = row_group_bytes
        self._buffer: dict[str, list[Any]] = {name: [] for name in self.columns}
        self._bytes = 0
        self._rows = 0
        self._keys: dict[str, list[str]] = {}
        self._writer: Any = None
        self._schema: Any = None
        self.row_groups = 0

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    def write(self, row: Mapping[str, Any]) -> None:
        for name, kind in self.columns.items():
            self._buffer[name].append(self._encode(name, kind, row.get(name)))
        self._rows += 1
        if self._rows >= self.row_group_rows or self._bytes >= self.row_group_bytes:
            self.flush()

    def _encode(self, name: str, kind: Column, value: Any) -> Any:
        if value is None:
            return None
        if kind is Column.JSON:
            text = _dumps(value)
            self._bytes += len(text)
            return text
        if kind is Column.JSON_LIST:
            items = [_dumps(v) for v in value]
            self._bytes += sum(len(t) for t in items) + 8
            return items
        if kind is Column.STRINGS:
            keys = self._keys.setdefault(name, list(value))
            if list(value) != keys:
                raise ValueError(f"column '{name}': keys {list(value)} differ from {keys}")
            self._bytes += sum(len(str(v)) for v in value.values() if v is not None)
        elif kind in (Column.INT_LIST, Column.FLOAT_LIST):
            self._bytes += 8 * len(value)
        elif kind is Column.STRING:
            self._bytes += len(value)
        return value

    def _arrays(self, pa: Any) -> list[Any]:
        arrays = []
        for name, kind in self.columns.items():
            values = self._buffer[name]
            if kind is Column.JSON:
                arrays.append(pa.array(values, type=pa.string()).cast(pa.json_()))
            elif kind is Column.JSON_LIST:
                storage = pa.array(values, type=pa.list_(pa.string()))
                arrays.append(storage.cast(pa.list_(pa.json_())))
            else:
                sample = dict.fromkeys(self._keys.get(name, []))
                arrays.append(pa.array(values, type=arrow_type(kind, sample)))
        return arrays

    def flush(self) -> None:
        if not self._rows:
            return
        pa, pq = _pyarrow()
        table = pa.Table.from_arrays(self._arrays(pa), names=list(self.columns))
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.path, self._schema)
        self._writer.write_table(table)
        self.row_groups += 1
        self._buffer = {name: [] for name in self.columns}
        self._rows = self._bytes = 0

    def close(self) -> None:
        self.flush()
        if self._writer is None:  # no rows at all: still a valid, empty file
            pa, pq = _pyarrow()
            schema = pa.schema(
                [
                    (n, arrow_type(k, dict.fromkeys(self._keys.get(n, []))))
                    for n, k in self.columns.items()
                ]
            )
            self._writer = pq.ParquetWriter(self.path, schema)
        self._writer.close()
        _fsync(self.path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text(path: Path, text: str) -> None:
    """A small file (manifest, dataset card), on disk before the export is renamed into place."""
    path.write_text(text, encoding="utf-8")
    _fsync(path)


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise SpecError("Parquet output needs pyarrow: pip install 'nex-core[gap]'") from None
    return pa, pq


def require_parquet() -> None:
    """Fail before any work when Parquet was asked for and pyarrow is missing or too old."""
    pa, _ = _pyarrow()
    if not hasattr(pa, "json_"):
        raise SpecError(
            f"Parquet output needs pyarrow >= 19 (found {pa.__version__}): "
            "pip install 'nex-core[gap]'"
        )


class OutputFiles:
    """Every file of one export: ``ROOT/<folder>/<split>.<jsonl|parquet>``, opened on first row."""

    def __init__(
        self,
        root: Path,
        file_formats: list[str],
        *,
        row_group_rows: int = 2000,
        buffer_budget_bytes: int = 64 << 20,
    ) -> None:
        self.root = root
        self.file_formats = file_formats
        self.row_group_rows = row_group_rows
        self.buffer_budget_bytes = buffer_budget_bytes
        self._buffered = 0
        self._open: dict[tuple[str, str, str], tuple[JsonlFile | ParquetFile, str]] = {}
        self.rows: Counter[str] = Counter()
        self.folders: dict[str, tuple[dict[str, Column], dict[str, Any]]] = {}
        """Folder → (its columns, its first row): what a dataset card needs to type them."""

    def write(
        self, folder: str, split: str, columns: Mapping[str, Column], row: Mapping[str, Any]
    ) -> None:
        # Trajectories are scrubbed when recorded, but a source may predate a token shape or come
        # from elsewhere: every row's strings are searched once more (unchanged rows are reused).
        row = redact_data(row)
        if folder not in self.folders:
            (self.root / folder).mkdir(parents=True, exist_ok=True)
            self.folders[folder] = (dict(columns), dict(row))
        for kind in self.file_formats:
            key = (folder, split, kind)
            entry = self._open.get(key)
            if entry is None:
                path = self.root / folder / f"{split}.{kind}"
                handle: JsonlFile | ParquetFile = (
                    JsonlFile(path)
                    if kind == "jsonl"
                    else ParquetFile(path, columns, row_group_rows=self.row_group_rows)
                )
                entry = self._open[key] = (handle, f"{folder}/{split}.{kind}")
            handle = entry[0]
            if isinstance(handle, ParquetFile):
                before = handle.buffered_bytes
                handle.write(row)
                self._buffered += handle.buffered_bytes - before
                if self._buffered > self.buffer_budget_bytes:
                    self._flush_largest()
            else:
                handle.write(row)
            self.rows[entry[1]] += 1

    def _flush_largest(self) -> None:
        parquet = [h for h, _ in self._open.values() if isinstance(h, ParquetFile)]
        largest = max(parquet, key=lambda h: h.buffered_bytes)
        self._buffered -= largest.buffered_bytes
        largest.flush()

    def close(self) -> None:
        """Flush and close every file (the first error is raised after all were tried)."""
        first: BaseException | None = None
        for handle, _ in self._open.values():
            try:
                handle.close()
            except BaseException as exc:  # close the others, then raise the first
                first = first or exc
        self._open.clear()
        if first is not None:
            raise first

    def abandon(self) -> None:
        """Close every file without caring whether it is complete (the folder is discarded)."""
        for handle, _ in self._open.values():
            with contextlib.suppress(Exception):  # the staging folder is removed anyway
                handle.close()
        self._open.clear()
