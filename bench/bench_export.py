"""Export benchmark: rows per second per target, tool format and file format; memory flat in the
number of samples.

Setup: a trajectories JSONL of synthetic accepted runs in eight shapes (tools and arguments that
differ per row, parallel batches, reasoning, plain chats; see ``_TEMPLATES``), each trajectory one
sample. Every measured export is the real ``nex_core.gap.export.export`` (read, validate, cut,
render, build rows, write, stage and rename); the plugin manager is loaded before the clock.

- ``throughput``: for each target alone (format ``native``), each tool format alone (target
  ``hf``) and each file format alone (``hf``/``native``), rows written per second over
  ``N_SAMPLES`` samples (100k; 5k with ``--quick``). The configurations run interleaved,
  ``REPEATS`` times each; the median and the spread (min, max) are reported.
- ``memory``: peak RSS (``VmHWM`` from ``/proc/self/status``, read by the exporting process
  itself, so no parent's or sibling's pages count) of a fresh interpreter exporting N and 4N
  samples to every target in two formats, JSONL and Parquet. ``baseline_kb`` is the same
  process's VmHWM after imports, before the export. ``growth_ratio`` = peak(4N) / peak(N):
  flat memory is close to 1.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import quick as quick_requested

REPO = Path(__file__).resolve().parents[1]
REPEATS = 3
TARGETS = ["hf", "openai", "sharegpt"]
FORMATS = ["native", "xml", "hermes", "react", "pythonic", "json"]
FILE_FORMATS = ["jsonl", "parquet"]


def _templates() -> list[str]:
    """One stored trajectory line per shape, with ``@@I@@`` where the index goes."""
    from nex_core.trajectory.schema import (
        FunctionCall,
        LLMRequest,
        LLMResponse,
        LLMStep,
        Message,
        Outcome,
        OutcomeStatus,
        Provenance,
        TaskInfo,
        ToolCall,
        ToolSchema,
        Trajectory,
    )

    def schema(name: str, props: dict[str, Any]) -> ToolSchema:
        return ToolSchema(
            name=name,
            description=f"The {name} tool.",
            parameters={"type": "object", "properties": props},
        )

    weather = schema("weather", {"city": {"type": "string"}, "days": {"type": "integer"}})
    search = schema("search", {"query": {"type": "string"}, "filters": {"type": "object"}})
    now = schema("now", {})
    shapes: list[tuple[list[ToolSchema], list[list[tuple[str, Any]]], str | None]] = [
        ([weather], [[("weather", {"city": "Paris"})]], None),
        ([weather], [[("weather", {"city": "Oslo", "days": 3})]], None),
        ([search], [[("search", {"query": 7})]], None),
        (
            [search, weather],
            [[("search", {"query": "x", "filters": {"deep": [1, "two"]}}), ("weather", {})]],
            "Two lookups at once.",
        ),
        ([now], [[("now", {})]], None),
        ([now, search], [[("now", {})], [("search", {"ключ": {"a": [[]]}})]], None),
        ([], [], None),
        ([weather], [[("weather", {"city": 1.5, "days": True})]], "Check the units."),
    ]
    lines = []
    when = "2026-12-01T00:00:00Z"
    for tools, turns, reasoning in shapes:
        messages = [Message.system("You are careful."), Message.user("Task @@I@@: go.")]
        for k, batch in enumerate(turns):
            calls = [
                ToolCall(
                    id=f"call_{k}_{j}",
                    function=FunctionCall(name=n, arguments=json.dumps(a, ensure_ascii=False)),
                )
                for j, (n, a) in enumerate(batch)
            ]
            messages.append(Message.assistant("", calls, reasoning=reasoning))
            messages += [Message.tool(c.id, f"result {c.function.name} " * 8) for c in calls]
        step = LLMStep.model_validate(
            {
                "id": "s1",
                "agent": "main",
                "started_at": when,
                "status": "ok",
                "request": LLMRequest(messages=messages, tools=tools).model_dump(),
                "response": LLMResponse(
                    message=Message.assistant("The answer is 42. " * 4, reasoning=reasoning)
                ).model_dump(),
            }
        )
        traj = Trajectory.model_validate(
            {
                "id": "traj-@@I@@",
                "provenance": Provenance(framework="native", adapter="native", nex_version="0"),
                "task": TaskInfo(id="task-@@I@@", turns=["Task @@I@@: go."]),
                "started_at": when,
                "steps": [step],
                "outcome": Outcome(status=OutcomeStatus.COMPLETED, final_output="42"),
                "metadata": {"gap": {"accepted": True, "key": {"backend": "native"}}},
            }
        )
        lines.append(traj.to_json())
    return lines


def write_source(path: Path, n: int) -> Path:
    templates = _templates()
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(templates[i % len(templates)].replace("@@I@@", str(i)) + "\n")
    return path


def _timed_export(source: Path, out: Path, **options: Any) -> tuple[int, float]:
    from nex_core.gap.export import ExportOptions, export

    started = time.perf_counter()
    summary = export(source, out, ExportOptions(validation_fraction=0.1, **options))
    elapsed = time.perf_counter() - started
    return sum(summary["files"].values()), elapsed


def _throughput(folder: Path, n: int) -> dict[str, Any]:
    from nex_core.plugins import get_plugin_manager

    get_plugin_manager()  # plugin discovery is start-up, not export throughput
    source = write_source(folder / "source.jsonl", n)
    configs: dict[str, dict[str, Any]] = {}
    for t in TARGETS:
        configs[f"target:{t}"] = {"targets": [t], "formats": ["native"], "file_formats": ["jsonl"]}
    for f in FORMATS:
        configs[f"format:{f}"] = {"targets": ["hf"], "formats": [f], "file_formats": ["jsonl"]}
    for k in FILE_FORMATS:
        configs[f"file:{k}"] = {"targets": ["hf"], "formats": ["native"], "file_formats": [k]}
    rates: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(REPEATS):  # interleaved: machine load hits every configuration alike
        for name, options in configs.items():
            rows, seconds = _timed_export(source, folder / "out", **options)
            rates[name].append(rows / seconds)
    return {
        "samples": n,
        "repeats": REPEATS,
        "rows_per_s": {
            name: {
                "median": round(statistics.median(r)),
                "min": round(min(r)),
                "max": round(max(r)),
            }
            for name, r in rates.items()
        },
    }


_CHILD = """
import json, sys
from pathlib import Path

