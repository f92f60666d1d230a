"""Hugging Face ``datasets`` loads every export exactly as written, whatever shapes the rows'
tools and arguments have (no failed type inference, no keys merged or null-filled)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gap_export_helpers import WEATHER, mixed, read_jsonl, trajectory, write_source

from nex_core.gap.export import ExportOptions, export

datasets = pytest.importorskip("datasets")
pq = pytest.importorskip("pyarrow.parquet")

TARGETS = ["hf", "openai", "sharegpt"]
FORMATS = ["native", "hermes", "pythonic"]


def _rows(ds: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in ds]


def _expected(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    """What a loader gives back: every declared column, null where a row left it out."""
    return [{c: r.get(c) for c in columns} for r in rows]


def _export(tmp_path: Path, trajs: list, **options: Any) -> Path:
    source = write_source(tmp_path / "trajectories.jsonl", trajs)
    out = tmp_path / "out"
    export(
        source,
        out,
        ExportOptions(
            formats=FORMATS,
            targets=TARGETS,
            file_formats=["jsonl", "parquet"],
            validation_fraction=0.3,
            **options,
        ),
    )
    return out


def test_mixed_shapes_round_trip_exactly_through_json_and_parquet(tmp_path: Path) -> None:
    out = _export(tmp_path, mixed(48), row_group_rows=5)
    manifest = json.loads((out / "manifest.json").read_text())
    checked = 0
    for target in TARGETS:
        columns = list(manifest["targets"][target]["columns"])
        for fmt in FORMATS:
            folder = out / target / fmt
            for split in ("train", "validation"):
                written = read_jsonl(folder / f"{split}.jsonl")
                assert written, (target, fmt, split)
                expected = _expected(written, columns)
                from_json = datasets.load_dataset(
                    "json", data_files=str(folder / f"{split}.jsonl"), split="train"
                )
                assert _rows(from_json) == [
                    {c: r.get(c) for c in from_json.column_names} for r in written
                ]
                parquet_file = folder / f"{split}.parquet"
                from_parquet = datasets.load_dataset(
                    "parquet", data_files=str(parquet_file), split="train"
                )
                assert _rows(from_parquet) == expected
                assert list(from_parquet.column_names) == columns
                # Written as it streamed: row groups of at most 5 rows.
                meta = pq.ParquetFile(parquet_file).metadata
                assert meta.num_rows == len(written)
                assert meta.num_row_groups == -(-len(written) // 5)
                checked += 1
    assert checked == len(TARGETS) * len(FORMATS) * 2
    hf = datasets.load_dataset("parquet", data_files=str(out / "hf/native/train.parquet"))
    features = hf["train"].features
    assert isinstance(features["messages"].feature, datasets.Json)
    assert isinstance(features["tools"].feature, datasets.Json)
    calls = [
        c["function"]["arguments"]
        for r in hf["train"]
        for m in r["messages"]
        for c in m.get("tool_calls", [])
    ]
    assert {} in calls and {"city": "Paris"} in calls  # objects, empty ones too


def test_a_folder_loads_by_its_dataset_card_when_shapes_change_late(tmp_path: Path) -> None:
    """The JSON loader types a file by its first chunk. With plain chats first and tools only
    later (past the first chunk), the folder's dataset card still gives the right types."""
    chats = [trajectory(i) for i in range(30)]
    tools = [
        trajectory(30 + i, tools=[WEATHER], turns=[[("weather", {"city": f"c{i}", "n": [i]})]])
        for i in range(10)
    ]
    out = _export(tmp_path, chats + tools)
    folder = out / "hf" / "native"
    card = (folder / "README.md").read_text()
    assert card.startswith("---\nconfigs:")
    loaded = datasets.load_dataset(str(folder), chunksize=2048)  # many chunks
    for split in ("train", "validation"):
        written = read_jsonl(folder / f"{split}.jsonl")
        assert _rows(loaded[split]) == written
    parquet = datasets.load_dataset("parquet", data_files=str(folder / "train.parquet"))
    assert _rows(parquet["train"]) == read_jsonl(folder / "train.jsonl")


def test_open_parquet_files_share_one_buffer_budget(tmp_path: Path) -> None:
    """Many files open at once (targets x formats x splits) never buffer more than the budget:
    the largest buffer is flushed early as a row group of its own."""
    from nex_core.gap.export.columns import Column
    from nex_core.gap.export.writers import OutputFiles

    files = OutputFiles(tmp_path, ["parquet"], row_group_rows=10_000, buffer_budget_bytes=20_000)
    columns = {"messages": Column.JSON_LIST, "metadata": Column.STRINGS}
    peak = 0
    for i in range(600):
        row = {"messages": [{"role": "user", "content": "x" * 50, "i": i}], "metadata": {"k": "v"}}
        files.write(f"t/f{i % 6}", "train", columns, row)
        peak = max(peak, files._buffered)
    files.close()
    assert peak <= 20_000 + 200  # one row over the budget at most, before the flush
    for k in range(6):
        meta = pq.ParquetFile(tmp_path / f"t/f{k}/train.parquet").metadata
        assert meta.num_rows == 100 and meta.num_row_groups > 1
    table = pq.read_table(tmp_path / "t/f0/train.parquet")
    assert [json.loads(m[0])["i"] for m in table.column("messages").to_pylist()] == list(
        range(0, 600, 6)
    )
