"""Reading traces and tags back, as plain sqlite3 units run on a reader's thread.

A trace is read as its spans' stored encodings (JSON or protobuf, whichever the answer is
in), grouped by resource and then by scope the way exporters send them; no span is decoded,
which is what keeps a 10,000-span trace a matter of milliseconds (`trace_answer` strings them
together).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from agentops_services.traces.traceql import Condition, Field
from agentops_services.traces.traceql_sql import Params, condition_sql, field_sql

RECENT_SPANS = 50_000
"""Spans, the newest, whose attributes tag names and values are gathered from (Tempo, too,
answers tags from recent data only)."""
MAX_TAGS = 1_000
"""Names or values in one answer."""
VALUE_TYPES = {
    "text": "string",
    "integer": "int",
    "real": "float",
    "true": "bool",
    "false": "bool",
    "keyword": "keyword",
    "duration": "duration",
}
"""SQL type names as Tempo names tag value types."""
_RECENT = (
    "(SELECT trace_id, origin_id, name, kind, status_code, status_message, start_ns, end_ns, "
    "attrs FROM spans ORDER BY id DESC LIMIT :recent) s"
)


@dataclass(frozen=True)
class ScopeGroup:
    scope: bytes
    """The scope: JSON `{"scope": ...}`, or a protobuf ScopeSpans without spans."""
    spans: list[bytes]


@dataclass(frozen=True)
class ResourceGroup:
    resource: bytes
    """The resource: JSON `{"resource": ...}`, or a protobuf ResourceSpans without scopes."""
    scopes: list[ScopeGroup]


@dataclass(frozen=True)
class StoredTrace:
    """A trace's spans in one encoding, grouped as OTLP groups them."""

    resources: list[ResourceGroup]
    partial: bool
    """Cut at the size limit."""
    size: int


def ping(db: sqlite3.Connection) -> None:
    db.execute("SELECT 1 FROM traces LIMIT 1").fetchall()


def read_trace(
    db: sqlite3.Connection, trace_id: bytes, max_bytes: int, protobuf: bool
) -> StoredTrace | None:
    """The trace's spans, in protobuf or OTLP JSON, grouped by resource then scope; None when
    none are stored. Spans past `max_bytes` are left out and the trace says it is partial."""
    span_column, resource_column, scope_column = (
        ("p.proto", "resource_proto", "scope_proto")
        if protobuf
        else ("CAST(p.body AS BLOB)", "CAST(resource_json AS BLOB)", "CAST(scope_json AS BLOB)")
    )
    # Sorted here: SQLite's sorter would copy every span's bytes once more.
    rows = sorted(
        db.execute(
            f"SELECT s.origin_id, s.start_ns, s.span_id, s.size, {span_column} "
            "FROM spans s JOIN span_payloads p ON p.span = s.id WHERE s.trace_id = ?",
            (trace_id,),
        ).fetchall(),
        key=lambda row: (row[0], row[1], row[2]),
    )
    if not rows:
        return None
    kept, size = [], 0
    for row in rows:
        size += row[3]
        if size > max_bytes:
            break
        kept.append(row)
    origins = _origins(db, {row[0] for row in kept}, resource_column, scope_column)
    resources: dict[bytes, ResourceGroup] = {}
    scopes: dict[int, ScopeGroup] = {}
    for origin_id, _, _, _, span in kept:
        if origin_id not in scopes:
            resource_key, resource, scope = origins[origin_id]
            group = resources.setdefault(resource_key, ResourceGroup(resource, []))
            scopes[origin_id] = ScopeGroup(scope, [])
            group.scopes.append(scopes[origin_id])
        scopes[origin_id].spans.append(span)
    return StoredTrace(list(resources.values()), len(kept) < len(rows), size)


def _origins(
    db: sqlite3.Connection, ids: Iterable[int], resource_column: str, scope_column: str
) -> dict[int, tuple[bytes, bytes, bytes]]:
    """Origins by id: resource key, resource and scope."""
    wanted = sorted(ids)
    found: dict[int, tuple[bytes, bytes, bytes]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for origin_id, resource_key, resource, scope in db.execute(
            f"SELECT id, resource_key, {resource_column}, {scope_column} FROM origins "
            f"WHERE id IN ({marks})",
            chunk,
        ):
            found[origin_id] = (resource_key, resource, scope)
    return found


def tag_names(db: sqlite3.Connection, scope: Literal["span", "resource"]) -> list[str]:
    """Attribute names in use, sorted: the resource's in all origins, the span's in the
    newest spans."""
    if scope == "resource":
        sql = "SELECT DISTINCT j.key FROM origins o, json_each(o.resource_attrs) j"
    else:
        sql = f"SELECT DISTINCT j.key FROM {_RECENT}, json_each(s.attrs) j"
    rows = db.execute(f"{sql} ORDER BY 1 LIMIT :cap", {"recent": RECENT_SPANS, "cap": MAX_TAGS})
    return [row[0] for row in rows]


def tag_values(
    db: sqlite3.Connection, field: Field, condition: Condition | None
) -> list[tuple[str, str]]:
    """Distinct (type, value) of a field on the newest spans for which `condition` holds,
    values as text, sorted."""
    params = Params()
    value, kind = field_sql(field, params)
    where = condition_sql(condition, params)
    sql = (
        f"SELECT DISTINCT {kind} AS value_type, {value} AS value_text FROM {_RECENT} "
        "JOIN origins o ON o.id = s.origin_id JOIN traces t ON t.trace_id = s.trace_id "
        f"WHERE value_type IN ({','.join(repr(name) for name in VALUE_TYPES)}) AND {where} "
        "ORDER BY 2 LIMIT :cap"
    )
    rows = db.execute(sql, params.values | {"recent": RECENT_SPANS, "cap": MAX_TAGS})
    return [(VALUE_TYPES[kind], _text(value, kind)) for kind, value in rows]


def _text(value: object, kind: str) -> str:
    if kind in ("true", "false"):
        return kind
    return str(value)
