"""Column kinds: how each column of an export row is stored in Parquet and typed for ``datasets``.

Arrow (and so Parquet and ``datasets``) types every column once for the whole file. Structs would
align the keys of every row's messages, tool schemas and tool-call arguments into one struct,
inserting nulls for the keys a row lacks and failing when a key's type differs between rows. Rows
of agent data differ in exactly those places (each row has its own tools, each call its own
arguments), so such columns are :attr:`Column.JSON_LIST` / :attr:`Column.JSON`: Arrow's JSON
extension type (``arrow.json``), which ``datasets`` >= 4.7 reads as its ``Json()`` feature and
decodes back to the Python objects written. Columns whose shape is fixed keep plain Arrow types.

A target declares its columns (``Target.columns``); a per-sample transform declares the columns
it adds. The same declaration writes the dataset card that types JSONL for ``datasets``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Column(StrEnum):
    STRING = "string"
    """A string (may be null)."""
    BOOL = "bool"
    """A boolean (may be null)."""
    JSON = "json"
    """Any JSON value, of any shape per row (stored as JSON text, typed ``Json()``)."""
    JSON_LIST = "json_list"
    """A list of JSON values of any shape (messages, tool definitions)."""
    INT_LIST = "int_list"
    """A list of integers (token ids, labels, masks)."""
    FLOAT = "float"
    """A number (may be null): a reward."""
    FLOAT_LIST = "float_list"
    """A list of numbers (may be null): per-token logprobs."""
    STRINGS = "strings"
    """An object whose keys are the same in every row and whose values are strings (metadata)."""


def arrow_type(kind: Column, sample: Any = None) -> Any:
    """The Arrow type of a column; ``STRINGS`` takes its keys from a sample value."""
    import pyarrow as pa

    if kind is Column.STRING:
        return pa.string()
    if kind is Column.BOOL:
        return pa.bool_()
    if kind is Column.JSON:
        return pa.json_()
    if kind is Column.JSON_LIST:
        return pa.list_(pa.json_())
    if kind is Column.INT_LIST:
        return pa.list_(pa.int64())
    if kind is Column.FLOAT:
        return pa.float64()
    if kind is Column.FLOAT_LIST:
        return pa.list_(pa.float64())
    keys = list(sample) if isinstance(sample, dict) else []
    return pa.struct([(k, pa.string()) for k in keys])


def card_feature(name: str, kind: Column, sample: Any = None) -> dict[str, Any]:
    """The column as a ``dataset_info.features`` entry of a Hugging Face dataset card."""
    if kind is Column.JSON_LIST:
        return {"name": name, "list": "json"}
    if kind is Column.INT_LIST:
        return {"name": name, "list": "int64"}
    if kind is Column.FLOAT:
        return {"name": name, "dtype": "float64"}
    if kind is Column.FLOAT_LIST:
        return {"name": name, "list": "float64"}
    if kind is Column.STRINGS:
        keys = list(sample) if isinstance(sample, dict) else []
        return {"name": name, "struct": [{"name": k, "dtype": "string"} for k in keys]}
    return {"name": name, "dtype": str(kind)}
