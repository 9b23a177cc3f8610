"""Streaming a provider's answer over HTTP: one place for timeouts, error mapping and SSE.

A stalled stream (no bytes for `idle_timeout`) and transport failures are retryable errors, like
429 and 5xx answers; Retry-After (seconds or an HTTP date) and retry-after-ms are honoured.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse

from agentops_services.runtime.providers import base as model
from agentops_services.runtime.providers.base import ProviderError

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
MAX_ERROR_BODY = 4096


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts of a provider's HTTP calls."""

    connect_timeout: float = 10.0
    idle_timeout: float = 120.0
    """Longest silence inside a stream before it counts as stalled."""


def new_client(
    settings: HttpSettings, headers: Mapping[str, str] | None = None
) -> httpx.AsyncClient:
    timeout = httpx.Timeout(settings.idle_timeout, connect=settings.connect_timeout)
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=10)
    return httpx.AsyncClient(timeout=timeout, limits=limits, headers=dict(headers or {}))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait as the response asks, or None."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def error_message(body: bytes) -> str:
    """The provider's own error message from a JSON error body (any of the usual shapes)."""
    text = body[:MAX_ERROR_BODY].decode(errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip() or "(empty body)"
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("type") or error)
        return str(error)
    return text


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    message = error_message(body)
    retryable = status in RETRYABLE_STATUS or "overloaded" in message.lower()
    return ProviderError(
        f"HTTP {status}: {message}",
        status=status,
        retryable=retryable,
        retry_after=retry_after(headers),
    )


async def stream_sse(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """POST `body` and yield the server-sent events of the answer."""
    try:
        async with aconnect_sse(
            client, "POST", url, json=body, headers=dict(headers or {}), params=params
        ) as source:
            response = source.response
            if response.status_code >= 400:
                raise error_from_response(
                    response.status_code, response.headers, await response.aread()
                )
            async for event in source.aiter_sse():
                yield event
    except httpx.TimeoutException as exc:
        raise ProviderError(f"model stream stalled: {type(exc).__name__}", retryable=True) from exc
    except httpx.TransportError as exc:
        raise ProviderError(f"connection to the provider failed: {exc}", retryable=True) from exc


def parse_json(data: str) -> dict[str, Any] | None:
    """A chunk's JSON object, or None when the chunk is unreadable."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def chunk_error(error: Any) -> ProviderError:
    """An error reported inside a stream (retryable when the provider says it is overloaded)."""
    message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
    return ProviderError(f"provider error: {message}", retryable="overloaded" in message.lower())


class StreamParser(Protocol):
    """A vendor's stream events -> ModelEvents, one parser per model call."""

    def feed(self, kind: str, data: Mapping[str, Any]) -> list[model.ModelEvent]:
        """One event: its SSE event name (empty when unnamed) and its JSON data."""
        ...

    def finish(self) -> list[model.ModelEvent]:
        """The stream ended: close what is open (raises when it ended before finishing)."""
        ...


async def parse_stream(
    parser: StreamParser,
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
) -> AsyncIterator[model.ModelEvent]:
    """POST `body` and turn the answer's server-sent events into ModelEvents; a chunk that is
    not JSON becomes a warning, `[DONE]` ends the stream."""
    async for sse in stream_sse(client, url, body, headers, params):
        text = sse.data.strip()
        if text == "[DONE]":
            break
        data = parse_json(sse.data)
        if data is None:
            if text:
                yield model.ProviderWarning(f"skipped an unreadable stream chunk: {text[:120]!r}")
            continue
        for event in parser.feed(sse.event if sse.event != "message" else "", data):
            yield event
    for event in parser.finish():
        yield event
