"""Tempo's query API on loopback, answering with recorded responses (tests/service/data/tempo).

It speaks Tempo's wire format: `/api/search` answers the recorded search whatever the query
(and keeps the parameters it was asked with, for the tests to check); `/api/v2/traces/<id>`
answers a recorded trace, or 404 `trace not found` as plain text; `/api/traces/<id>` (v1) the
same trace as `{"batches": [...]}`. `has_v2=False` is a Tempo before 2.5, whose v2 paths are
Go's `404 page not found`. Traces come in protobuf to a client that accepts it, as Tempo
sends them (`protobuf=False`: a Tempo, proxy or store that only speaks JSON). `answers` forces a status and body on a path (a 500, a 400 for bad
TraceQL, the API server's JSON Status), and a path in `stalled` never answers until the test
ends, for deadlines.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from agentops_services.httpapi.serving import serve_in_background
from agentops_tui.services.traces.proto import TraceByIDResponse

PROTOBUF = "application/protobuf"

RECORDINGS = Path(__file__).resolve().parent.parent / "service" / "data" / "tempo"


def recording(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((RECORDINGS / name).read_text())
    return document


def as_protobuf(v2: dict[str, Any], *, v2_envelope: bool = True) -> bytes:
    """A v2 body as Tempo's protobuf: the TraceByIDResponse, or v1's bare Trace."""
    if v2_envelope:
        message: Message = json_format.ParseDict(
            v2, TraceByIDResponse(), ignore_unknown_fields=True
        )
    else:
        message = json_format.ParseDict(v2["trace"], TracesData(), ignore_unknown_fields=True)
    return message.SerializeToString()


def recorded_trace_id(v2: dict[str, Any]) -> str:
    """The hex id of a recorded v2 trace (its spans carry it base64, as Tempo sends it)."""
    span = v2["trace"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    return base64.b64decode(span["traceId"]).hex()


@dataclass
class FakeTempo:
    traces: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Hex trace id -> its `/api/v2/traces/<id>` body."""
    search: dict[str, Any] = field(default_factory=lambda: recording("search.json"))
    has_v2: bool = True
    protobuf: bool = True
    answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    stalled: set[str] = field(default_factory=set)
    asked: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    """(path, query parameters) of every request, in order."""
    sent: list[str] = field(default_factory=list)
    """The media type of every trace answered."""
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, name: str) -> str:
        """Serve a recorded v2 trace; its id."""
        v2 = recording(name)
        trace_id = recorded_trace_id(v2)
        self.traces[trace_id] = v2
        return trace_id

    async def _answer(self, request: Request) -> Response:
        path = request.url.path
        self.asked.append((path, dict(request.query_params)))
        if path in self.stalled:
            await self.release.wait()
        if path in self.answers:
            status, body = self.answers[path]
            media = "application/json" if body.startswith("{") else "text/plain"
            return Response(body, status, media_type=media)
        if path == "/api/search":
            return JSONResponse(self.search)
        version, trace_id = ("v2", path.removeprefix("/api/v2/traces/"))
        if trace_id == path:
            version, trace_id = ("v1", path.removeprefix("/api/traces/"))
        if version == "v2" and not self.has_v2:
            return PlainTextResponse("404 page not found\n", 404)
        trace = self.traces.get(trace_id.lower().rjust(32, "0"))
        if trace is None:
            return PlainTextResponse("trace not found", 404)
        if self.protobuf and PROTOBUF in request.headers.get("accept", ""):
            self.sent.append(PROTOBUF)
            return Response(as_protobuf(trace, v2_envelope=version == "v2"), media_type=PROTOBUF)
        self.sent.append("application/json")
        if version == "v1":
            return JSONResponse({"batches": trace["trace"]["resourceSpans"]})
        return JSONResponse(trace)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/search", self._answer),
                Route("/api/v2/traces/{trace_id}", self._answer),
                Route("/api/traces/{trace_id}", self._answer),
            ]
        )


@asynccontextmanager
async def serving(tempo: FakeTempo) -> AsyncIterator[str]:
    """The fake on a free loopback port: its base URL."""
    async with serve_in_background(tempo.app()) as server:
        try:
            yield server.url
        finally:
            tempo.release.set()  # a stalled request ends, so the server can stop at once