def hwm_kb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

from nex_core.gap.export import ExportOptions, export
from nex_core.plugins import get_plugin_manager
import pyarrow, pyarrow.parquet
get_plugin_manager()
baseline = hwm_kb()
summary = export(sys.argv[1], sys.argv[2], ExportOptions(
    targets=["hf", "openai", "sharegpt"], formats=["native", "hermes"],
    file_formats=["jsonl", "parquet"]))
print(json.dumps({"baseline_kb": baseline, "peak_kb": hwm_kb(),
                  "rows": sum(summary["files"].values())}))
"""


def _memory(folder: Path, n: int) -> dict[str, Any]:
    runs = {}
    for size in (n, 4 * n):
        source = write_source(folder / f"mem-{size}.jsonl", size)
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(source), str(folder / f"mem-out-{size}")],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        runs[str(size)] = json.loads(out.stdout.strip().splitlines()[-1])
        source.unlink()
    small, large = runs[str(n)], runs[str(4 * n)]
    return {
        "n": n,
        "runs": runs,
        "growth_ratio": round(large["peak_kb"] / small["peak_kb"], 3),
        "export_growth_kb": {size: r["peak_kb"] - r["baseline_kb"] for size, r in runs.items()},
    }


def run(quick: bool = False) -> dict[str, Any]:
    quick = quick or quick_requested()
    n_throughput = 5_000 if quick else 100_000
    n_memory = 2_000 if quick else 25_000
    with tempfile.TemporaryDirectory(prefix="nex-bench-export-") as tmp:
        folder = Path(tmp)
        return {
            "throughput": _throughput(folder, n_throughput),
            "memory": _memory(folder, n_memory),
        }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
