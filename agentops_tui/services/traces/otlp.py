"""OTLP trace JSON as Tempo answers it: its schema, and the values normalised.

Tempo marshals its protobuf with gogo's jsonpb: ids arrive base64 (they are bytes fields),
64-bit numbers as strings, enums by name (`SPAN_KIND_CLIENT`, `STATUS_CODE_ERROR`). OTLP/JSON
proper, as exporters and otel-tui's files write it, has hex ids and integer enums. The schema
accepts both; `hex_id`, `kind`, `status_code` and `python` normalise them, so nothing past the
waterfall's builder cares which one it got.

The schema is TypedDicts validated by pydantic rather than models: a 10,000-span trace
validates in about 0.1 s this way and 0.3 s as BaseModels (every attribute would be two model
instances), and a trace is read once, by the waterfall's builder.
"""

from __future__ import annotations

import binascii
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, Required, TypeAlias, TypeVar

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict

AttributeValue: TypeAlias = (
    str | bool | int | float | list["AttributeValue"] | dict[str, "AttributeValue"] | None
)
Kind = Literal["unspecified", "internal", "server", "client", "producer", "consumer"]
StatusCode = Literal["unset", "ok", "error"]
Name = TypeVar("Name", bound=str)


class AnyValue(TypedDict, total=False):
    """One of the OTLP value kinds; exactly one key is present (none for an empty value)."""

    stringValue: str
    boolValue: bool
    intValue: int
    doubleValue: float
    arrayValue: ArrayValue
    kvlistValue: KeyValueList
    bytesValue: str


class ArrayValue(TypedDict, total=False):
    values: list[AnyValue]


class KeyValue(TypedDict, total=False):
    key: Required[str]
    value: AnyValue


class KeyValueList(TypedDict, total=False):
    values: list[KeyValue]


class Status(TypedDict, total=False):
    code: str | int
    message: str


class Event(TypedDict, total=False):
    timeUnixNano: int
    name: str
    attributes: list[KeyValue]


class Link(TypedDict, total=False):
    traceId: str
    spanId: str
    attributes: list[KeyValue]


class Span(TypedDict, total=False):
    traceId: str
    spanId: Required[str]
    parentSpanId: str
    name: str
    kind: str | int
    startTimeUnixNano: int
    endTimeUnixNano: int
    attributes: list[KeyValue]
    events: list[Event]
    links: list[Link]
    status: Status


class Scope(TypedDict, total=False):
    name: str
    version: str


class ScopeSpans(TypedDict, total=False):
    scope: Scope
    spans: list[Span]


class Resource(TypedDict, total=False):
    attributes: list[KeyValue]


class ResourceSpans(TypedDict, total=False):
    resource: Resource
    scopeSpans: list[ScopeSpans]


class TraceData(TypedDict, total=False):
    """A trace: `/api/traces/<id>` answers this, its batches as `batches` (newer Tempo:
    `resourceSpans`); `/api/v2/traces/<id>` wraps it."""

    resourceSpans: list[ResourceSpans]
    batches: list[ResourceSpans]


class TraceByIdResponse(TypedDict, total=False):
    """`/api/v2/traces/<id>`: the trace, and `status` PARTIAL with Tempo's reasons in `message`
    when it returned less than the whole trace (its size limit cut it, a filter, pruning)."""

    trace: TraceData
    status: str | int
    message: str


_V2 = TypeAdapter(TraceByIdResponse)
_V1 = TypeAdapter(TraceData)
_HEX = re.compile(r"[0-9a-fA-F]+")
_KINDS: tuple[Kind, ...] = ("unspecified", "internal", "server", "client", "producer", "consumer")
_CODES: tuple[StatusCode, ...] = ("unset", "ok", "error")


