"""OTLP on the wire and on disk: spans in and out of OTLP JSON and protobuf.

Reading turns an ``ExportTraceServiceRequest`` (OTLP JSON, as the Collector's file exporter
writes one per line, or protobuf) into plain :class:`SpanRecord` values, so the mapping to
trajectories never sees either encoding. Writing uses the SDK's own protobuf encoder and turns
it into OTLP JSON (hex ids, integer enums), so what nex writes is what an OTLP receiver reads.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

MAX_ATTRIBUTE_BYTES = 4 * 1024 * 1024
"""An attribute value larger than this is dropped from the span (and the drop is reported)."""

STATUS_ERROR = 2
_HEX = re.compile("[0-9a-f]+")


class WireError(ValueError):
    """An OTLP payload that cannot be read; says where (``resourceSpans[0].scopeSpans[1]...``)."""


@dataclass
class SpanRecord:
    """One span, whatever encoding it came in."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    status_code: int = 0
    status_message: str = ""
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    scope: str = ""
    scope_version: str = ""
    resource: dict[str, Any] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    """Attributes dropped for their size (reported per trajectory)."""


# --------------------------------------------------------------------------- JSON in


def _json_value(value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise WireError(f"{where}: an attribute value must be an object (AnyValue)")
    if not value:
        return None
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            raise WireError(f"{where}: intValue {value['intValue']!r} is not an integer") from None
    if "doubleValue" in value:
        try:
            return float(value["doubleValue"])
        except (TypeError, ValueError):
            raise WireError(f"{where}: doubleValue is not a number") from None
    if "arrayValue" in value:
        items = (value["arrayValue"] or {}).get("values", [])
        return [_json_value(v, f"{where}[{i}]") for i, v in enumerate(items)]
    if "kvlistValue" in value:
        items = (value["kvlistValue"] or {}).get("values", [])
        return _json_attributes(items, where)
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"] or "").hex()
    raise WireError(f"{where}: unknown attribute value type {sorted(value)}")


def _json_attributes(items: Any, where: str) -> dict[str, Any]:
    if not isinstance(items, list):
        raise WireError(f"{where}: attributes must be a list")
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise WireError(f"{where}.attributes[{i}]: an attribute needs a string 'key'")
        out[item["key"]] = _json_value(item.get("value", {}), f"{where}.attributes[{i}]")
    return out


def _hex_id(value: Any, size: int, where: str, *, optional: bool = False) -> str | None:
    if value in (None, "") and optional:
        return None
    if not isinstance(value, str):
        raise WireError(f"{where}: must be a hex string of {size} bytes")
    text = value.lower()
    if len(text) != size * 2 or not _HEX.fullmatch(text):
        # The proto3 JSON mapping writes bytes as base64; some writers follow it, not OTLP's hex.
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raw = b""
        if len(raw) != size:
            raise WireError(f"{where}: {value!r} is not a {size}-byte id (hex)")
        text = raw.hex()
    if optional and text == "0" * (size * 2):
        return None
    return text


def _int(value: Any, where: str) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise WireError(f"{where}: {value!r} is not an integer") from None


def _sized(attributes: dict[str, Any], dropped: list[str]) -> dict[str, Any]:
    for key, value in list(attributes.items()):
        if (
            isinstance(value, str)
            and len(value) > MAX_ATTRIBUTE_BYTES // 4
            and (len(value.encode("utf-8", "surrogatepass")) > MAX_ATTRIBUTE_BYTES)
        ):
            dropped.append(f"{key} ({len(value)} characters)")
            del attributes[key]
    return attributes


def spans_from_json(data: Any, where: str = "request") -> list[SpanRecord]:
    """The spans of one ``ExportTraceServiceRequest`` in OTLP JSON."""
    if not isinstance(data, dict):
        raise WireError(f"{where}: an OTLP trace request must be a JSON object")
    resource_spans = data.get("resourceSpans", data.get("resource_spans"))
    if not isinstance(resource_spans, list):
        raise WireError(f"{where}: no 'resourceSpans' list (is this an OTLP trace export?)")
    out: list[SpanRecord] = []
    for r, rs in enumerate(resource_spans):
        at = f"{where}.resourceSpans[{r}]"
        if not isinstance(rs, dict):
            raise WireError(f"{at}: must be an object")
        resource = _json_attributes((rs.get("resource") or {}).get("attributes", []), at)
        scope_spans = rs.get("scopeSpans", rs.get("instrumentationLibrarySpans", []))
        if not isinstance(scope_spans, list):
            raise WireError(f"{at}.scopeSpans: must be a list")
        for s, ss in enumerate(scope_spans):
            sat = f"{at}.scopeSpans[{s}]"
            if not isinstance(ss, dict):
                raise WireError(f"{sat}: must be an object")
            scope = ss.get("scope") or ss.get("instrumentationLibrary") or {}
            spans = ss.get("spans", [])
            if not isinstance(spans, list):
                raise WireError(f"{sat}.spans: must be a list")
            for i, sp in enumerate(spans):
                out.append(_json_span(sp, f"{sat}.spans[{i}]", scope, resource))
    return out


def _json_span(sp: Any, at: str, scope: dict[str, Any], resource: dict[str, Any]) -> SpanRecord:
    if not isinstance(sp, dict):
        raise WireError(f"{at}: a span must be an object")
    dropped: list[str] = []
    status = sp.get("status") or {}
    events = []
    for e, ev in enumerate(sp.get("events") or []):
        if isinstance(ev, dict):
            events.append(
                (
                    str(ev.get("name", "")),
                    _json_attributes(ev.get("attributes", []), f"{at}.events[{e}]"),
                )
            )
    trace_id = _hex_id(sp.get("traceId"), 16, f"{at}.traceId")
    span_id = _hex_id(sp.get("spanId"), 8, f"{at}.spanId")
    assert trace_id is not None and span_id is not None
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=_hex_id(sp.get("parentSpanId"), 8, f"{at}.parentSpanId", optional=True),
        name=str(sp.get("name", "")),
        kind=_int(sp.get("kind"), f"{at}.kind"),
        start_ns=_int(sp.get("startTimeUnixNano"), f"{at}.startTimeUnixNano"),
        end_ns=_int(sp.get("endTimeUnixNano"), f"{at}.endTimeUnixNano"),
        attributes=_sized(_json_attributes(sp.get("attributes", []), at), dropped),
        status_code=_int(status.get("code") if isinstance(status, dict) else 0, f"{at}.status"),
        status_message=str(status.get("message", "")) if isinstance(status, dict) else "",
        events=events,
        scope=str(scope.get("name", "")) if isinstance(scope, dict) else "",
        scope_version=str(scope.get("version", "")) if isinstance(scope, dict) else "",
        resource=resource,
        dropped=dropped,
    )


