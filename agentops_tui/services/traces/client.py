"""Tempo's HTTP API as two typed calls: find traces, and load one as a waterfall.

Over any httpx client whose base URL reaches Tempo (a URL, a port-forward, the API server's
service proxy: see backends/service_access). Every request has a deadline and a capped body,
and every failure is a TempoError whose message is one line for people:
TempoUnavailableError (no answer, 5xx), TempoQueryError (Tempo refused the TraceQL) and
TraceNotFoundError.

A trace is read from `/api/v2/traces/<id>`, which says when Tempo returned only part of it.
Tempo before 2.5 has no such route and answers 404, the same as for a missing trace, so a 404
there is asked again of `/api/traces/<id>`, whose 404 settles it.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import ValidationError

from agentops_tui.services.traces.otlp import (
    TraceFormatError,
    gc_paused,
    is_partial,
    parse_v1,
    parse_v2,
)
from agentops_tui.services.traces.proto import ACCEPT, PROTOBUF_TYPES, waterfall_from_protobuf
from agentops_tui.services.traces.search import SearchResponse, TraceSummary
from agentops_tui.services.traces.traceql import build_query
from agentops_tui.services.traces.tree import Waterfall, build

TIMEOUT = 15.0
"""Seconds per request, as the web console's backend gave Tempo."""
MAX_TRACE_BYTES = 64 * 1024 * 1024
"""A trace's JSON; Tempo's own default limit on a trace is 50 MB of protobuf."""
MAX_SEARCH_BYTES = 8 * 1024 * 1024
MAX_LIMIT = 1_000
DEFAULT_LIMIT = 50
DEFAULT_SINCE = timedelta(hours=1)
SPANS_PER_SET = 3
"""Matched spans Tempo returns per trace (its default): enough to carry the agent's name."""
_TRACE_ID = re.compile(r"[0-9a-f]{1,32}")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    media_type: str
    body: bytes

    @property
    def protobuf(self) -> bool:
        return self.media_type in PROTOBUF_TYPES


class TempoError(Exception):
    """Tempo did not give what was asked; the message is one line for people."""


class TempoUnavailableError(TempoError):
    """No answer (connection refused, timeout) or a server-side failure."""


class TempoQueryError(TempoError):
    """Tempo refused the request, most likely the TraceQL."""


class TraceNotFoundError(TempoError):
    pass


def checked_trace_id(text: str) -> str:
    """A trace id as 32 lower-case hex digits (shorter ones are zero-padded, as Tempo does);
    ValueError for anything else."""
    wanted = text.strip().lower()
    if not _TRACE_ID.fullmatch(wanted):
        raise ValueError(f"not a trace id: {text!r} (up to 32 hex digits)")
    return wanted.rjust(32, "0")


def _size(limit: int) -> str:
    return f"{limit / 2**20:g} MiB" if limit >= 2**20 else f"{limit:,} bytes"


