"""``nex export --dataset otlp-json``: the selected trajectories as OTLP JSON trace files.

``OUT/otlp-json/traces.jsonl`` holds one ``ExportTraceServiceRequest`` per trajectory (the
Collector file exporter's layout) with message content, and ``OUT/manifest.json`` counts them.
The selection is the training export's (accepted trajectories, or every completed one with
``include_rejected``), and ``OUT`` is replaced as a whole, as every ``nex export`` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nex_core.gap.export.run import _selected, _source_file
from nex_core.gap.export.staging import MANIFEST, staged
from nex_core.otel.files import OTLPJsonFileSink
from nex_core.otel.semconv import SEMCONV_VERSION
from nex_core.trajectory.reader import iter_trajectories

FOLDER = "otlp-json"
FILE = "traces.jsonl"


def export_otlp_json(
    source: str | Path, out: str | Path, *, include_rejected: bool = False
) -> dict[str, Any]:
    """Write the selected trajectories of ``source`` under ``out``; returns the summary."""
    source_file = _source_file(Path(source))
    unreadable: list[str] = []
    skipped = 0
    with staged(Path(out)) as root:
        (root / FOLDER).mkdir()
        with OTLPJsonFileSink(root / FOLDER / FILE, capture_content=True) as sink:
            for traj in iter_trajectories(
                source_file, on_error=lambda b: unreadable.append(str(b))
            ):
                if not _selected(traj, include_rejected):
                    skipped += 1
                    continue
                sink.write(traj)
            written = sink.written
        summary: dict[str, Any] = {
            "dataset": FOLDER,
            "semantic_conventions": SEMCONV_VERSION,
            "trajectories": written,
            "files": {f"{FOLDER}/{FILE}": written},
            "skipped": {"not_accepted": skipped} if skipped else {},
            "unreadable_count": len(unreadable),
            "unreadable": unreadable[:100],
        }
        (root / MANIFEST).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
