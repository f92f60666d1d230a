"""``import_otlp``: OTLP files (JSON lines, a JSON document, or protobuf) into trajectories.

A folder is read file by file in name order (``*.json``, ``*.jsonl``, ``*.pb``, ``*.binpb``,
``*.otlp``), each streamed a request at a time, so memory holds only the traces still open.
Protobuf files are the Collector file exporter's (each message after a 4-byte big-endian
length) or one bare ``ExportTraceServiceRequest``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from nex_core.errors import TrajectoryError
from nex_core.otel._require import require
from nex_core.otel._wire import (
    SpanRecord,
    WireError,
    iter_json_lines,
    spans_from_protobuf,
    split_length_prefixed,
)
from nex_core.otel.collect import TraceCollector
from nex_core.trajectory.schema import Trajectory

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
PROTO_SUFFIXES = (".pb", ".binpb", ".proto", ".otlp", ".protobuf")


def otlp_files(path: str | os.PathLike[str]) -> list[Path]:
    p = Path(path)
    if p.is_dir():
        files = sorted(
            f
            for f in p.rglob("*")
            if f.is_file() and f.suffix.lower() in JSON_SUFFIXES + PROTO_SUFFIXES
        )
        if not files:
            raise TrajectoryError(
                f"{p}: no OTLP files in this folder (looked for "
                f"{', '.join(JSON_SUFFIXES + PROTO_SUFFIXES)})"
            )
        return files
    if not p.exists():
        raise TrajectoryError(f"{p}: no such file or folder")
    return [p]


def _is_protobuf(path: Path) -> bool:
    if path.suffix.lower() in PROTO_SUFFIXES:
        return True
    if path.suffix.lower() in JSON_SUFFIXES:
        return False
    with open(path, "rb") as f:
        head = f.read(64).lstrip()
    return not head.startswith((b"{", b"["))


def iter_requests(path: Path, on_error: Callable[[str], None]) -> Iterator[list[SpanRecord]]:
    """The span batches of one file, a request at a time."""
    try:
        if _is_protobuf(path):
            require(
                "opentelemetry.proto.collector.trace.v1.trace_service_pb2", "reading OTLP protobuf"
            )
            payload = path.read_bytes()
            messages = split_length_prefixed(payload) or [payload]
            for i, message in enumerate(messages):
                try:
                    yield spans_from_protobuf(message)
                except WireError as exc:
                    if len(messages) == 1:
                        raise TrajectoryError(f"{path}: {exc}") from None
                    on_error(f"{path}: message {i + 1}: {exc}; skipped")
            return
        with open(path, encoding="utf-8") as f:
            yield from iter_json_lines(iter(f), str(path), on_error)
    except WireError as exc:
        raise TrajectoryError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise TrajectoryError(
            f"{path}: not UTF-8 text at byte {exc.start}, and not protobuf"
        ) from None


def import_otlp(
    path: str | os.PathLike[str], *, on_error: Callable[[str], None] | None = None
) -> Iterator[Trajectory]:
    """Every trace in ``path`` (a file or a folder) as a trajectory, in completion order.

    Lines or messages that cannot be read go to ``on_error`` (default: raise
    ``TrajectoryError``); each trajectory's ``metadata["otlp"]`` reports what its spans lacked.
    """

    def fail(message: str) -> None:
        raise TrajectoryError(message)

    report = on_error or fail
    done: list[Trajectory] = []
    collector = TraceCollector(done.append, settle_s=0.0, idle_s=float("inf"))
    for file in otlp_files(path):
        for spans in iter_requests(file, report):
            collector.add(spans)
            yield from done
            done.clear()
    collector.close()
    yield from done
    if collector.late_spans:
        report(f"{collector.late_spans} span(s) arrived after their trace's root and were left out")