class TraceFormatError(ValueError):
    """The body is not a trace in either of Tempo's formats; the message says where."""


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic collector off for a bulk load: building a big trace's many small objects
    otherwise sets it off again and again over a growing heap, which triples the time. The
    objects made hold no cycles, so reference counting frees them all the same."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _schema_errors() -> Iterator[None]:
    """A body that is not the schema as TraceFormatError, naming the first wrong field."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise TraceFormatError(f"not an OTLP trace: {where}: {first['msg']}") from None


def parse_v2(body: bytes) -> TraceByIdResponse:
    """An `/api/v2/traces/<id>` body; TraceFormatError when it is not one."""
    with _schema_errors(), gc_paused():
        return _V2.validate_json(body)


def parse_v1(body: bytes) -> TraceData:
    """An `/api/traces/<id>` body; TraceFormatError when it is not one."""
    with _schema_errors(), gc_paused():
        return _V1.validate_json(body)


def batches(trace: TraceData) -> list[ResourceSpans]:
    return trace.get("resourceSpans") or trace.get("batches") or []


def is_partial(response: TraceByIdResponse) -> bool:
    """Whether Tempo says it returned part of the trace (PARTIAL by name or as 1)."""
    status = response.get("status", 0)
    return status == 1 or (isinstance(status, str) and status.upper() == "PARTIAL")


def hex_id(value: str) -> str:
    """A trace or span id as lower-case hex, from hex or base64 (empty stays empty).

    The two cannot be confused: base64 of 8 or 16 bytes is 12 or 24 characters ending in `=`,
    never all hex digits."""
    if (len(value) in (12, 24) and value[-1] == "=") or not _HEX.fullmatch(value or "0"):
        try:
            return binascii.a2b_base64(value, strict_mode=True).hex()
        except binascii.Error:
            raise TraceFormatError(f"not a hex or base64 id: {value[:40]!r}") from None
    return value.lower()


def trace_id(value: str) -> str:
    """A trace id as 32 hex digits: Tempo's search drops leading zeros, and a 64-bit (Jaeger)
    id is the same trace as its zero-padded 128-bit form."""
    text = hex_id(value)
    return text.rjust(32, "0") if text else ""


def _enum(names: tuple[Name, ...], prefix: str) -> dict[str | int, Name]:
    """An enum's values by protobuf name (`PREFIX_NAME`), short name and number: Tempo sends
    names, OTLP/JSON numbers. Anything else reads as the zero value (a newer OTLP's value is
    shown as unspecified, not refused)."""
    by_value: dict[str | int, Name] = {}
    for number, name in enumerate(names):
        by_value |= {number: name, name: name, f"{prefix}{name}".upper(): name}
    return by_value


_KIND_NAMES = _enum(_KINDS, "span_kind_")
_CODE_NAMES = _enum(_CODES, "status_code_")


def kind_name(value: str | int) -> Kind:
    return _KIND_NAMES.get(value, "unspecified")


def code_name(value: str | int) -> StatusCode:
    return _CODE_NAMES.get(value, "unset")


def kind(span: Span) -> Kind:
    return kind_name(span.get("kind", 0))


def status_code(span: Span) -> StatusCode:
    return code_name(span.get("status", {}).get("code", 0))


def python(value: AnyValue) -> AttributeValue:
    """The value as plain Python (bytes stay base64 text: they are shown, not used)."""
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return value["intValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "doubleValue" in value:
        return value["doubleValue"]
    if "arrayValue" in value:
        return [python(item) for item in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return attribute_map(value["kvlistValue"].get("values", []))
    return value.get("bytesValue")


def attribute_map(pairs: list[KeyValue]) -> dict[str, AttributeValue]:
    """Attributes by key (a repeated key keeps its last value, as OTLP SDKs do)."""
    attributes: dict[str, AttributeValue] = {}
    for pair in pairs:
        value = pair.get("value", {})
        # most values are strings: no call for them (a tenth of building a large trace)
        attributes[pair["key"]] = value["stringValue"] if "stringValue" in value else python(value)
    return attributes
