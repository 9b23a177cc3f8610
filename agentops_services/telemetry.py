"""OpenTelemetry setup shared by every service.

Every service always has a real TracerProvider, so trace ids exist (they are shown in events and
status) even when nothing is exported. Spans are recorded only when they have somewhere to go:
an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`, OTLP over HTTP, port 4318 by default) or a
processor passed in (tests). Without one, spans are non-recording: they still carry real trace
ids into events and `traceparent` headers, at a fraction of the cost. Context travels in W3C
`traceparent` headers: `extract_context` on the way in, `inject_headers` on the way out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.util.types import Attributes

from agentops_services import __version__

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
_recording = False
"""Whether spans have a destination; when not, spans that nobody asked a trace id of are skipped."""
MAX_ATTRIBUTE_CHARS = 2000
"""Text attributes (prompts, tool arguments and results) are capped at this many characters."""


def otlp_traces_url(endpoint: str) -> str:
    """`host:port` or a URL -> the OTLP/HTTP traces URL (`http://host:port/v1/traces`)."""
    url = endpoint if "://" in endpoint else f"http://{endpoint}"
    return url if url.rstrip("/").endswith("/v1/traces") else url.rstrip("/") + "/v1/traces"


def setup_tracing(
    service_name: str,
    *,
    endpoint: str | None = None,
    attributes: Mapping[str, str] | None = None,
    processor: SpanProcessor | None = None,
) -> TracerProvider:
    """Install the process-wide tracer provider (once; later calls return the installed one).

    `processor` replaces the OTLP exporter (tests pass an in-memory one).
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    resource = Resource.create(
        {"service.name": service_name, "service.version": __version__, **(attributes or {})}
    )
    global _recording  # noqa: PLW0603 - the process's one tracing configuration
    target = endpoint if endpoint is not None else os.environ.get(ENDPOINT_ENV, "")
    recording = processor is not None or bool(target)
    _recording = recording
    # ParentBased: a caller's sampled traceparent is honoured; our own roots record only when
    # the spans have a destination.
    provider = TracerProvider(
        resource=resource, sampler=None if recording else ParentBased(ALWAYS_OFF)
    )
    if processor is not None:
        provider.add_span_processor(processor)
    elif target:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        exporter = OTLPSpanExporter(endpoint=otlp_traces_url(target), timeout=10)
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=2000))
    trace.set_tracer_provider(provider)
    return provider


@contextmanager
def span(
    tracer: trace.Tracer,
    name: str,
    *,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    attributes: Attributes = None,
    parent: otel_context.Context | None = None,
    needs_trace_id: bool = False,
) -> Iterator[trace.Span]:
    """A span made current for the block, ended after it, marked as an error if it raises.

    When nothing records spans and the caller needs no trace id, no span is made at all: on a
    request path span bookkeeping is a measurable share of the CPU. The SDK's
    `start_as_current_span` is avoided for the same reason (several layers of context managers).
    """
    if not _recording and not needs_trace_id:
        yield trace.INVALID_SPAN
        return
    current = tracer.start_span(name, context=parent, kind=kind, attributes=attributes)
    token = otel_context.attach(trace.set_span_in_context(current, parent))
    try:
        yield current
    except BaseException as exc:
        current.record_exception(exc)
        current.set_status(trace.StatusCode.ERROR, type(exc).__name__)
        raise
    finally:
        otel_context.detach(token)
        current.end()


def extract_context(headers: Mapping[str, str]) -> otel_context.Context:
    """The caller's trace context from W3C headers (an empty context when there is none)."""
    return propagate.extract(headers)


def inject_headers(headers: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """`headers` plus the current span's `traceparent`, for an outgoing request."""
    carrier: MutableMapping[str, str] = {} if headers is None else headers
    propagate.inject(carrier)
    return carrier


def cap(text: str, limit: int = MAX_ATTRIBUTE_CHARS) -> str:
    """Text fit for a span attribute."""
    return text if len(text) <= limit else text[:limit] + "... [truncated]"


def describe(exc: BaseException) -> str:
    """One line for a failure, looking inside the exception groups task groups raise."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc)
    return cap(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, 300)


def trace_id_hex(span: trace.Span | None = None) -> str | None:
    """32 hex digits of the (current) span's trace, or None when it has none."""
    context = (span or trace.get_current_span()).get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
