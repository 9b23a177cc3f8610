"""Search: the traces a TraceQL query matches, newest first, in Tempo's answer shape.

Traces are visited newest first in chunks from their summaries (time window and duration
bounds applied there), and each chunk is asked twice: which of its traces have a span matching
each spanset filter (EXISTS per filter), then, for those the spanset operators let through, up
to the number still wanted, the first few matched spans and how many matched (a window
query). The search stops once it
has `limit` traces, or at its deadline, when it answers with what it found, as Tempo answers
with the first traces its search finds.

The answer mirrors Tempo's: `traceID` without leading zeros, 64-bit numbers as strings, zero
values left out, `rootServiceName` `<root span not yet received>` while the root span is
missing, `spanSet` (the first of `spanSets`, for older clients) and per-service `serviceStats`.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

from agentops_services.traces.traceql import (
    SPAN_KINDS,
    STATUS_CODES,
    Intrinsic,
    Query,
    SpansetFilter,
    Spansets,
)
from agentops_services.traces.traceql_sql import Params, attribute_value, condition_sql

NO_ROOT = "<root span not yet received>"
PROGRESS_STEPS = 10_000
"""SQLite virtual-machine steps between deadline checks."""
MIN_CHUNK = 16
MAX_CHUNK = 512
"""Traces looked at per round: the first round as many as wanted, then twice as many each."""
_STATUS_NAMES = {number: name for name, number in STATUS_CODES.items()}
_KIND_NAMES = {number: name for name, number in SPAN_KINDS.items()}
_TRACE_COLUMN = re.compile(r"\bt\.")
"""A condition that reads the trace's summary (traceDuration, rootName), so needs its join."""


@dataclass(frozen=True)
class SearchRequest:
    query: Query
    start_ns: int | None = None
    end_ns: int | None = None
    min_duration_ns: int | None = None
    max_duration_ns: int | None = None
    limit: int = 20
    spans_per_set: int = 3
    timeout: float = 10.0
    """Seconds the search may take before it answers with what it has."""


@dataclass(frozen=True)
class _Candidate:
    trace_id: bytes
    start_ns: int
    end_ns: int
    root_service: str | None
    root_name: str | None
    services: str
    size: int


def search(db: sqlite3.Connection, request: SearchRequest) -> dict[str, Any]:
    """The matching traces and Tempo's `metrics` for them."""
    params = Params()
    leaves = [condition_sql(spanset.condition, params) for spanset in request.query.filters()]
    deadline = time.monotonic() + request.timeout
    found: list[dict[str, Any]] = []
    inspected_traces = inspected_bytes = 0
    after: tuple[int, bytes] | None = None
    size = max(MIN_CHUNK, request.limit)
    db.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_STEPS)
    try:
        while len(found) < request.limit and time.monotonic() < deadline:
            chunk = _candidates(db, request, after, size)
            if not chunk:
                break
            after = (chunk[-1].start_ns, chunk[-1].trace_id)
            inspected_traces += len(chunk)
            inspected_bytes += sum(candidate.size for candidate in chunk)
            found.extend(_matches(db, request, chunk, leaves, params, request.limit - len(found)))
            size = min(MAX_CHUNK, size * 2)  # matches are rarer than hoped: look further at once
    except sqlite3.OperationalError as exc:
        if "interrupt" not in str(exc):
            raise
    finally:
        db.set_progress_handler(None, 0)
    metrics = {
        "inspectedTraces": inspected_traces,
        "inspectedBytes": str(inspected_bytes),
        "totalBlocks": 1,
        "completedJobs": 1,
        "totalJobs": 1,
    }
    return {"traces": found, "metrics": metrics}


