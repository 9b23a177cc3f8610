"""Spans per request and per store operation, continuing the caller's W3C trace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.service.conftest import MemoryService, ObservationFactory

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def attributes(span: ReadableSpan) -> Mapping[str, Any]:
    assert span.attributes is not None
    return span.attributes


def parent_id(span: ReadableSpan) -> int:
    assert span.parent is not None
    return span.parent.span_id


PARENT = "00f067aa0ba902b7"


async def test_request_spans_continue_the_callers_trace(
    memory: MemoryService, observation: ObservationFactory, spans: InMemorySpanExporter
) -> None:
    headers = {"traceparent": f"00-{TRACE_ID}-{PARENT}-01"}
    await memory.client.post("/observations", json=observation(), headers=headers)
    await memory.client.get(
        "/context", params={"project": "infra", "query": "readers"}, headers=headers
    )
    finished = {span.name: span for span in spans.get_finished_spans()}

    add = finished["memory.add_observation"]
    assert add.kind == SpanKind.SERVER
    assert format(add.context.trace_id, "032x") == TRACE_ID
    assert format(parent_id(add), "016x") == PARENT
    assert attributes(add)["memory.observation.action"] == "created"
    assert attributes(add)["memory.project"] == "infra"
    store_add = finished["store.add_observation"]
    assert parent_id(store_add) == add.context.span_id

    context = finished["memory.fetch_context"]
    assert attributes(context)["gen_ai.operation.name"] == "retrieval"
    assert attributes(context)["memory.context.result_count"] == 1
    store_context = finished["store.fetch_context"]
    injected = [e for e in store_context.events if e.name == "context.injected"]
    assert injected[0].attributes is not None
    assert injected[0].attributes["memory.injected.method"] == "fts5_bm25"


async def test_health_probes_make_no_spans(
    memory: MemoryService, spans: InMemorySpanExporter
) -> None:
    await memory.client.get("/healthz")
    await memory.client.get("/health")
    assert spans.get_finished_spans() == ()


async def test_client_errors_are_marked_on_the_span(
    memory: MemoryService, spans: InMemorySpanExporter
) -> None:
    await memory.client.get("/observations/9")
    span = next(s for s in spans.get_finished_spans() if s.name == "memory.get_observation")
    assert attributes(span)["http.response.status_code"] == 404
    assert attributes(span)["error.type"] == "not_found"
