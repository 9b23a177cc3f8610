"""An OTLP export request as the rows the trace store keeps.

Each span is kept in the forms asked of it: its OTLP JSON text (hex ids, lowerCamelCase,
64-bit numbers as strings, enums as numbers) and its protobuf bytes, which a trace-by-id answer
strings together in the encoding the client accepts without decoding a span, and a flat JSON
object of its attributes (`{"http.route": "/x", "retries": 2}`), which TraceQL conditions read
with SQLite's JSON functions. A span's resource and scope are stored once, as an origin,
shared by its spans.

Spans whose ids are not 16 and 8 bytes (or all zero) are rejected, one by one, as OTLP's
partial success: the rest of the request is still kept.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
ERROR_STATUS = 2


@dataclass(frozen=True, slots=True)
class Origin:
    """A resource and an instrumentation scope, as OTLP JSON members of `resourceSpans` and
    `scopeSpans` entries (the schema URLs included)."""

    key: bytes
    """Digest of both, so the same origin is stored once."""
    resource_key: bytes
    """Digest of the resource, so a trace's spans group under one `resourceSpans` entry."""
    resource_json: str
    """`{"resource": {...}, "schemaUrl": ...}`"""
    scope_json: str
    """`{"scope": {...}, "schemaUrl": ...}`"""
    resource_proto: bytes
    """A ResourceSpans with no scope spans: the resource and its schema URL."""
    scope_proto: bytes
    """A ScopeSpans with no spans: the scope and its schema URL."""
    resource_attrs: str
    service_name: str


@dataclass(frozen=True, slots=True)
class SpanRecord:
    trace_id: bytes
    span_id: bytes
    parent_id: bytes | None
    origin: int
    """Index into the batch's origins."""
    name: str
    kind: int
    status_code: int
    status_message: str
    start_ns: int
    end_ns: int
    attrs: str
    body: str
    proto: bytes

    @property
    def size(self) -> int:
        """What the span costs the store, near enough: its three encodings."""
        return len(self.body) + len(self.attrs) + len(self.proto)


@dataclass
class Batch:
    origins: list[Origin] = field(default_factory=list)
    spans: list[SpanRecord] = field(default_factory=list)
    rejected: int = 0
    problem: str = ""
    """Why the first rejected span was rejected."""

    def reject(self, count: int, why: str) -> None:
        self.rejected += count
        self.problem = self.problem or why


def records(request: ExportTraceServiceRequest) -> Batch:
    """The request's spans and origins as rows; invalid spans counted as rejected."""
    batch = Batch()
    for resource_spans in request.resource_spans:
        resource_json, resource_attrs, service = _resource(
            resource_spans.resource, resource_spans.schema_url
        )
        resource_key = hashlib.sha256(resource_json.encode()).digest()
        resource_proto = ResourceSpans(
            resource=resource_spans.resource, schema_url=resource_spans.schema_url
        ).SerializeToString()
        for scope_spans in resource_spans.scope_spans:
            if not scope_spans.spans:
                continue
            scope_json = _dumps(_scope(scope_spans.scope, scope_spans.schema_url))
            key = hashlib.sha256(resource_key + scope_json.encode()).digest()
            scope_proto = ScopeSpans(
                scope=scope_spans.scope, schema_url=scope_spans.schema_url
            ).SerializeToString()
            batch.origins.append(
                Origin(
                    key=key,
                    resource_key=resource_key,
                    resource_json=resource_json,
                    scope_json=scope_json,
                    resource_proto=resource_proto,
                    scope_proto=scope_proto,
                    resource_attrs=resource_attrs,
                    service_name=service,
                )
            )
            origin = len(batch.origins) - 1
            for span in scope_spans.spans:
                record = _record(span, origin)
                if isinstance(record, str):
                    batch.reject(1, record)
                else:
                    batch.spans.append(record)
    return batch