def _candidates(
    db: sqlite3.Connection, request: SearchRequest, after: tuple[int, bytes] | None, size: int
) -> list[_Candidate]:
    """The next traces in the window, newest first."""
    where: list[str] = ["1"]
    values: dict[str, object] = {"size": size}
    bounds = (
        ("start_ns <= :end", "end", request.end_ns),
        ("end_ns >= :start", "start", request.start_ns),
        ("end_ns - start_ns >= :min", "min", request.min_duration_ns),
        ("end_ns - start_ns <= :max", "max", request.max_duration_ns),
    )
    for condition, name, value in bounds:
        if value is not None:
            where.append(condition)
            values[name] = value
    if after is not None:
        where.append("(start_ns, trace_id) < (:after_start, :after_id)")
        values |= {"after_start": after[0], "after_id": after[1]}
    rows = db.execute(
        "SELECT trace_id, start_ns, end_ns, root_service, root_name, services, size "
        f"FROM traces WHERE {' AND '.join(where)} "
        "ORDER BY start_ns DESC, trace_id DESC LIMIT :size",
        values,
    )
    return [_Candidate(*row) for row in rows]


def _matches(
    db: sqlite3.Connection,
    request: SearchRequest,
    chunk: list[_Candidate],
    leaves: list[str],
    params: Params,
    wanted: int,
) -> list[dict[str, Any]]:
    """The first `wanted` of the chunk's traces that match, in the chunk's order, as search
    results. Which filters a trace satisfies is asked with EXISTS, which stops at the first
    matching span: a query most spans match costs a span or so per trace."""
    hits = _filter_hits(db, chunk, leaves, params)
    contributing: dict[bytes, frozenset[int]] = {}
    for candidate in chunk:
        flags = hits.get(candidate.trace_id)
        leaves_used = _evaluate(request.query.spansets, flags, count()) if flags else None
        if leaves_used:
            contributing[candidate.trace_id] = leaves_used
            if len(contributing) == wanted:
                break
    trace_join = ""
    if any(_TRACE_COLUMN.search(leaf) for leaf in leaves):
        trace_join = "JOIN traces t ON t.trace_id = s.trace_id"
    spans = _matched_spans(db, request, contributing, leaves, params, trace_join)
    return [
        _result(candidate, *spans[candidate.trace_id], request)
        for candidate in chunk
        if candidate.trace_id in spans
    ]


def _filter_hits(
    db: sqlite3.Connection, chunk: list[_Candidate], leaves: list[str], params: Params
) -> dict[bytes, list[bool]]:
    """Per trace of the chunk, whether each filter finds a span in it."""
    if all(leaf == "1" for leaf in leaves):  # {}: every stored trace has a span
        return {candidate.trace_id: [True] * len(leaves) for candidate in chunk}
    ids = {f"id{index}": candidate.trace_id for index, candidate in enumerate(chunk)}
    flags = ", ".join(
        f"EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id AND ({leaf}))"
        for leaf in leaves
    )
    rows = db.execute(
        f"SELECT t.trace_id, {flags} FROM traces t "
        f"WHERE t.trace_id IN ({','.join(':' + name for name in ids)})",
        params.values | ids,
    )
    return {trace_id: [bool(flag) for flag in found] for trace_id, *found in rows}


def _evaluate(node: Spansets, hits: list[bool], position: Iterator[int]) -> frozenset[int] | None:
    """The filters whose spans make up the trace's match (None: no match). Both sides are
    always visited, so `position` numbers the filters as Query.filters() lists them."""
    if isinstance(node, SpansetFilter):
        index = next(position)
        return frozenset({index}) if hits[index] else None
    left = _evaluate(node.left, hits, position)
    right = _evaluate(node.right, hits, position)
    if node.op == "&&":
        return left | right if left is not None and right is not None else None
    if left is None or right is None:
        return left if right is None else right
    return left | right


