"""``OTLPSink``: trajectories out as GenAI spans to any OTLP backend, batched.

``nex run --sink otlp:http://127.0.0.1:4318`` (HTTP/protobuf), ``--sink otlp-grpc:http://127.0.0.1:4317``
(gRPC), a GAP config's ``sinks:`` entry, or ``OTLPSink(...)`` from Python. With no endpoint the
exporters read the standard ``OTEL_EXPORTER_OTLP_*`` variables. Spans go through the SDK's
``BatchSpanProcessor``: ``write`` returns once the spans are queued, ``close`` exports what is left.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from nex_core.errors import SpecError
from nex_core.otel import semconv as sc
from nex_core.otel._require import require, resource_for

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from nex_core.trajectory.schema import Trajectory

PROTOCOLS = ("http/protobuf", "grpc")


def content_opt_in(value: bool | None) -> bool:
    """``value`` if given, else the GenAI instrumentations' environment opt-in."""
    if value is not None:
        return value
    return os.environ.get(sc.CAPTURE_CONTENT_ENV, "").strip().lower() in ("1", "true", "yes")


def _protocol(value: str | None) -> str:
    chosen = (
        value
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    if chosen not in PROTOCOLS:
        raise SpecError(
            f"OTLP protocol '{chosen}' is not supported (choose one of: {', '.join(PROTOCOLS)})"
        )
    return chosen


def _exporter(
    target: str, protocol: str, headers: Mapping[str, str] | None, timeout_s: float
) -> SpanExporter:
    if target:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SpecError(
                f"OTLP endpoint '{target}' must be a URL such as http://127.0.0.1:4318 "
                "(HTTP) or http://127.0.0.1:4317 (gRPC)"
            )
    if protocol == "grpc":
        grpc = require("opentelemetry.exporter.otlp.proto.grpc.trace_exporter", "the gRPC sink")
        options: dict[str, Any] = {"timeout": timeout_s, "headers": dict(headers or {}) or None}
        if target:
            options["endpoint"] = target
            options["insecure"] = urlsplit(target).scheme == "http"
        exporter: SpanExporter = grpc.OTLPSpanExporter(**options)
        return exporter
    http = require("opentelemetry.exporter.otlp.proto.http.trace_exporter", "the OTLP sink")
    options = {"timeout": timeout_s, "headers": dict(headers or {}) or None}
    if target:
        # A base URL (what OTEL_EXPORTER_OTLP_ENDPOINT holds) gets the traces path appended;
        # a URL with a path is used as given, as the exporter's own endpoint argument is.
        path = urlsplit(target).path
        options["endpoint"] = target.rstrip("/") + "/v1/traces" if path in ("", "/") else target
    exporter = http.OTLPSpanExporter(**options)
    return exporter


class OTLPSink:
    """Emits each trajectory as spans through an OTLP exporter (HTTP/protobuf or gRPC).

    ``capture_content`` (default: ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``) adds
    messages, tool definitions, arguments and results, which the conventions make opt-in.
    ``exporter`` replaces the OTLP exporter with any SDK ``SpanExporter``.
    """

    def __init__(
        self,
        target: str = "",
        *,
        protocol: str | None = None,
        capture_content: bool | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        service_name: str = "nex",
        exporter: SpanExporter | None = None,
        max_queue_size: int = 8192,
        max_export_batch_size: int = 512,
        schedule_delay_ms: float = 1000.0,
    ) -> None:
        require("opentelemetry.sdk.trace", "the OTLP sink")
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from nex_core._version import __version__
        from nex_core.otel._export import SpanWriter

        self.target = target
        self.protocol = _protocol(protocol)
        self.capture_content = content_opt_in(capture_content)
        self._exporter = exporter or _exporter(target, self.protocol, headers, timeout_s)
        # A provider of its own, never the global one: the app's own tracing stays as it is.
        self._provider = TracerProvider(resource=resource_for(service_name))
        self._provider.add_span_processor(
            BatchSpanProcessor(
                self._exporter,
                max_queue_size=max_queue_size,
                max_export_batch_size=max_export_batch_size,
                schedule_delay_millis=schedule_delay_ms,
            )
        )
        tracer = self._provider.get_tracer("nex_core.otel", __version__, schema_url=sc.SCHEMA_URL)
        self._writer = SpanWriter(tracer, capture_content=self.capture_content)
        self._lock = threading.Lock()
        self._closed = False

    def write(self, trajectory: Trajectory) -> None:
        with self._lock:
            if self._closed:
                raise ValueError("the OTLP sink is closed")
        self._writer.write(trajectory)

    def flush(self, timeout_ms: int = 30_000) -> bool:
        """Export every queued span now; False when the exporter did not finish in time."""
        return self._provider.force_flush(timeout_ms)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._provider.shutdown()

    def __enter__(self) -> OTLPSink:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def grpc_sink(target: str = "", **options: Any) -> OTLPSink:
    """The ``otlp-grpc`` sink: ``OTLPSink`` over gRPC."""
    return OTLPSink(target, protocol="grpc", **options)