def _record(span: Span, origin: int) -> SpanRecord | str:
    trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
    if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
        return f"span {span.name!r}: trace id is not 16 bytes, not all zero"
    if len(span_id) != 8 or span_id == _ZERO_SPAN:
        return f"span {span.name!r}: span id is not 8 bytes, not all zero"
    if parent and len(parent) != 8:
        return f"span {span.name!r}: parent span id is not 8 bytes"
    body = _present(
        {"traceId": trace_id.hex(), "spanId": span_id.hex()},
        traceState=span.trace_state,
        parentSpanId=parent.hex(),
        flags=span.flags,
    )
    body |= {
        "name": span.name,
        "kind": span.kind,
        "startTimeUnixNano": str(span.start_time_unix_nano),
        "endTimeUnixNano": str(span.end_time_unix_nano),
    }
    flat = _with_attributes(body, span)
    _present(
        body,
        events=[_event(event) for event in span.events],
        droppedEventsCount=span.dropped_events_count,
        links=[_link(link) for link in span.links],
        droppedLinksCount=span.dropped_links_count,
    )
    body["status"] = _present({}, message=span.status.message, code=span.status.code)
    return SpanRecord(
        trace_id=bytes(trace_id),
        span_id=bytes(span_id),
        parent_id=bytes(parent) if parent else None,
        origin=origin,
        name=span.name,
        kind=span.kind,
        status_code=span.status.code,
        status_message=span.status.message,
        start_ns=span.start_time_unix_nano,
        end_ns=max(span.end_time_unix_nano, span.start_time_unix_nano),
        attrs=_dumps(flat),
        body=_dumps(body),
        proto=span.SerializeToString(),
    )


def _event(event: Span.Event) -> dict[str, Any]:
    body: dict[str, Any] = {"timeUnixNano": str(event.time_unix_nano), "name": event.name}
    _with_attributes(body, event)
    return body


def _link(link: Span.Link) -> dict[str, Any]:
    body = _present(
        {"traceId": link.trace_id.hex(), "spanId": link.span_id.hex()},
        traceState=link.trace_state,
    )
    _with_attributes(body, link)
    return _present(body, flags=link.flags)


def _resource(resource: Resource, schema_url: str) -> tuple[str, str, str]:
    """The resource's JSON member text, its flat attributes and its service name."""
    body: dict[str, Any] = {}
    flat = _with_attributes(body, resource)
    service = flat.get("service.name")
    member = _present({"resource": body}, schemaUrl=schema_url)
    return _dumps(member), _dumps(flat), service if isinstance(service, str) else ""


def _scope(scope: InstrumentationScope, schema_url: str) -> dict[str, Any]:
    body = _present({}, name=scope.name, version=scope.version)
    _with_attributes(body, scope)
    return _present({"scope": body}, schemaUrl=schema_url)


def _present(body: dict[str, Any], **members: Any) -> dict[str, Any]:
    """`body` with those of `members` that are not empty or zero: OTLP JSON leaves defaults
    out."""
    body.update((name, value) for name, value in members.items() if value)
    return body


def _with_attributes(body: dict[str, Any], owner: Any) -> dict[str, Any]:
    """The attributes (and dropped count) of a span, event, link, resource or scope into its
    JSON body; the attributes as a plain mapping."""
    listed, flat = _attributes(owner.attributes)
    _present(body, attributes=listed, droppedAttributesCount=owner.dropped_attributes_count)
    return flat


def _attributes(pairs: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """OTLP JSON key-values, and the same as a plain mapping (a repeated key keeps its last
    value, as SDKs do)."""
    listed: list[dict[str, Any]] = []
    flat: dict[str, Any] = {}
    pair: KeyValue
    for pair in pairs:
        encoded, plain = _value(pair.value)
        listed.append({"key": pair.key, "value": encoded})
        flat[pair.key] = plain
    return listed, flat


def _value(value: AnyValue) -> tuple[dict[str, Any], Any]:
    """An AnyValue as OTLP JSON and as plain JSON (text, number, bool, list, object, null).
    Doubles that JSON cannot hold (NaN, infinities) are spelled as protobuf's JSON spells them."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return {"stringValue": value.string_value}, value.string_value
    if which == "int_value":
        return {"intValue": str(value.int_value)}, value.int_value
    if which == "bool_value":
        return {"boolValue": value.bool_value}, value.bool_value
    if which == "double_value":
        number = value.double_value
        plain = number if math.isfinite(number) else _NON_FINITE[str(number)]
        return {"doubleValue": plain}, plain
    if which == "array_value":
        items = [_value(item) for item in value.array_value.values]
        return {"arrayValue": {"values": [i[0] for i in items]}}, [i[1] for i in items]
    if which == "kvlist_value":
        listed, flat = _attributes(value.kvlist_value.values)
        return {"kvlistValue": {"values": listed}}, flat
    if which == "bytes_value":
        text = base64.b64encode(value.bytes_value).decode()
        return {"bytesValue": text}, text
    return {}, None


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _dumps(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
