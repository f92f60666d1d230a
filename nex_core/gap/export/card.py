"""The dataset card (``README.md``) beside each folder's files: its splits and its column types.

``datasets.load_dataset(FOLDER)`` reads the card's YAML header, so a folder loads with the
declared types however large its files are. Without it, the JSON loader infers types from the
first chunk it reads (10 MB by default) and, when later rows have other shapes (other tools,
other arguments), fails. ``load_dataset("json", data_files=...)`` can be given the same types
with ``features=``; Parquet files carry their own schema and need neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from nex_core.gap.export.columns import Column, card_feature


def dataset_card(
    title: str,
    columns: Mapping[str, Column],
    first_row: Mapping[str, Any],
    files: Iterable[str],
    file_formats: list[str],
) -> str:
    """A card for one folder; ``files`` are its file names (``train.jsonl`` ...).

    The card names the JSONL files when there are any (``datasets`` picks one loader for a
    folder, and only JSONL needs the declared types), else the Parquet files.
    """
    kind = "jsonl" if "jsonl" in file_formats else file_formats[0]
    data_files = [
        {"split": n.rsplit(".", 1)[0], "path": n} for n in sorted(files) if n.endswith(f".{kind}")
    ]
    features = [card_feature(name, col, first_row.get(name)) for name, col in columns.items()]
    header = yaml.safe_dump(
        {
            "configs": [{"config_name": "default", "data_files": data_files}],
            "dataset_info": {"features": features},
        },
        sort_keys=False,
    )
    return (
        f"---\n{header}---\n\n# {title}\n\n"
        'Written by `nex export`. Load it with `datasets.load_dataset("<this folder>")`: '
        "the header above declares the splits and the column types (columns whose shape varies "
        "from row to row are `Json()`), so rows come back exactly as written.\n"
    )
