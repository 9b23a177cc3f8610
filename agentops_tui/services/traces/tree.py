"""A trace's spans as a waterfall: one list in display order, each span with its depth.

Display order is depth-first, children by start time, so a span's subtree is the slice right
after it (`descendants` long) and its parent is an index: the tree holds no reference cycles
and a view can collapse, filter or page it with slicing.

A span whose parent is not in the trace (not ingested yet, dropped, cut by Tempo's size
limit) is kept as a root and marked `orphan`, and the waterfall says it is partial rather than
pretending the trace is whole. At most `MAX_SPANS` spans are kept, the earliest-started, and
the waterfall says so (`truncated`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from agentops_tui.services.traces.classify import Category, categorize, failed
from agentops_tui.services.traces.otlp import (
    AttributeValue,
    Event,
    Kind,
    Link,
    Span,
    StatusCode,
    TraceData,
    attribute_map,
    batches,
    gc_paused,
    hex_id,
    kind,
    status_code,
    trace_id,
)

MAX_SPANS = 50_000
"""Spans kept per trace: about 100 MB of Python objects, and ten times the largest agent
trace we have seen; Tempo's own default size limit (50 MB) cuts most traces before this."""


@dataclass(frozen=True, slots=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: Mapping[str, AttributeValue]


@dataclass(frozen=True, slots=True)
class SpanLink:
    trace_id: str
    span_id: str
    attributes: Mapping[str, AttributeValue]


class SpanDetails(Protocol):
    """What only the span's detail reads: kept apart so a protobuf trace converts it on
    demand (see traces/proto), one small object per span for the collector to scan."""

    @property
    def attributes(self) -> Mapping[str, AttributeValue]: ...

    @property
    def events(self) -> tuple[SpanEvent, ...]: ...

    @property
    def links(self) -> tuple[SpanLink, ...]: ...


@dataclass(frozen=True, slots=True)
class ConvertedDetails:
    attributes: dict[str, AttributeValue]
    events: tuple[SpanEvent, ...]
    links: tuple[SpanLink, ...]


@dataclass(slots=True, eq=False)
class SpanNode:
    span_id: str
    parent_id: str
    """The parent the span names ('' for a root), whether or not it is in the trace."""
    name: str
    service: str
    kind: Kind
    status: StatusCode
    status_message: str
    start_ns: int
    """Unix nanoseconds; `offset_ns` is the same from the trace's start."""
    duration_ns: int
    details: SpanDetails
    resource: Mapping[str, AttributeValue]
    """Shared by every span of the same batch (one process)."""
    category: Category
    error: bool
    offset_ns: int = 0
    depth: int = 0
    parent: int = -1
    """Index of the parent in `Waterfall.spans`; -1 for a root."""
    descendants: int = 0
    orphan: bool = False
    """Names a parent the trace does not hold (or sits in a parent cycle)."""

    @property
    def attributes(self) -> Mapping[str, AttributeValue]:
        return self.details.attributes

    @property
    def events(self) -> tuple[SpanEvent, ...]:
        return self.details.events

    @property
    def links(self) -> tuple[SpanLink, ...]:
        return self.details.links


@dataclass(slots=True)
class Waterfall:
    trace_id: str
    spans: list[SpanNode]
    start_ns: int
    duration_ns: int
    total_spans: int
    """Spans Tempo returned, including those past the cap and repeats."""
    truncated: bool
    orphans: int
    tempo_partial: str = ""
    """Tempo's own reason when it returned part of the trace (status PARTIAL)."""
    positions: dict[str, int] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return self.orphans > 0 or bool(self.tempo_partial)

    def partial_reasons(self) -> list[str]:
        """Why the waterfall is not the whole trace, one sentence each, for a banner."""
        reasons = [self.tempo_partial] if self.tempo_partial else []
        if self.orphans:
            reasons.append(
                f"{self.orphans} span(s) name a parent the trace does not hold; "
                "they are shown as roots"
            )
        if self.truncated:
            reasons.append(
                f"{self.total_spans:,} spans; the {len(self.spans):,} that started first are shown"
            )
        return reasons

    def find(self, span_id: str) -> SpanNode | None:
        index = self.positions.get(span_id)
        return None if index is None else self.spans[index]


def _node(span: Span, resource: Mapping[str, AttributeValue], service: str) -> SpanNode:
    """Everything a view asks of the span, converted now: the parsed JSON can then be freed
    while the collector is still off, so it is never scanned (when it stayed behind to be read
    lazily, the collector's passes over it were a quarter of the time to open a large trace)."""
    attributes = attribute_map(span.get("attributes", []))
    name = span.get("name", "")
    status = status_code(span)
    start = span.get("startTimeUnixNano", 0)
    # positional, in field order: keywords make this call three times slower, a tenth of a build
    return SpanNode(
        hex_id(span["spanId"]),
        hex_id(span.get("parentSpanId", "")),
        name,
        service,
        kind(span),
        status,
        span.get("status", {}).get("message", ""),
        start,
        max(0, span.get("endTimeUnixNano", start) - start),
        ConvertedDetails(
            attributes,
            _events(span["events"], start) if "events" in span else (),
            _links(span["links"]) if "links" in span else (),
        ),
        resource,
        categorize(name, attributes),
        failed(status, attributes),
    )


def _events(events: list[Event], start: int) -> tuple[SpanEvent, ...]:
    return tuple(
        SpanEvent(
            e.get("name", ""), e.get("timeUnixNano", start), attribute_map(e.get("attributes", []))
        )
        for e in events
    )


def _links(links: list[Link]) -> tuple[SpanLink, ...]:
    return tuple(
        SpanLink(
            trace_id(link.get("traceId", "")),
            hex_id(link.get("spanId", "")),
            attribute_map(link.get("attributes", [])),
        )
        for link in links
    )


def _flatten(trace: TraceData) -> list[tuple[Span, Mapping[str, AttributeValue], str]]:
    spans: list[tuple[Span, Mapping[str, AttributeValue], str]] = []
    for batch in batches(trace):
        resource = attribute_map(batch.get("resource", {}).get("attributes", []))
        service = str(resource.get("service.name") or "")
        for scope in batch.get("scopeSpans", []):
            spans.extend((span, resource, service) for span in scope.get("spans", []))
    return spans


def build(trace: TraceData, *, tempo_partial: str = "", max_spans: int = MAX_SPANS) -> Waterfall:
    """The waterfall of a trace (from `parse_v2`/`parse_v1`)."""
    with gc_paused():
        flat = _flatten(trace)
        total = len(flat)
        if total > max_spans:
            flat.sort(key=lambda item: item[0].get("startTimeUnixNano", 0))
            del flat[max_spans:]
        first_id = next((f[0].get("traceId", "") for f in flat), "")
        return assemble(
            [_node(span, resource, service) for span, resource, service in flat],
            trace_id=trace_id(first_id),
            total=total,
            truncated=total > max_spans,
            tempo_partial=tempo_partial,
        )


def assemble(
    spans: Iterable[SpanNode], *, trace_id: str, total: int, truncated: bool, tempo_partial: str
) -> Waterfall:
    """The waterfall of spans converted from either wire format, in display order."""
    nodes: dict[str, SpanNode] = {}
    for node in spans:
        nodes.setdefault(node.span_id, node)  # Tempo dedupes already; the first one wins
    start = min((n.start_ns for n in nodes.values()), default=0)
    end = max((n.start_ns + n.duration_ns for n in nodes.values()), default=0)
    for node in nodes.values():
        node.offset_ns = node.start_ns - start
    ordered = _order(nodes)
    return Waterfall(
        trace_id=trace_id,
        spans=ordered,
        start_ns=start,
        duration_ns=end - start,
        total_spans=total,
        truncated=truncated,
        orphans=sum(node.orphan for node in ordered),
        tempo_partial=tempo_partial,
        positions={node.span_id: index for index, node in enumerate(ordered)},
    )


def _order(nodes: Mapping[str, SpanNode]) -> list[SpanNode]:
    """Depth-first order with depth, parent index and subtree size set."""
    children: dict[str, list[SpanNode]] = {}
    roots: list[SpanNode] = []
    for node in nodes.values():
        if node.parent_id in nodes and node.parent_id != node.span_id:
            children.setdefault(node.parent_id, []).append(node)
        else:
            node.orphan = bool(node.parent_id)
            roots.append(node)
    for siblings in children.values():
        siblings.sort(key=_start)
    ordered: list[SpanNode] = []
    placed: set[str] = set()
    _place(sorted(roots, key=_start), children, ordered, placed)
    if len(placed) < len(nodes):  # parent cycles: nothing leads into them from a root
        for node in sorted(nodes.values(), key=_start):
            if node.span_id not in placed:
                node.orphan = True
                _place([node], children, ordered, placed)
    for index in range(len(ordered) - 1, -1, -1):
        parent = ordered[index].parent
        if parent >= 0:
            ordered[parent].descendants += ordered[index].descendants + 1
    return ordered


def _start(node: SpanNode) -> int:
    return node.start_ns


def _place(
    roots: Iterable[SpanNode],
    children: Mapping[str, list[SpanNode]],
    ordered: list[SpanNode],
    placed: set[str],
) -> None:
    """Append the subtrees of `roots` depth-first (iteratively: agent traces can be deep)."""
    stack = [(root, 0, -1) for root in reversed(list(roots))]
    while stack:
        node, depth, parent = stack.pop()
        if node.span_id in placed:
            continue
        placed.add(node.span_id)
        node.depth, node.parent = depth, parent
        index = len(ordered)
        ordered.append(node)
        if node.span_id in children:  # most spans are leaves
            stack.extend((child, depth + 1, index) for child in reversed(children[node.span_id]))