# --------------------------------------------------------------------------- protobuf in


def _proto_value(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_proto_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _proto_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return bytes(value.bytes_value).hex()
    return getattr(value, which)


def spans_from_protobuf(payload: bytes) -> list[SpanRecord]:
    """The spans of one protobuf-encoded ``ExportTraceServiceRequest``."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(payload)
    except DecodeError as exc:
        raise WireError(f"not an OTLP protobuf trace request ({exc})") from None
    out: list[SpanRecord] = []
    for rs in request.resource_spans:
        resource = {kv.key: _proto_value(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            for sp in ss.spans:
                if len(sp.trace_id) != 16 or len(sp.span_id) != 8:
                    raise WireError(f"span '{sp.name}': trace id or span id has the wrong length")
                dropped: list[str] = []
                parent = bytes(sp.parent_span_id).hex() or None
                out.append(
                    SpanRecord(
                        trace_id=bytes(sp.trace_id).hex(),
                        span_id=bytes(sp.span_id).hex(),
                        parent_id=None if parent in (None, "0" * 16) else parent,
                        name=sp.name,
                        kind=int(sp.kind),
                        start_ns=int(sp.start_time_unix_nano),
                        end_ns=int(sp.end_time_unix_nano),
                        attributes=_sized(
                            {kv.key: _proto_value(kv.value) for kv in sp.attributes}, dropped
                        ),
                        status_code=int(sp.status.code),
                        status_message=sp.status.message,
                        events=[
                            (ev.name, {kv.key: _proto_value(kv.value) for kv in ev.attributes})
                            for ev in sp.events
                        ],
                        scope=ss.scope.name,
                        scope_version=ss.scope.version,
                        resource=resource,
                        dropped=dropped,
                    )
                )
    return out


def split_length_prefixed(payload: bytes) -> list[bytes] | None:
    """The Collector's file exporter writes protobuf messages each after a 4-byte big-endian
    length; None when ``payload`` is not such a sequence (then it is one bare message)."""
    parts: list[bytes] = []
    at = 0
    while at < len(payload):
        if at + 4 > len(payload):
            return None
        size = int.from_bytes(payload[at : at + 4], "big")
        if size == 0 or at + 4 + size > len(payload):
            return None
        parts.append(payload[at + 4 : at + 4 + size])
        at += 4 + size
    return parts or None


# --------------------------------------------------------------------------- JSON out


def request_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """The OTLP JSON ``ExportTraceServiceRequest`` of SDK spans (hex ids, integer enums)."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    data = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    for rs in data.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for sp in ss.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in sp:
                        sp[key] = base64.b64decode(sp[key]).hex()
                for link in sp.get("links", []):
                    for key in ("traceId", "spanId"):
                        if key in link:
                            link[key] = base64.b64decode(link[key]).hex()
    return data


def iter_json_lines(
    lines: Iterator[str], source: str, on_error: Callable[[str], None]
) -> Iterator[list[SpanRecord]]:
    """Requests from OTLP JSON text: one per line (the Collector's file exporter), or one whole
    (pretty-printed) document. A line that does not parse, or is not a trace request, goes to
    ``on_error`` with its file and line, and the rest is still read (a torn last line is what a
    killed writer leaves)."""
    first = True
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            if first:  # not one request per line: the whole text is one document
                rest = line + "".join(lines)
                try:
                    data = json.loads(rest)
                except ValueError as whole:
                    raise WireError(
                        f"{source}: not OTLP JSON ({whole}); a truncated file, or another format?"
                    ) from None
                yield spans_from_json(data, source)
                return
            on_error(f"{source}:{number}: not JSON ({exc}); skipped (a torn line?)")
            continue
        first = False
        try:
            yield spans_from_json(data, f"{source}:{number}")
        except WireError as exc:
            on_error(f"{exc}; skipped")
