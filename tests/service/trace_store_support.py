"""The trace store under test: a real server on loopback over a real SQLite file, and OTLP JSON
built the way exporters write it (hex ids, integer enums, 64-bit numbers as strings)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace import Status as SpanStatus

from agentops_services.httpapi.serving import serve_in_background
from agentops_services.traces.server import create_app
from agentops_services.traces.store import Retention, TraceStore

START_NS = 1_775_728_800_000_000_000
"""2026-04-09 10:00 UTC, where the tests' clock starts."""
MS = 1_000_000
S = 1_000_000_000


@dataclass
class TraceStoreService:
    url: str
    http: httpx.AsyncClient
    store: TraceStore
    db: Path

    async def export(self, document: dict[str, Any]) -> httpx.Response:
        """POST an OTLP JSON export; asserts it was taken whole."""
        response = await self.http.post("/v1/traces", json=document)
        assert response.status_code == 200, response.text
        assert response.json() == {}, response.text
        return response

    async def search(self, query: str = "", **params: Any) -> dict[str, Any]:
        response = await self.http.get("/api/search", params={"q": query, **params})
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def found_ids(self, query: str = "", **params: Any) -> list[str]:
        """The trace ids a search answers, zero-padded, in the order given."""
        found = await self.search(query, **params)
        return [trace["traceID"].rjust(32, "0") for trace in found["traces"]]


@contextlib.asynccontextmanager
async def running_trace_store(
    db: Path,
    clock: Callable[[], datetime],
    retention: Retention | None = None,
    **app_options: Any,
) -> AsyncIterator[TraceStoreService]:
    store = TraceStore(db, retention=retention, clock=clock)
    app = create_app(db, store=store, **app_options)
    async with (
        serve_in_background(app) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
    ):
        yield TraceStoreService(server.url, http, store, db)


def attributes(values: dict[str, str | bool | int | float]) -> list[dict[str, Any]]:
    """Scalars as OTLP JSON key-values (integers as strings, as the encoding has them)."""
    kinds = {str: "stringValue", bool: "boolValue", int: "intValue", float: "doubleValue"}
    return [
        {"key": key, "value": {kinds[type(value)]: str(value) if type(value) is int else value}}
        for key, value in values.items()
    ]


def span(
    trace_id: str,
    span_id: str,
    name: str,
    *,
    parent: str = "",
    kind: int = 1,
    start_ms: int = 0,
    duration_ms: float = 1,
    status: int = 0,
    message: str = "",
    attrs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One span in OTLP JSON, timed from START_NS."""
    start = START_NS + start_ms * MS
    document: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + round(duration_ms * MS)),
        "attributes": attributes(attrs or {}),
        "status": {"code": status, "message": message} if status or message else {},
    }
    if parent:
        document["parentSpanId"] = parent
    return document


def export(resource: dict[str, Any], *spans: dict[str, Any], scope: str = "test") -> dict[str, Any]:
    """An ExportTraceServiceRequest in OTLP JSON: one resource, one scope."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attributes(resource)},
                "scopeSpans": [{"scope": {"name": scope}, "spans": list(spans)}],
            }
        ]
    }


def trace_id(digit: str) -> str:
    return digit * 32


def span_id(digit: str, index: int = 0) -> str:
    return f"{digit * 14}{index:02x}"


AGENT = {"service.name": "agentops-runtime", "agent.name": "triage", "agent.mode": "daemon"}
"""The resource of the process whose turn `run_agent_turn` traces."""


def run_agent_turn(url: str, processor_for: type[SpanProcessor], compression: Compression) -> str:
    """An agent's turn traced with the real SDK and exported by its real OTLP/HTTP exporter
    (synchronous, so run in a thread while the store answers on the event loop); the trace id."""
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=10, compression=compression)
    processor = (
        SimpleSpanProcessor(exporter)
        if processor_for is SimpleSpanProcessor
        else BatchSpanProcessor(exporter, schedule_delay_millis=60_000)
    )
    provider = TracerProvider(resource=Resource.create(AGENT))
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("agentops.runtime", "0.1.0")
    with tracer.start_as_current_span("agent.prompt", attributes={"agent.name": "triage"}) as root:
        for step in range(2):
            with tracer.start_as_current_span("agent.step", attributes={"step": step}):
                with tracer.start_as_current_span(
                    "chat claude-sonnet-4-5",
                    kind=SpanKind.CLIENT,
                    attributes={"gen_ai.usage.input_tokens": 1200 + step},
                ):
                    pass
                with tracer.start_as_current_span("tool.execute: kubectl") as tool:
                    tool.set_attribute("gen_ai.tool.name", "kubectl")
                    if step == 1:
                        tool.set_status(SpanStatus(StatusCode.ERROR, "exit status 1"))
        found = f"{root.get_span_context().trace_id:032x}"
    assert provider.force_flush(10_000)
    provider.shutdown()
    return found
