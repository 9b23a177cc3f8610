"""The trace store's HTTP routes: the OTLP/HTTP receiver and Tempo's query API.

`POST /v1/traces` answers as the OTLP/HTTP specification says: 200 with an
ExportTraceServiceResponse in the request's encoding (its partial success naming spans it
refused), 400 with a google.rpc.Status naming what is malformed, 413 over the size cap, 415
for a media type or content encoding it does not take, and 503 with Retry-After when too many
exports are already in progress (exporters retry 503).

The query routes answer as Tempo does, so Tempo's clients, the console first, read them as
they are: JSON on success (a trace in protobuf to a client that prefers it); on a mistake, a
400 whose body is one line of text naming the parameter (`invalid limit ...`) or the place in
the TraceQL query, which is how Tempo answers and what its clients show; `trace not found`
with 404.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from agentops_services import __version__
from agentops_services.traces import query_params
from agentops_services.traces.otlp_ingest import (
    Encoding,
    OtlpError,
    decode,
    decompress,
    encoding_of,
    response_body,
    status_body,
)
from agentops_services.traces.otlp_records import Batch, records
from agentops_services.traces.query_params import ParamError
from agentops_services.traces.store import TraceStore
from agentops_services.traces.trace_answer import (
    PROTOBUF,
    json_answer,
    prefers_protobuf,
    protobuf_answer,
)
from agentops_services.traces.traceql import (
    INTRINSIC_TYPES,
    Attribute,
    Condition,
    QueryError,
    SpansetFilter,
    parse,
    parse_field,
)

LOG = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 32 * 1024 * 1024
"""An export's body, compressed or not: several SDK batches of large spans fit."""
MAX_PENDING_EXPORTS = 8
"""Exports decoded or written at once; more are told to retry (bounds memory to about this
many request bodies)."""
SEARCH_TIMEOUT = 10.0
"""Seconds a search may take; the console waits 15 for an answer."""
JSON = "application/json"
_SCOPES = ("resource", "span", "intrinsic")


def _json(document: Any) -> Response:
    return Response(json.dumps(document, separators=(",", ":")).encode(), media_type=JSON)


def _refusal(message: str, status: int = 400) -> Response:
    return PlainTextResponse(message.splitlines()[0] + "\n", status)