def _first_line(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text.splitlines()[0][:200] if text else "(no body)"


def _kube_status(body: bytes) -> str | None:
    """The message of a Kubernetes Status, which the API server's service proxy answers with
    when it cannot reach the Service (so its 404 is not Tempo's 'trace not found')."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, dict) and document.get("kind") == "Status":
        return str(document.get("message") or document.get("reason") or "no reason given")
    return None


class TempoClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        timeout: float = TIMEOUT,
        max_trace_bytes: int = MAX_TRACE_BYTES,
    ) -> None:
        self.http = http
        self.timeout = timeout
        self.max_trace_bytes = max_trace_bytes

    @property
    def where(self) -> str:
        return str(self.http.base_url).rstrip("/") or "Tempo"

    async def search(
        self,
        *,
        agent: str | None = None,
        since: timedelta = DEFAULT_SINCE,
        until: datetime | None = None,
        min_duration: timedelta | None = None,
        errors_only: bool = False,
        traceql: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[TraceSummary]:
        """Traces that started in the `since` before `until` (now), newest first.

        `traceql` is a query of one's own, which replaces the filters (giving both is a
        ValueError rather than one silently winning). Tempo returns the first `limit` traces
        its parallel search finds, so the same query can answer differently."""
        if traceql and (agent or errors_only or min_duration is not None):
            raise ValueError("a TraceQL query replaces the agent, error and duration filters")
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1 to {MAX_LIMIT}, not {limit}")
        end = until or datetime.now(UTC)
        query = traceql or build_query(
            agent=agent, errors_only=errors_only, min_duration=min_duration
        )
        params: dict[str, str | int] = {
            "q": query,
            "start": math.floor((end - since).timestamp()),
            "end": math.ceil(end.timestamp()),
            "limit": limit,
            "spss": SPANS_PER_SET,
        }
        answer = await self._get("/api/search", params, MAX_SEARCH_BYTES)
        if answer.status != 200:
            raise self._failure(answer.status, answer.body)
        try:
            found = SearchResponse.model_validate_json(answer.body)
        except ValidationError as exc:
            raise TempoError(
                f"Tempo's search answer is not a search result: {exc.errors()[0]['msg']}"
            ) from None
        return sorted(found.traces, key=lambda t: (-t.start_time_unix_nano, t.trace_id))

    async def trace(self, trace_id: str) -> Waterfall:
        """The trace as a waterfall; ValueError for a malformed id, TraceNotFoundError when
        Tempo has no such trace. It is asked for in protobuf (see traces/proto), and read from
        JSON when that is what comes back. Decoding and building run in a thread (a
        10,000-span trace takes a sixth of a second), so the event loop keeps drawing."""
        wanted = checked_trace_id(trace_id)
        answer = await self._get(f"/api/v2/traces/{wanted}", {}, self.max_trace_bytes, ACCEPT)
        v2 = True
        if answer.status == 404 and _kube_status(answer.body) is None:
            v2 = False
            answer = await self._get(f"/api/traces/{wanted}", {}, self.max_trace_bytes, ACCEPT)
            if answer.status == 404 and _kube_status(answer.body) is None:
                raise TraceNotFoundError(f"trace {wanted} is not in Tempo at {self.where}")
        if answer.status != 200:
            raise self._failure(answer.status, answer.body)
        decode = waterfall_from_protobuf if answer.protobuf else waterfall_from_json
        try:
            waterfall = await asyncio.to_thread(decode, answer.body, v2=v2)
        except TraceFormatError as exc:
            raise TempoError(f"Tempo's answer for trace {wanted} is not a trace: {exc}") from None
        if not waterfall.spans:
            raise TraceNotFoundError(f"trace {wanted} is not in Tempo at {self.where}")
        return waterfall

    async def _get(
        self, path: str, params: dict[str, str | int], limit: int, accept: str = "application/json"
    ) -> Answer:
        """Status, type and body (at most `limit` bytes) of a GET, within the deadline."""
        try:
            async with (
                asyncio.timeout(self.timeout),
                self.http.stream(
                    "GET",
                    path,
                    params=params,
                    headers={"Accept": accept},
                    timeout=self.timeout,
                ) as response,
            ):
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise TempoError(f"Tempo's answer to {path} is larger than {_size(limit)}")
                media_type = response.headers.get("content-type", "").split(";")[0].strip()
                return Answer(response.status_code, media_type, bytes(body))
        except (TimeoutError, httpx.TimeoutException):
            raise TempoUnavailableError(
                f"Tempo at {self.where} did not answer within {self.timeout:g} s"
            ) from None
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise TempoUnavailableError(
                f"Tempo at {self.where} is not reachable: {reason}"
            ) from None

    def _failure(self, status: int, body: bytes) -> TempoError:
        proxy = _kube_status(body)
        if proxy is not None:
            return TempoUnavailableError(f"the API server cannot reach Tempo: {proxy}")
        text = _first_line(body)
        if status == 400:
            return TempoQueryError(f"Tempo refused the query: {text}")
        if status >= 500 or status == 429:
            return TempoUnavailableError(f"Tempo at {self.where} answered {status}: {text}")
        return TempoError(f"Tempo at {self.where} answered {status}: {text}")


def waterfall_from_json(body: bytes, *, v2: bool = True) -> Waterfall:
    """A trace-by-id body (v2, or v1 with `v2=False`) as a waterfall. The collector stays off
    from the first byte parsed to the last span placed: re-enabled in between, it would scan
    every object the parse made before the build starts."""
    with gc_paused():
        if not v2:
            return build(parse_v1(body))
        response = parse_v2(body)
        partial = ""
        if is_partial(response):
            partial = response.get("message") or "Tempo returned part of the trace"
        return build(response.get("trace", {}), tempo_partial=partial)
