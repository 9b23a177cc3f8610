"""A trace in Tempo's protobuf: `/api/v2/traces/<id>` with `Accept: application/protobuf`.

Grafana asks for it this way, and so do we: a 10,000-span trace is half the bytes of its JSON,
and the protobuf runtime (upb, in C) decodes it in about 15 ms where the JSON takes 100 ms to
validate and as long again to convert, which is most of the time to open a large trace.

Tempo's answer is `tempopb.TraceByIDResponse {Trace trace = 1; TraceByIDMetrics metrics = 2;
PartialStatus status = 3; string message = 4}`, and its `Trace` is `repeated ResourceSpans = 1`,
the same bytes as OTLP's `TracesData`. The envelope is declared here against
opentelemetry-proto's own descriptors (metrics are left out: unknown fields are skipped), so
the protobuf library does all the decoding.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any, cast

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.proto.trace.v1.trace_pb2 import Span, TracesData

from agentops_tui.services.traces.classify import CLASSIFYING, categorize, failed
from agentops_tui.services.traces.otlp import (
    AttributeValue,
    TraceFormatError,
    code_name,
    gc_paused,
    kind_name,
)
from agentops_tui.services.traces.tree import (
    MAX_SPANS,
    ConvertedDetails,
    SpanEvent,
    SpanLink,
    SpanNode,
    Waterfall,
    assemble,
)

ACCEPT = "application/protobuf, application/json;q=0.9"
"""Protobuf first; JSON from a Tempo (or a proxy, or a store) that does not speak it."""
PROTOBUF_TYPES = frozenset({"application/protobuf", "application/x-protobuf"})
PARTIAL = 1
"""`tempopb.PartialStatus.PARTIAL`."""


def _envelope() -> Any:
    """The `TraceByIDResponse` message class, declared next to OTLP's in the default pool."""
    fields = descriptor_pb2.FieldDescriptorProto
    declared = descriptor_pb2.FileDescriptorProto(
        name="agentops/tempo_trace_by_id.proto",
        package="agentops.tempo",
        syntax="proto3",
        dependency=[trace_pb2.DESCRIPTOR.name],
    )
    declared.enum_type.add(
        name="PartialStatus",
        value=[
            descriptor_pb2.EnumValueDescriptorProto(name="COMPLETE", number=0),
            descriptor_pb2.EnumValueDescriptorProto(name="PARTIAL", number=PARTIAL),
        ],
    )
    declared.message_type.add(
        name="TraceByIDResponse",
        field=[
            fields(
                name="trace",
                number=1,
                type=fields.TYPE_MESSAGE,
                type_name=".opentelemetry.proto.trace.v1.TracesData",
                label=fields.LABEL_OPTIONAL,
            ),
            fields(
                name="status",
                number=3,
                type=fields.TYPE_ENUM,
                type_name=".agentops.tempo.PartialStatus",
                label=fields.LABEL_OPTIONAL,
            ),
            fields(name="message", number=4, type=fields.TYPE_STRING, label=fields.LABEL_OPTIONAL),
        ],
    )
    pool = descriptor_pool.Default()
    pool.Add(declared)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("agentops.tempo.TraceByIDResponse")
    )


TraceByIDResponse = _envelope()


def waterfall_from_protobuf(
    body: bytes, *, v2: bool = True, max_spans: int = MAX_SPANS
) -> Waterfall:
    """A trace-by-id answer in protobuf (v2's envelope, or v1's bare trace with `v2=False`)
    as a waterfall; TraceFormatError when the bytes are not one."""
    with gc_paused():
        try:
            if v2:
                response = TraceByIDResponse.FromString(body)
                trace = cast(TracesData, response.trace)
                partial = (
                    (response.message or "Tempo returned part of the trace")
                    if response.status == PARTIAL
                    else ""
                )
            else:
                trace, partial = TracesData.FromString(body), ""
        except DecodeError as exc:
            raise TraceFormatError(f"not an OTLP trace in protobuf: {exc}") from None
        flat = [
            (span, resource, service)
            for batch in trace.resource_spans
            for resource, service in [_resource(batch.resource.attributes)]
            for scope in batch.scope_spans
            for span in scope.spans
        ]
        total = len(flat)
        if total > max_spans:
            flat.sort(key=lambda item: item[0].start_time_unix_nano)
            del flat[max_spans:]
        return assemble(
            [_node(span, resource, service) for span, resource, service in flat],
            trace_id=flat[0][0].trace_id.hex().rjust(32, "0") if flat else "",
            total=total,
            truncated=total > max_spans,
            tempo_partial=partial,
        )


def _resource(pairs: Iterable[KeyValue]) -> tuple[Mapping[str, AttributeValue], str]:
    attributes = attribute_map(pairs)
    return attributes, str(attributes.get("service.name") or "")


def _node(span: Span, resource: Mapping[str, AttributeValue], service: str) -> SpanNode:
    classifying = {pair.key: pair.value for pair in span.attributes if pair.key in CLASSIFYING}
    known = {key: python(value) for key, value in classifying.items()}
    name = span.name
    status = code_name(span.status.code)
    start = span.start_time_unix_nano
    return SpanNode(
        span.span_id.hex(),
        span.parent_span_id.hex(),
        name,
        service,
        kind_name(span.kind),
        status,
        span.status.message,
        start,
        max(0, span.end_time_unix_nano - start),
        ProtobufDetails(span),
        resource,
        categorize(name, known),
        failed(status, known),
    )


class ProtobufDetails:
    """A span's attributes, events and links, converted to Python when first read.

    Converting them for every span of a 10,000-span trace was a third of building its
    waterfall, and only the span detail reads them. Until then the span's message is kept;
    its contents live in C memory that the collector does not scan."""

    __slots__ = ("_state",)

    def __init__(self, span: Span) -> None:
        self._state: Span | ConvertedDetails = span

    def _details(self) -> ConvertedDetails:
        if isinstance(self._state, ConvertedDetails):
            return self._state
        span = self._state
        start = span.start_time_unix_nano
        self._state = ConvertedDetails(
            attribute_map(span.attributes),
            tuple(
                SpanEvent(e.name, e.time_unix_nano or start, attribute_map(e.attributes))
                for e in span.events
            ),
            tuple(
                SpanLink(
                    link.trace_id.hex().rjust(32, "0"),
                    link.span_id.hex(),
                    attribute_map(link.attributes),
                )
                for link in span.links
            ),
        )
        return self._state

    @property
    def attributes(self) -> Mapping[str, AttributeValue]:
        return self._details().attributes

    @property
    def events(self) -> tuple[SpanEvent, ...]:
        return self._details().events

    @property
    def links(self) -> tuple[SpanLink, ...]:
        return self._details().links


def attribute_map(pairs: Iterable[KeyValue]) -> dict[str, AttributeValue]:
    """Attributes by key, as `otlp.attribute_map` makes them from JSON."""
    return {pair.key: python(pair.value) for pair in pairs}


def python(value: AnyValue) -> AttributeValue:
    """The value as plain Python; bytes as base64 text, as they arrive in JSON."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "array_value":
        return [python(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return attribute_map(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None if which is None else cast(AttributeValue, getattr(value, which))
