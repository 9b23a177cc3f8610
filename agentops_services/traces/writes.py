"""What the trace store's writer does, as plain sqlite3 units run on its thread.

`write_batch` stores an export's spans in one transaction and brings each touched trace's
summary up to date from its stored spans (so a re-sent span, ignored by the unique index, is
never counted twice). `delete_expired` and `delete_oldest` remove a chunk of traces per call,
each in a transaction of its own, so a large prune never holds the writer for long;
`collect_origins` then drops origins no span can still use.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from agentops_services.traces.otlp_records import ERROR_STATUS, Batch, Origin, SpanRecord

CHUNK = 256
"""Traces per statement or transaction when listing or deleting many."""
_INSERT_SPAN = """
    INSERT OR IGNORE INTO spans(trace_id, span_id, parent_id, origin_id, name, kind, status_code,
        status_message, start_ns, end_ns, size, attrs)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_PAYLOAD = "INSERT INTO span_payloads(span, body, proto) VALUES (?, ?, ?)"
_UPSERT_ORIGIN = """
    INSERT INTO origins(key, resource_key, resource_json, scope_json, resource_proto,
        scope_proto, resource_attrs, service_name, last_used_ns)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT(key) DO UPDATE SET last_used_ns = excluded.last_used_ns
    RETURNING id
"""
_SERVICES = """
    SELECT o.service_name, COUNT(*), SUM(s.status_code = ?), MIN(s.start_ns), MAX(s.end_ns),
        SUM(s.size)
    FROM spans s JOIN origins o ON o.id = s.origin_id
    WHERE s.trace_id = ? GROUP BY o.service_name
"""
_ROOT = """
    SELECT s.name, o.service_name FROM spans s JOIN origins o ON o.id = s.origin_id
    WHERE s.trace_id = ? AND s.parent_id IS NULL ORDER BY s.start_ns, s.span_id LIMIT 1
"""
_UPSERT_TRACE = """
    INSERT INTO traces(trace_id, start_ns, end_ns, root_service, root_name, span_count,
        error_count, size, services, first_received_ns, received_ns)
    VALUES (:trace_id, :start_ns, :end_ns, :root_service, :root_name, :span_count, :error_count,
        :size, :services, :now, :now)
    ON CONFLICT(trace_id) DO UPDATE SET
        start_ns = excluded.start_ns, end_ns = excluded.end_ns,
        root_service = COALESCE(excluded.root_service, root_service),
        root_name = COALESCE(excluded.root_name, root_name),
        span_count = excluded.span_count, error_count = excluded.error_count,
        size = excluded.size, services = excluded.services, received_ns = excluded.received_ns
"""


@dataclass(frozen=True)
class Written:
    """What a write kept and refused, and how it changed the store's totals."""

    accepted: int
    rejected: int
    problem: str
    spans_added: int
    bytes_added: int
    traces_added: int


@dataclass(frozen=True)
class TraceSize:
    trace_id: bytes
    spans: int
    size: int


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def write_batch(db: sqlite3.Connection, batch: Batch, now_ns: int, max_trace_bytes: int) -> Written:
    """Store the batch's spans, at most `max_trace_bytes` of spans per trace (Tempo's per-trace
    limit: the spans beyond are rejected, the trace keeps what it had)."""
    rejected, problem = batch.rejected, batch.problem
    by_trace: dict[bytes, list[SpanRecord]] = defaultdict(list)
    for record in batch.spans:
        by_trace[record.trace_id].append(record)
    with transaction(db):
        origin_ids = [_origin_id(db, origin, now_ns) for origin in batch.origins]
        before = _sizes(db, list(by_trace))
        accepted = 0
        payloads = []
        for trace_id, spans in by_trace.items():
            room = max_trace_bytes - (before[trace_id].size if trace_id in before else 0)
            for record in spans:
                room -= record.size
                if room < 0:
                    rejected += 1
                    problem = problem or (
                        f"trace {trace_id.hex()} is larger than {max_trace_bytes} bytes: "
                        "the spans beyond are not kept"
                    )
                    continue
                accepted += 1
                cursor = db.execute(_INSERT_SPAN, _row(record, origin_ids[record.origin]))
                if cursor.rowcount:  # not a span sent before
                    payloads.append((cursor.lastrowid, record.body, record.proto))
        db.executemany(_INSERT_PAYLOAD, payloads)
        after = [_summarize(db, trace_id, by_trace[trace_id], now_ns) for trace_id in by_trace]
    old_spans = sum(size.spans for size in before.values())
    old_bytes = sum(size.size for size in before.values())
    return Written(
        accepted=accepted,
        rejected=rejected,
        problem=problem,
        spans_added=sum(size.spans for size in after) - old_spans,
        bytes_added=sum(size.size for size in after) - old_bytes,
        traces_added=sum(1 for size in after if size.spans) - len(before),
    )


