"""A stored trace as Tempo's trace-by-id answer, in JSON or protobuf, by concatenation.

JSON (OTLP JSON, hex ids): v2 is `{"trace": {"resourceSpans": [...]}, "metrics": {...}}` with
`"status": "PARTIAL"` and a `message` when the trace was cut; v1 is `{"batches": [...]}`.
Protobuf, for a client that prefers it (Grafana and the console send `Accept:
application/protobuf`): v2 is Tempo's `TraceByIDResponse {Trace trace = 1; ...; PartialStatus
status = 3; string message = 4}`, v1 its `Trace {repeated ResourceSpans batches = 1}`, which is
OTLP's TracesData byte for byte.

Protobuf messages concatenate: a ResourceSpans stored without its scopes, followed by framed
`scope_spans` fields, is the whole ResourceSpans; so a span is never decoded to be sent.
"""

from __future__ import annotations

import json

from agentops_services.traces.reads import StoredTrace

PROTOBUF = "application/protobuf"
_PROTOBUF_TYPES = ("application/protobuf", "application/x-protobuf")
_JSON_TYPES = ("application/json", "*/*", "application/*")
_PARTIAL = 1
"""Tempo's PartialStatus.PARTIAL."""


def prefers_protobuf(accept: str | None) -> bool:
    """Whether the Accept header ranks protobuf at least as high as JSON (absent: JSON, as
    Tempo answers)."""
    ranks: dict[str, float] = {}
    for item in (accept or "").split(","):
        media, *params = (part.strip().lower() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranks[media] = max(ranks.get(media, 0.0), quality)
    protobuf = max(ranks.get(media, 0.0) for media in _PROTOBUF_TYPES)
    return protobuf > 0 and protobuf >= max(ranks.get(media, 0.0) for media in _JSON_TYPES)


def json_answer(trace: StoredTrace, *, v2: bool, partial_message: str) -> bytes:
    parts = [b'{"trace":{"resourceSpans":[' if v2 else b'{"batches":[']
    for index, group in enumerate(trace.resources):
        parts.append(b"," if index else b"")
        parts.append(_open_member(group.resource, b"scopeSpans"))
        for number, scope in enumerate(group.scopes):
            parts.append(b"," if number else b"")
            parts.append(_open_member(scope.scope, b"spans"))
            for position, span in enumerate(scope.spans):
                if position:
                    parts.append(b",")
                parts.append(span)
            parts.append(b"]}")
        parts.append(b"]}")
    if not v2:
        parts.append(b"]}")
        return b"".join(parts)
    parts.append(b"]}")
    if trace.partial:
        parts.append(b',"status":"PARTIAL","message":' + json.dumps(partial_message).encode())
    parts.append(b',"metrics":{"inspectedBytes":"' + str(trace.size).encode() + b'"}}')
    return b"".join(parts)


def _open_member(object_json: bytes, name: bytes) -> bytes:
    """A JSON object's text, open at its end on a new array member: `{"a":1,"name":[`."""
    body = object_json.rstrip()[:-1]
    separator = b"," if body.rstrip() != b"{" else b""
    return body + separator + b'"' + name + b'":['


def protobuf_answer(trace: StoredTrace, *, v2: bool, partial_message: str) -> bytes:
    """Lengths first (a length-delimited field states its size before its bytes), then every
    piece in order, joined once."""
    scope_sizes = [
        [len(scope.scope) + sum(_framed_size(len(span)) for span in scope.spans)
         for scope in group.scopes]
        for group in trace.resources
    ]  # fmt: skip
    resource_sizes = [
        len(group.resource) + sum(_framed_size(size) for size in sizes)
        for group, sizes in zip(trace.resources, scope_sizes, strict=True)
    ]
    parts: list[bytes] = []
    if v2:
        parts.append(_key(1, 2) + _varint(sum(_framed_size(size) for size in resource_sizes)))
    for group, size, sizes in zip(trace.resources, resource_sizes, scope_sizes, strict=True):
        parts += (_key(1, 2), _varint(size), group.resource)
        for scope, scope_size in zip(group.scopes, sizes, strict=True):
            parts += (_key(2, 2), _varint(scope_size), scope.scope)
            for span in scope.spans:
                parts += (_SPAN_KEY, _varint(len(span)), span)
    if v2 and trace.partial:
        message = partial_message.encode()
        parts += (_key(3, 0), _varint(_PARTIAL), _key(4, 2), _varint(len(message)), message)
    return b"".join(parts)


def _framed_size(size: int) -> int:
    """Bytes of a length-delimited field (numbers below 16) holding `size` bytes."""
    return 1 + len(_varint(size)) + size


def _key(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SPAN_KEY = _key(2, 2)
"""`spans = 2` of ScopeSpans, length-delimited."""
