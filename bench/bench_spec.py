"""Spec loading benchmark: validating a very large spec (``nex validate``'s path), in MB/s.

A spec of about 50 MB (5 MB with ``--quick``) is generated: one agent holding thousands of tools,
each with a description and a JSON-Schema of several parameters, as a tool catalogue exported
from an API gateway would be. ``load_spec`` reads it, parses the YAML once keeping line numbers
(for error messages), validates it with pydantic and checks tool-name uniqueness. The median of
three runs is reported with the range, as MB/s of the file, and the time split between parsing
(``parse_document``) and validation.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench import quick as quick_requested


def _tool(i: int) -> str:
    words = " ".join(f"word{(i * 7 + k) % 97}" for k in range(40))
    return (
        f"  - name: tool_{i}\n"
        f"    description: >-\n      Looks up record {i} in the catalogue. {words}\n"
        "    parameters:\n"
        "      type: object\n"
        "      properties:\n"
        "        query: {type: string, description: What to look for.}\n"
        "        limit: {type: integer, minimum: 1, maximum: 100}\n"
        "        fields:\n"
        "          type: array\n"
        "          items: {type: string, enum: [id, name, price, stock, updated]}\n"
        "        strict: {type: boolean}\n"
        "      required: [query]\n"
        f"    binding: catalogue.tools:lookup_{i}\n"
    )


def write_spec(path: Path, megabytes: float) -> int:
    head = "name: catalogue\ndescription: A very large tool catalogue.\n" \
           "system_prompt: Use the tools.\ntools:\n"
    target = int(megabytes * 1e6)
    size = 0
    with path.open("w", encoding="utf-8") as f:
        f.write(head)
        size += len(head)
        i = 0
        while size < target:
            block = "".join(_tool(j) for j in range(i, i + 200))
            f.write(block)
            size += len(block)
            i += 200
    return i


def _time_load(path: Path) -> tuple[float, float]:
    from nex_core.protocol.loader import load_spec, parse_document

    text = path.read_text(encoding="utf-8")
    started = time.perf_counter()
    parse_document(text, str(path))
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the size warning, which is the point of the file
        load_spec(path)
    return parse_s, time.perf_counter() - started


def run(quick: bool = False) -> dict[str, Any]:
    quick = quick or quick_requested()
    megabytes = 5 if quick else 50
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        tools = write_spec(path, megabytes)
        size_mb = path.stat().st_size / 1e6
        runs = [_time_load(path) for _ in range(3)]
    loads = [load for _, load in runs]
    load_s = statistics.median(loads)
    return {
        "includes": "load_spec of one file: read, one YAML parse with line numbers, pydantic "
        "validation, tool-name uniqueness; parse_s is parse_document alone",
        "file_mb": round(size_mb, 1),
        "tools": tools,
        "load_s": round(load_s, 2),
        "load_s_range": [round(min(loads), 2), round(max(loads), 2)],
        "parse_s": round(statistics.median(p for p, _ in runs), 2),
        "mb_per_s": round(size_mb / load_s, 2),
        "mb_per_s_range": [round(size_mb / max(loads), 2), round(size_mb / min(loads), 2)],
    }