def _refusing_mistakes(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A query handler whose parameter and TraceQL mistakes become one-line 400s."""

    async def handle(request: Request) -> Response:
        try:
            return await handler(request)
        except (ParamError, QueryError) as exc:
            return _refusal(str(exc))

    return handle


class TraceApi:
    """The handlers, bound to one store."""

    def __init__(
        self,
        store: TraceStore,
        *,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        max_pending_exports: int = MAX_PENDING_EXPORTS,
        search_timeout: float = SEARCH_TIMEOUT,
    ) -> None:
        self.store = store
        self.max_request_bytes = max_request_bytes
        self.max_pending_exports = max_pending_exports
        self.search_timeout = search_timeout
        self._pending = 0

    def routes(self) -> list[Route]:
        query = _refusing_mistakes
        return [
            Route("/v1/traces", self.export, methods=["POST"]),
            Route("/api/search", query(self.search), methods=["GET"]),
            Route("/api/v2/traces/{trace_id}", query(self.trace_v2), methods=["GET"]),
            Route("/api/traces/{trace_id}", query(self.trace_v1), methods=["GET"]),
            Route("/api/search/tags", query(self.tags_v1), methods=["GET"]),
            Route("/api/v2/search/tags", query(self.tags_v2), methods=["GET"]),
            Route("/api/search/tag/{name}/values", query(self.values_v1), methods=["GET"]),
            Route("/api/v2/search/tag/{name}/values", query(self.values_v2), methods=["GET"]),
            Route("/api/echo", self.echo, methods=["GET"]),
            Route("/ready", self.ready, methods=["GET"]),
            Route("/api/status/buildinfo", self.buildinfo, methods=["GET"]),
        ]

    # --- OTLP receiver -----------------------------------------------------------------

    async def export(self, request: Request) -> Response:
        encoding = Encoding.JSON
        try:
            encoding = encoding_of(request.headers.get("content-type"))
            if self._pending >= self.max_pending_exports:
                return Response(
                    status_body("the trace store is busy; retry", encoding),
                    503,
                    headers={"Retry-After": "1"},
                    media_type=encoding.value,
                )
            self._pending += 1
            try:
                body = await self._body(request)
                batch = await asyncio.to_thread(
                    self._batch, body, request.headers.get("content-encoding"), encoding
                )
                written = await self.store.write(batch)
            finally:
                self._pending -= 1
        except OtlpError as exc:
            body = status_body(exc.message, encoding)
            return Response(body, exc.status, media_type=encoding.value)
        except sqlite3.Error as exc:
            LOG.exception("storing spans failed")
            return Response(
                status_body(f"the trace store could not write: {exc}", encoding),
                503,
                headers={"Retry-After": "5"},
                media_type=encoding.value,
            )
        body = response_body(written.rejected, written.problem, encoding)
        return Response(body, 200, media_type=encoding.value)

    def _batch(self, body: bytes, content_encoding: str | None, encoding: Encoding) -> Batch:
        """Decompress, decode and convert (CPU work, run off the event loop)."""
        plain = decompress(body, content_encoding, self.max_request_bytes)
        return records(decode(plain, encoding))

    async def _body(self, request: Request) -> bytes:
        limit = self.max_request_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise OtlpError(413, f"request body larger than {limit} bytes")
        received = bytearray()
        async for chunk in request.stream():
            received += chunk
            if len(received) > limit:
                raise OtlpError(413, f"request body larger than {limit} bytes")
        return bytes(received)

    # --- Tempo's query API ---------------------------------------------------------------

    async def search(self, request: Request) -> Response:
        wanted = query_params.search_request(request.query_params, self.search_timeout)
        return _json(await self.store.search(wanted))

    async def _trace(self, request: Request, *, v2: bool) -> Response:
        wanted = query_params.trace_id(request.path_params["trace_id"])
        protobuf = prefers_protobuf(request.headers.get("accept"))
        found = await self.store.trace(wanted, protobuf=protobuf)
        if found is None:
            return PlainTextResponse("trace not found\n", 404)
        message = (
            f"Trace exceeds maximum size of {self.store.retention.max_trace_bytes} bytes, "
            "a partial trace is returned"
        )
        if protobuf:
            body = protobuf_answer(found, v2=v2, partial_message=message)
            return Response(body, media_type=PROTOBUF)
        return Response(json_answer(found, v2=v2, partial_message=message), media_type=JSON)

    async def trace_v2(self, request: Request) -> Response:
        return await self._trace(request, v2=True)

    async def trace_v1(self, request: Request) -> Response:
        return await self._trace(request, v2=False)

    async def _tags(self, request: Request) -> dict[str, list[str]]:
        scope = request.query_params.get("scope", "").strip()
        if scope and scope not in (*_SCOPES, "all"):
            raise ParamError(f"invalid scope {scope[:40]!r}: use resource, span or intrinsic")
        found: dict[str, list[str]] = {}
        for name in _SCOPES:
            if scope in ("", "all", name):
                found[name] = (
                    sorted(INTRINSIC_TYPES)
                    if name == "intrinsic"
                    else await self.store.tag_names(name)  # type: ignore[arg-type]
                )
        return found

    async def tags_v1(self, request: Request) -> Response:
        scopes = await self._tags(request)
        names = sorted({name for scope, names in scopes.items() for name in names
                        if scope != "intrinsic"})  # fmt: skip
        return _json({"tagNames": names})

    async def tags_v2(self, request: Request) -> Response:
        scopes = await self._tags(request)
        return _json({"scopes": [{"name": name, "tags": tags} for name, tags in scopes.items()]})

    async def values_v1(self, request: Request) -> Response:
        name = request.path_params["name"]
        values = await self.store.tag_values(Attribute("any", name), None)
        return _json({"tagValues": sorted({value for _, value in values})})

    async def values_v2(self, request: Request) -> Response:
        field = parse_field(request.path_params["name"])
        condition: Condition | None = None
        text = request.query_params.get("q", "")
        if text.strip():
            spansets = parse(text).spansets
            if not isinstance(spansets, SpansetFilter):
                raise ParamError("invalid q: tag values take one spanset filter, { ... }")
            condition = spansets.condition
        values = await self.store.tag_values(field, condition)
        return _json({"tagValues": [{"type": kind, "value": value} for kind, value in values]})

    # --- health --------------------------------------------------------------------------

    async def echo(self, _: Request) -> Response:
        return PlainTextResponse("echo")

    async def ready(self, _: Request) -> Response:
        try:
            await self.store.ping()
        except (sqlite3.Error, RuntimeError) as exc:
            return PlainTextResponse(f"not ready: {exc}\n", 503)
        return PlainTextResponse("ready")

    async def buildinfo(self, _: Request) -> Response:
        return _json({"version": __version__, "revision": "", "branch": "", "goVersion": ""})
