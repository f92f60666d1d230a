"""Trajectories as OTLP JSON files: one ``ExportTraceServiceRequest`` per line per trajectory.

The layout is the OpenTelemetry Collector file exporter's, so ``nex import otlp``, the Collector
(``otlpjsonfile`` receiver) and anything that reads its files read these.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nex_core.otel import semconv as sc
from nex_core.otel._require import require, resource_for

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

    from nex_core.trajectory.schema import Trajectory


class OTLPJsonFileSink:
    """Appends each trajectory's spans to ``path`` as one OTLP JSON line (content included
    unless ``capture_content=False``: writing a file of them is the opt-in)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        capture_content: bool = True,
        service_name: str = "nex",
    ) -> None:
        require("opentelemetry.sdk.trace", "writing OTLP JSON")
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            SimpleSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        from nex_core._version import __version__
        from nex_core.otel._export import SpanWriter

        spans: list[ReadableSpan] = []

        class _Collect(SpanExporter):
            def export(self, batch: Sequence[ReadableSpan]) -> SpanExportResult:
                spans.extend(batch)
                return SpanExportResult.SUCCESS

        self._spans = spans
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._provider = TracerProvider(resource=resource_for(service_name))
        self._provider.add_span_processor(SimpleSpanProcessor(_Collect()))
        tracer = self._provider.get_tracer("nex_core.otel", __version__, schema_url=sc.SCHEMA_URL)
        self._writer = SpanWriter(tracer, capture_content=capture_content)
        self._lock = threading.Lock()
        self.written = 0

    def write(self, trajectory: Trajectory) -> None:
        from nex_core.otel._wire import request_json

        with self._lock:
            self._spans.clear()
            self._writer.write(trajectory)
            line = json.dumps(request_json(list(self._spans)), ensure_ascii=False)
            self._spans.clear()
            self._file.write(line + "\n")
            self._file.flush()
            self.written += 1

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()
        self._provider.shutdown()

    def __enter__(self) -> OTLPJsonFileSink:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def write_otlp_json(
    trajectories: Iterable[Trajectory],
    path: str | os.PathLike[str],
    *,
    capture_content: bool = True,
) -> int:
    """Write ``trajectories`` to ``path`` (appending); returns how many."""
    with OTLPJsonFileSink(path, capture_content=capture_content) as sink:
        for trajectory in trajectories:
            sink.write(trajectory)
        return sink.written