def _matched_spans(
    db: sqlite3.Connection,
    request: SearchRequest,
    contributing: dict[bytes, frozenset[int]],
    leaves: list[str],
    params: Params,
    trace_join: str,
) -> dict[bytes, tuple[list[tuple[Any, ...]], int]]:
    """Per trace, its first `spans_per_set` matched spans (by start) and how many matched."""
    by_leaves: dict[frozenset[int], list[bytes]] = {}
    for trace_id, used in contributing.items():
        by_leaves.setdefault(used, []).append(trace_id)
    found: dict[bytes, tuple[list[tuple[Any, ...]], int]] = {}
    for used, trace_ids in by_leaves.items():
        ids = {f"id{index}": trace_id for index, trace_id in enumerate(trace_ids)}
        matched = " OR ".join(leaves[index] for index in sorted(used))
        # The window ranks row ids only; the few spans kept are read afterwards, so no
        # attribute text is carried through the window's sort.
        rows = db.execute(
            "SELECT s.trace_id, s.span_id, s.name, s.kind, s.status_code, s.status_message, "
            "s.start_ns, s.end_ns, p.body, o.resource_json, m.matched FROM ("
            "SELECT s.id, "
            "ROW_NUMBER() OVER (PARTITION BY s.trace_id ORDER BY s.start_ns, s.span_id) AS rn, "
            "COUNT(*) OVER (PARTITION BY s.trace_id) AS matched "
            f"FROM spans s {trace_join} "
            f"WHERE s.trace_id IN ({','.join(':' + name for name in ids)}) AND ({matched})"
            ") m JOIN spans s ON s.id = m.id JOIN origins o ON o.id = s.origin_id "
            "JOIN span_payloads p ON p.span = s.id "
            "WHERE m.rn <= :spss",
            params.values | ids | {"spss": request.spans_per_set},
        )
        for row in rows:
            spans, _ = found.get(row[0], ([], 0))
            spans.append(row)
            found[row[0]] = (spans, row[-1])
    return found


def _result(
    candidate: _Candidate, spans: list[tuple[Any, ...]], matched: int, request: SearchRequest
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "traceID": candidate.trace_id.hex().lstrip("0") or "0",
        "rootServiceName": NO_ROOT if candidate.root_service is None else candidate.root_service,
    }
    if candidate.root_name:
        result["rootTraceName"] = candidate.root_name
    result["startTimeUnixNano"] = str(candidate.start_ns)
    duration_ms = (candidate.end_ns - candidate.start_ns) // 1_000_000
    if duration_ms:
        result["durationMs"] = duration_ms
    span_set = {"spans": [_matched_span(row, request) for row in spans], "matched": matched}
    result |= {"spanSet": span_set, "spanSets": [span_set]}
    stats = {}
    for service, (span_count, errors) in json.loads(candidate.services).items():
        stats[service] = {"spanCount": span_count} | ({"errorCount": errors} if errors else {})
    result["serviceStats"] = stats
    return result


def _matched_span(row: tuple[Any, ...], request: SearchRequest) -> dict[str, Any]:
    _, span_id, name, kind, status, message, start_ns, end_ns, body, resource_json, _ = row
    span: dict[str, Any] = {
        "spanID": span_id.hex(),
        "name": name,
        "startTimeUnixNano": str(start_ns),
        "durationNanos": str(end_ns - start_ns),
    }
    attributes: dict[str, Any] = {}
    wanted = request.query.attributes()
    if wanted:  # as the span and its resource were sent: OTLP JSON values, types and all
        own = _by_key(json.loads(body).get("attributes", []))
        resource = _by_key(json.loads(resource_json)["resource"].get("attributes", []))
        for attribute in wanted:
            value = attribute_value(attribute, own, resource)
            if value is not None:
                attributes.setdefault(attribute.name, value)
    intrinsics = {"status": _STATUS_NAMES.get(status, "unset"), "kind": _KIND_NAMES.get(kind, "")}
    intrinsics["statusMessage"] = message
    for field in request.query.select:
        if isinstance(field, Intrinsic) and field.name in intrinsics:
            attributes.setdefault(field.name, {"stringValue": intrinsics[field.name]})
    if attributes:
        span["attributes"] = [{"key": key, "value": value} for key, value in attributes.items()]
    return span


def _by_key(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """OTLP JSON key-values by key (the last of a repeated key, as the search reads them)."""
    return {pair["key"]: pair.get("value", {}) for pair in pairs}
