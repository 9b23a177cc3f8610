"""Typed HTTP endpoints on Starlette: one declaration drives validation, errors, tracing and the
OpenAPI document, so what the service checks and what it documents cannot drift apart.

Every user mistake becomes a JSON answer `{"error": ..., "field": ...}`: 400 for malformed JSON or
path values, 413 for an oversize body, 422 for a body or query that does not fit its model, 404
for what does not exist. Handlers raise `ApiError` for their own refusals; anything else is a bug
and becomes a logged 500 without internals in the body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentops_services.api.model import describe_errors, field_errors
from agentops_services.telemetry import extract_context
from agentops_services.telemetry import span as span_context

LOG = logging.getLogger(__name__)
TRACER = trace.get_tracer("agentops.httpapi")
DEFAULT_MAX_BODY = 1024 * 1024
INT64_MAX = 2**63 - 1
JSON_MEDIA_TYPE = "application/json"


class ApiError(Exception):
    """A refusal the client can act on: an HTTP status, a message and the field at fault."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def error_response(status: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


@dataclass(frozen=True)
class Call:
    """What a handler receives: validated inputs and the request span for attributes."""

    request: Request
    path: Mapping[str, Any]
    query: Any
    body: Any
    span: trace.Span


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    """One operation of an HTTP API."""

    method: str
    path: str
    handler: Handler
    summary: str
    span_name: str | None = None
    """Name of the server span; no span when None (health probes)."""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    """Type of the success body (for the OpenAPI document); None for an empty body."""
    status: int = 200
    errors: tuple[int, ...] = ()
    path_types: Mapping[str, type] = field(default_factory=dict)
    """Path parameters that must parse as something other than a string (e.g. {"id": int})."""
    max_body: int = DEFAULT_MAX_BODY
    raw_body: bool = False
    """Hand the body bytes to the handler unparsed (e.g. JSON lines); `body`, if given, then
    only documents the JSON form."""
    text_media_type: str | None = None
    """Another media type the success body may come in (e.g. application/x-ndjson)."""
    optional_body: bool = False
    """An empty body is allowed (the handler gets None)."""

    def route(self) -> Route:
        return Route(self.path, self._asgi, methods=[self.method])

    async def _asgi(self, request: Request) -> Response:
        if self.span_name is None:
            return await self._respond(request, trace.INVALID_SPAN)
        with span_context(
            TRACER,
            self.span_name,
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": self.method, "url.path": request.scope["path"]},
            parent=extract_context(request.headers) if "traceparent" in request.headers else None,
        ) as span:
            response = await self._respond(request, span)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(trace.StatusCode.ERROR)
            return response

    async def _respond(self, request: Request, span: trace.Span) -> Response:
        started = time.perf_counter()
        try:
            call = Call(
                request=request,
                path=self._path_params(request),
                query=self._query(request),
                body=await self._body(request),
                span=span,
            )
            result = await self.handler(call)
        except ApiError as exc:
            span.set_attribute("error.type", _error_type(exc.status))
            return error_response(exc.status, exc.message, exc.field)
        except Exception:
            LOG.exception("%s %s failed", self.method, request.url.path)
            span.set_attribute("error.type", "error")
            return error_response(500, "internal error")
        finally:
            span.set_attribute("http.server.duration_ms", (time.perf_counter() - started) * 1000)
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status_code=204 if self.status == 200 else self.status)
        return Response(_dump(result), status_code=self.status, media_type=JSON_MEDIA_TYPE)

    def _path_params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.path_params)
        for name, kind in self.path_types.items():
            try:
                params[name] = kind(params[name])
            except ValueError:
                raise ApiError(400, f"{name} must be an integer", name) from None
            if kind is int and not -INT64_MAX <= params[name] <= INT64_MAX:
                raise ApiError(400, f"{name} is out of range", name)
        return params

    def _query(self, request: Request) -> Any:
        if self.query is None:
            return None
        try:
            return self.query.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise _validation_error(exc) from None

    async def _body(self, request: Request) -> Any:
        if self.body is None and not self.raw_body:
            return None
        declared = request.headers.get("content-length")
        if declared and declared.isdigit():
            if int(declared) > self.max_body:
                raise ApiError(413, f"request body larger than {self.max_body} bytes")
            raw = await request.body()  # the server stops at Content-Length
        else:  # chunked: count as it arrives
            received = bytearray()
            async for chunk in request.stream():
                received.extend(chunk)
                if len(received) > self.max_body:
                    raise ApiError(413, f"request body larger than {self.max_body} bytes")
            raw = bytes(received)
        if self.raw_body:
            return bytes(raw)
        if self.optional_body and not raw.strip():
            return None
        assert self.body is not None
        try:
            return self.body.model_validate_json(raw or b"null")
        except ValidationError as exc:
            raise _validation_error(exc) from None


def _validation_error(exc: ValidationError) -> ApiError:
    """422 naming every problem, with the first field at fault as `field` (400 for bad JSON)."""
    errors = exc.errors()
    if errors and errors[0]["type"] == "json_invalid":
        return ApiError(400, f"invalid JSON: {errors[0]['ctx'].get('error', errors[0]['msg'])}")
    problems = field_errors(exc)
    first_field = next((where for where, _ in problems if where), None)
    return ApiError(422, describe_errors(exc), first_field)


def _error_type(status: int) -> str:
    return {404: "not_found", 413: "invalid_input", 422: "validation_error"}.get(
        status, "invalid_input" if status < 500 else "error"
    )


_ANY_ADAPTER: TypeAdapter[Any] = TypeAdapter(Any)


def _dump(result: Any) -> bytes:
    if isinstance(result, BaseModel):
        return result.model_dump_json(exclude_none=True).encode()
    if isinstance(result, list) and result and isinstance(result[0], BaseModel):
        return (
            b"[" + b",".join(r.model_dump_json(exclude_none=True).encode() for r in result) + b"]"
        )
    return _ANY_ADAPTER.dump_json(result)
