"""Tempo's `/api/search` answer as models: one summary per trace found.

A summary carries what the list shows without fetching the trace: its root (service and span
name, which Tempo leaves empty while the root span has not arrived), start and duration, the
spans the query matched with the attributes it `select`ed (the agent's name), and per-service
span and error counts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from agentops_tui.services.traces.otlp import AttributeValue, KeyValue, attribute_map, trace_id

TraceId = Annotated[str, BeforeValidator(trace_id)]
"""32 hex digits: Tempo's search drops an id's leading zeros."""


class _Wire(BaseModel):
    """Tempo's camelCase names on snake_case attributes; unknown fields ignored, so a newer
    Tempo that adds some still parses."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class MatchedSpan(_Wire):
    span_id: str = Field(default="", alias="spanID")
    name: str = ""
    start_time_unix_nano: int = 0
    duration_nanos: int = 0
    attributes: list[KeyValue] = []


class SpanSet(_Wire):
    spans: list[MatchedSpan] = []
    matched: int = 0


class ServiceStats(_Wire):
    span_count: int = 0
    error_count: int = 0


class TraceSummary(_Wire):
    trace_id: TraceId = Field(alias="traceID")
    root_service_name: str = ""
    root_trace_name: str = ""
    start_time_unix_nano: int = 0
    duration_ms: int = 0
    span_set: SpanSet | None = None
    """The first of `span_sets`, which Tempo still sends for older clients."""
    span_sets: list[SpanSet] = []
    service_stats: dict[str, ServiceStats] = {}

    @property
    def started(self) -> datetime:
        return datetime.fromtimestamp(self.start_time_unix_nano / 1e9, UTC)

    @property
    def span_count(self) -> int | None:
        """Spans in the trace, when this Tempo counts them (2.4 and later)."""
        return sum(s.span_count for s in self.service_stats.values()) or None

    @property
    def error_count(self) -> int:
        return sum(s.error_count for s in self.service_stats.values())

    def attribute(self, key: str) -> AttributeValue:
        """The first value of an attribute the query selected, on any matched span."""
        sets = self.span_sets or ([self.span_set] if self.span_set else [])
        for span_set in sets:
            for span in span_set.spans:
                value = attribute_map(span.attributes).get(key)
                if value is not None:
                    return value
        return None

    @property
    def agent(self) -> str:
        """The Agent whose runtime made the trace ('' when the query did not select it)."""
        value = self.attribute("agent.name")
        return value if isinstance(value, str) else ""


class SearchResponse(_Wire):
    traces: list[TraceSummary] = []
    metrics: dict[str, Any] = {}
