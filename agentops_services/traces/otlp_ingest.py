"""OTLP/HTTP trace export requests and responses, in the two encodings the protocol allows.

`application/x-protobuf` is the binary ExportTraceServiceRequest (what SDK exporters send);
`application/json` is OTLP's JSON encoding: protobuf's JSON mapping except that trace and span
ids are hex, not base64 (enums as numbers or names, 64-bit numbers as strings or numbers, and
unknown fields ignored, as the specification asks of receivers). Bodies may be gzip or deflate
compressed; the decompressed size is capped as the received size is, so a small compressed
body cannot expand without bound.

Every refusal is an OtlpError with the HTTP status the specification gives it (400 malformed,
413 too large, 415 unsupported media type or encoding) and a one-line message; the answer is a
google.rpc.Status in the request's encoding, or JSON when that is unknown.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from enum import Enum
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc.status_pb2 import Status  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

INVALID_ARGUMENT = 3
"""google.rpc.Code for a malformed request."""
_PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
_JSON_TYPE = "application/json"
_ID_FIELDS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}
_PARSE_ERROR = re.compile(r"^(?:Failed to parse \w+ field: )*(?P<reason>.*?)(?: at \S+?)?\.*$")
_FIELD = re.compile(r"Failed to parse (\w+) field: ")
_LEVELS: tuple[tuple[str, type[Message]], ...] = (
    ("resourceSpans", ResourceSpans),
    ("scopeSpans", ScopeSpans),
    ("spans", Span),
)
"""The lists of an export, outermost first, and the message each holds."""


class Encoding(Enum):
    PROTOBUF = "application/x-protobuf"
    JSON = "application/json"


class OtlpError(Exception):
    """A request refused: the HTTP status and a one-line message naming the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def encoding_of(content_type: str | None) -> Encoding:
    """The encoding a Content-Type names (parameters such as charset ignored); 415 otherwise."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _PROTOBUF_TYPES:
        return Encoding.PROTOBUF
    if media == _JSON_TYPE:
        return Encoding.JSON
    shown = media or "none"
    raise OtlpError(
        415, f"unsupported Content-Type {shown}: use application/x-protobuf or application/json"
    )


def decompress(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body without its Content-Encoding, at most `limit` bytes of it (413 beyond)."""
    coding = (content_encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding not in ("gzip", "deflate"):
        raise OtlpError(415, f"unsupported Content-Encoding {coding}: use gzip, deflate or none")
    out = bytearray()
    rest = body
    try:
        while rest:  # gzip allows several members one after another
            decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
            out += decoder.decompress(rest, limit + 1 - len(out))
            if len(out) > limit:
                raise OtlpError(413, f"request body larger than {limit} bytes once decompressed")
            if not decoder.eof:
                raise OtlpError(400, f"invalid {coding} body: truncated")
            rest = decoder.unused_data
    except zlib.error as exc:
        raise OtlpError(400, f"invalid {coding} body: {exc}") from None
    return bytes(out)


def decode(body: bytes, encoding: Encoding) -> ExportTraceServiceRequest:
    """The export request in the body; 400 naming the problem when it is not one."""
    if encoding is Encoding.PROTOBUF:
        try:
            return ExportTraceServiceRequest.FromString(body)
        except DecodeError as exc:
            raise OtlpError(400, f"invalid protobuf ExportTraceServiceRequest: {exc}") from None
    try:
        document = json.loads(body)
    except UnicodeDecodeError as exc:
        raise OtlpError(400, f"invalid JSON: not UTF-8 ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise OtlpError(
            400, f"invalid JSON at line {exc.lineno}, col {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise OtlpError(400, "invalid JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise OtlpError(400, "invalid OTLP JSON: the body must be an object with resourceSpans")
    _ids_to_base64(document)
    try:
        return json_format.ParseDict(
            document, ExportTraceServiceRequest(), ignore_unknown_fields=True
        )
    except json_format.ParseError:
        where = _problem(document, ExportTraceServiceRequest, "", 0)
        raise OtlpError(400, f"invalid OTLP JSON: {where}") from None
    except RecursionError:
        raise OtlpError(400, "invalid OTLP JSON: nested too deeply") from None


def _ids_to_base64(document: dict[str, Any]) -> None:
    """Hex ids (OTLP JSON) rewritten as base64 (protobuf's JSON for bytes), in place; 400
    naming the field for an id that is not hex. Shapes that are not lists and objects are left
    for the protobuf parser to name."""
    for r, resource_spans in _items(document, "resourceSpans"):
        for s, scope_spans in _items(resource_spans, "scopeSpans"):
            for i, span in _items(scope_spans, "spans"):
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]"
                _rewrite_ids(span, where)
                for k, link in _items(span, "links"):
                    _rewrite_ids(link, f"{where}.links[{k}]")


def _items(parent: Any, name: str) -> list[tuple[int, dict[str, Any]]]:
    children = parent.get(name) if isinstance(parent, dict) else None
    if not isinstance(children, list):
        return []
    return [(index, child) for index, child in enumerate(children) if isinstance(child, dict)]


def _rewrite_ids(node: dict[str, Any], where: str) -> None:
    for name, size in _ID_FIELDS.items():
        value = node.get(name)
        if not isinstance(value, str) or not value:
            continue
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise OtlpError(
                400, f"invalid OTLP JSON: {where}.{name}: {value[:40]!r} is not hex"
            ) from None
        if len(raw) != size:
            raise OtlpError(
                400, f"invalid OTLP JSON: {where}.{name}: {size * 2} hex digits expected"
            )
        node[name] = base64.b64encode(raw).decode()


def _problem(node: dict[str, Any], kind: type[Message], where: str, depth: int) -> str:
    """Where a document that protobuf's parser refused is wrong, as `path[i].field: reason`.

    The parser's own message names the fields on the way down but rarely the indices; so the
    children are parsed one by one, down to the span at fault, and its message read from
    there. Only refused requests pay for this."""
    if depth < len(_LEVELS):
        name, child_kind = _LEVELS[depth]
        children = node.get(name)
        for index, child in enumerate(children if isinstance(children, list) else []):
            at = f"{where}{name}[{index}]"
            if not isinstance(child, dict):
                return f"{at}: must be an object"
            try:
                json_format.ParseDict(child, child_kind(), ignore_unknown_fields=True)
            except json_format.ParseError:
                return _problem(child, child_kind, f"{at}.", depth + 1)
    try:
        json_format.ParseDict(node, kind(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "malformed"
        match = _PARSE_ERROR.match(first)
        fields = ".".join(_FIELD.findall(first))
        reason = match.group("reason") if match else first
        return f"{where}{fields}: {reason}" if fields else f"{where.rstrip('.')}: {reason}"
    return where.rstrip(".") or "malformed"


def response_body(rejected: int, problem: str, encoding: Encoding) -> bytes:
    """An ExportTraceServiceResponse: empty when all was kept, else the partial success."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = problem
    if encoding is Encoding.PROTOBUF:
        return response.SerializeToString()
    return json.dumps(json_format.MessageToDict(response)).encode()


def status_body(message: str, encoding: Encoding) -> bytes:
    """A google.rpc.Status saying why a request was refused."""
    status = Status(code=INVALID_ARGUMENT, message=message)
    if encoding is Encoding.PROTOBUF:
        return bytes(status.SerializeToString())
    return json.dumps({"code": INVALID_ARGUMENT, "message": message}).encode()