def _origin_id(db: sqlite3.Connection, origin: Origin, now_ns: int) -> int:
    """The origin's id, stored if new, marked used now."""
    row = db.execute(
        _UPSERT_ORIGIN,
        (
            origin.key,
            origin.resource_key,
            origin.resource_json,
            origin.scope_json,
            origin.resource_proto,
            origin.scope_proto,
            origin.resource_attrs,
            origin.service_name,
            now_ns,
        ),
    ).fetchone()
    return int(row[0])


def _row(record: SpanRecord, origin_id: int) -> tuple[object, ...]:
    return (
        record.trace_id,
        record.span_id,
        record.parent_id,
        origin_id,
        record.name,
        record.kind,
        record.status_code,
        record.status_message,
        record.start_ns,
        record.end_ns,
        record.size,
        record.attrs,
    )


def _sizes(db: sqlite3.Connection, trace_ids: Sequence[bytes]) -> dict[bytes, TraceSize]:
    sizes: dict[bytes, TraceSize] = {}
    for start in range(0, len(trace_ids), CHUNK):
        chunk = trace_ids[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        for trace_id, spans, size in db.execute(
            f"SELECT trace_id, span_count, size FROM traces WHERE trace_id IN ({marks})", chunk
        ):
            sizes[trace_id] = TraceSize(trace_id, spans, size)
    return sizes


def _summarize(
    db: sqlite3.Connection, trace_id: bytes, new: list[SpanRecord], now_ns: int
) -> TraceSize:
    """The trace's summary recomputed from its stored spans, and written."""
    services: dict[str, list[int]] = {}
    start_ns, end_ns, spans, errors, size = 2**63 - 1, 0, 0, 0, 0
    for service, count, failed, first, last, stored in db.execute(
        _SERVICES, (ERROR_STATUS, trace_id)
    ):
        services[service] = [count, failed]
        start_ns, end_ns = min(start_ns, first), max(end_ns, last)
        spans, errors, size = spans + count, errors + failed, size + stored
    if not spans:  # every span of a new trace was over its size limit
        return TraceSize(trace_id, 0, 0)
    root = None
    if any(record.parent_id is None for record in new):
        root = db.execute(_ROOT, (trace_id,)).fetchone()
    db.execute(
        _UPSERT_TRACE,
        {
            "trace_id": trace_id,
            "start_ns": start_ns,
            "end_ns": end_ns,
            "root_name": root[0] if root else None,
            "root_service": root[1] if root else None,
            "span_count": spans,
            "error_count": errors,
            "size": size,
            "services": json.dumps(services, separators=(",", ":")),
            "now": now_ns,
        },
    )
    return TraceSize(trace_id, spans, size)


def delete_expired(db: sqlite3.Connection, before_ns: int) -> list[TraceSize]:
    """Delete up to a chunk of the traces last written before `before_ns`, oldest first."""
    with transaction(db):
        rows = db.execute(
            "SELECT trace_id, span_count, size FROM traces WHERE received_ns < ? "
            "ORDER BY received_ns, trace_id LIMIT ?",
            (before_ns, CHUNK),
        ).fetchall()
        return _delete(db, [TraceSize(*row) for row in rows])


def delete_oldest(db: sqlite3.Connection, spans: int, size: int) -> list[TraceSize]:
    """Delete the traces written longest ago, oldest first, until at least `spans` spans and
    `size` bytes are gone (at most a chunk of traces)."""
    with transaction(db):
        chosen: list[TraceSize] = []
        for row in db.execute(
            "SELECT trace_id, span_count, size FROM traces ORDER BY received_ns, trace_id LIMIT ?",
            (CHUNK,),
        ):
            chosen.append(TraceSize(*row))
            spans, size = spans - chosen[-1].spans, size - chosen[-1].size
            if spans <= 0 and size <= 0:
                break
        return _delete(db, chosen)


def _delete(db: sqlite3.Connection, traces: list[TraceSize]) -> list[TraceSize]:
    ids = [(trace.trace_id,) for trace in traces]
    db.executemany(
        "DELETE FROM span_payloads WHERE span IN (SELECT id FROM spans WHERE trace_id = ?)", ids
    )
    db.executemany("DELETE FROM spans WHERE trace_id = ?", ids)
    db.executemany("DELETE FROM traces WHERE trace_id = ?", ids)
    return traces


def collect_origins(db: sqlite3.Connection) -> int:
    """Delete origins no stored span uses; how many.

    Every span was written in a batch that marked its origin used at that time, and no
    earlier than its trace was first written; so an origin last used before the earliest
    first write of any trace still stored has no span left (no index on spans.origin_id, which
    every insert would pay for, is needed to tell)."""
    with transaction(db):
        cursor = db.execute(
            "DELETE FROM origins WHERE last_used_ns < "
            "COALESCE((SELECT MIN(first_received_ns) FROM traces), 9223372036854775807)"
        )
    return cursor.rowcount


def totals(db: sqlite3.Connection) -> tuple[int, int, int]:
    """Traces, spans and bytes stored."""
    traces, spans, size = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(span_count), 0), COALESCE(SUM(size), 0) FROM traces"
    ).fetchone()
    return traces, spans, size
