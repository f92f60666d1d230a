"""OpenTelemetry for nex: trajectories out as GenAI-convention spans, traces in as trajectories.

Needs the ``otel`` extra (``pip install 'nex-core[otel]'``); importing this package does not,
each entry point says what to install when the extra is missing.

- :class:`OTLPSink`: a sink (``nex run --sink otlp``) that sends every trajectory as spans to an
  OTLP endpoint over HTTP/protobuf or gRPC, batched.
- :class:`OTLPJsonFileSink`, :func:`write_otlp_json`: the same spans as OTLP JSON lines
  (``nex export --dataset otlp-json``).
- :func:`import_otlp`: OTLP JSON or protobuf files into trajectories (``nex import otlp``).
- :class:`TraceCollector`: spans in, a trajectory out per completed trace (``nex receive``).
- :mod:`nex_core.otel.semconv`: every attribute name, and the convention version followed.
"""

import typing as _typing

from nex_core._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from nex_core.otel._assemble import ImportReport, assemble
    from nex_core.otel.collect import TraceCollector
    from nex_core.otel.files import OTLPJsonFileSink, write_otlp_json
    from nex_core.otel.read import import_otlp
    from nex_core.otel.semconv import SEMCONV_VERSION
    from nex_core.otel.sink import OTLPSink

__all__ = [
    "SEMCONV_VERSION",
    "ImportReport",
    "OTLPJsonFileSink",
    "OTLPSink",
    "TraceCollector",
    "assemble",
    "import_otlp",
    "write_otlp_json",
]

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(__name__, __file__, globals())
