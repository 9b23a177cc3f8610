"""Traces as terminal text and JSON, for `agentops trace` (the console draws its own).

Colour is ANSI, given only when asked (the command asks on a terminal without NO_COLOR); the
text says everything without it: ✗ marks a failure, … a span whose parent is missing, and a
PARTIAL line says why the waterfall is not the whole trace.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from agentops_tui.services.traces.classify import Category
from agentops_tui.services.traces.detail import span_detail
from agentops_tui.services.traces.filters import SpanFilter, select
from agentops_tui.services.traces.layout import (
    Columns,
    Row,
    Viewport,
    format_duration,
    layout,
    ruler,
)
from agentops_tui.services.traces.search import TraceSummary
from agentops_tui.services.traces.tree import SpanNode, Waterfall

COLOURS: Mapping[Category, str] = {
    "agent": "34",
    "llm": "35",
    "tool": "36",
    "memory": "32",
    "other": "90",
}
"""ANSI foregrounds of the bars: blue turns, magenta model calls, cyan tools, green memory."""
ERROR, WARNING, DIM, BOLD = "31", "33", "2", "1"
MAX_JSON_DEPTH = 256
"""Nesting kept in `--json`; a deeper span (only a malformed trace has one) is listed with
its ancestor at this depth, its `parentSpanId` still naming its real parent."""


def paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color and code and text else text


def _row(row: Row, color: bool) -> str:
    node = row.shown.node
    name = row.name
    if node.error:
        name = paint(name, ERROR, color)
    elif not row.shown.matched:
        name = paint(name, DIM, color)
    first, last = row.bar_cells
    segment = paint(row.bar[first:last], ERROR if node.error else COLOURS[node.category], color)
    return name + paint(row.duration, DIM, color) + row.bar[:first] + segment + row.bar[last:]


def waterfall_lines(
    waterfall: Waterfall,
    width: int,
    *,
    color: bool = False,
    span_filter: SpanFilter = "all",
) -> Iterator[str]:
    """A summary line, a PARTIAL line per reason, the time ruler, then one line per span (at
    most `width` columns, without trailing blanks)."""
    services = sorted({node.service for node in waterfall.spans if node.service})
    errors = sum(node.error for node in waterfall.spans)
    summary = (
        f"Trace {waterfall.trace_id}  {len(waterfall.spans):,} spans  "
        f"{format_duration(waterfall.duration_ns)}  {', '.join(services)}"
    )
    yield paint(summary, BOLD, color) + (
        paint(f"  {errors} failed", ERROR, color) if errors else ""
    )
    for reason in waterfall.partial_reasons():
        yield paint(f"PARTIAL: {reason}", WARNING, color)
    columns = Columns.fit(width)
    window = Viewport.whole(waterfall.duration_ns)
    heading = "Span".ljust(columns.name) + "Took".rjust(columns.duration - 1) + " "
    yield paint((heading + ruler(window, columns.bar)).rstrip(), DIM, color)
    for row in layout(select(waterfall, span_filter), window, width):
        yield _row(row, color).rstrip()


def _ms(ns: int) -> float:
    return round(ns / 1e6, 3)


def _span_json(node: SpanNode) -> dict[str, Any]:
    detail = span_detail(node)
    return {
        "spanId": node.span_id,
        "parentSpanId": node.parent_id,
        "name": node.name,
        "service": node.service,
        "kind": node.kind,
        "category": node.category,
        "status": node.status,
        "statusMessage": detail.status_message,
        "error": node.error,
        "orphan": node.orphan,
        "offsetMs": _ms(node.offset_ns),
        "durationMs": _ms(node.duration_ns),
        "attributes": dict(node.attributes),
        "events": [
            {"name": e.name, "offsetMs": _ms(e.offset_ns), "attributes": dict(e.attributes)}
            for e in detail.events
        ],
        "links": [{"traceId": link.trace_id, "spanId": link.span_id} for link in detail.links],
        "children": [],
    }


def tree_json(waterfall: Waterfall) -> dict[str, Any]:
    """The waterfall as nested spans (children by start time), for `--json`."""
    roots: list[dict[str, Any]] = []
    containers = [roots]  # [depth] -> where a span at that depth goes (pre-order keeps it so)
    for node in waterfall.spans:
        depth = min(node.depth, MAX_JSON_DEPTH)
        item = _span_json(node)
        containers[depth].append(item)
        if node.depth < MAX_JSON_DEPTH:
            del containers[depth + 1 :]
            containers.append(item["children"])
    return {
        "traceId": waterfall.trace_id,
        "startTime": datetime.fromtimestamp(waterfall.start_ns / 1e9).astimezone().isoformat(),
        "durationMs": _ms(waterfall.duration_ns),
        "spanCount": len(waterfall.spans),
        "totalSpans": waterfall.total_spans,
        "partial": waterfall.partial,
        "partialReasons": waterfall.partial_reasons(),
        "truncated": waterfall.truncated,
        "spans": roots,
    }


def _started(summary: TraceSummary) -> str:
    return summary.started.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def search_lines(summaries: Sequence[TraceSummary], *, color: bool = False) -> Iterator[str]:
    """A table of the traces found, columns as wide as their widest cell."""
    table = [("TRACE ID", "STARTED", "TOOK", "AGENT", "ROOT", "SPANS", "ERRORS")]
    table += [
        (
            s.trace_id,
            _started(s),
            format_duration(s.duration_ms * 1_000_000),
            s.agent or "-",
            " ".join(filter(None, (s.root_service_name, s.root_trace_name))) or "-",
            str(s.span_count or "?"),
            str(s.error_count),
        )
        for s in summaries
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for index, row in enumerate(table):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        failed = index > 0 and summaries[index - 1].error_count > 0
        yield paint(line.rstrip(), BOLD if index == 0 else ERROR if failed else "", color)


def search_json(summaries: Sequence[TraceSummary]) -> list[dict[str, Any]]:
    return [
        {
            "traceId": s.trace_id,
            "startTime": s.started.isoformat(),
            "durationMs": s.duration_ms,
            "agent": s.agent,
            "rootServiceName": s.root_service_name,
            "rootTraceName": s.root_trace_name,
            "spanCount": s.span_count,
            "errorCount": s.error_count,
        }
        for s in summaries
    ]
