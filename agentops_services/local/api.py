"""The platform API: how consoles (and `agentops chat`) reach the embedded platform.

In a cluster the console reads and watches custom resources through the API server; on one
machine it does the same here, over HTTP on loopback, with objects shaped exactly as the API
server shapes them:

- `GET /api/v1/{kind}`: the list and the store's resourceVersion;
- `GET /api/v1/watch?since=RV`: every change after RV as server-sent events (`id:` is the
  change's resourceVersion, `event:` ADDED/MODIFIED/DELETED, `data:` the object), comment
  heartbeats, and a final `resync` event when the watcher fell behind (list again);
- `PUT /api/v1/{kind}/{name}`: YAML or JSON through the resource folder's write-back, 422
  with every problem (line, field, message) when invalid, 409 when the body's
  resourceVersion is stale;
- `DELETE /api/v1/{kind}/{name}`, `POST /api/v1/agentruns` ({agent, prompt}, named like the
  API server names a `generateName` run), `GET /api/v1/problems`, `GET /healthz`.

Errors are the house's JSON (`{"error", "field"}`); served behind `LoopbackGuard`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from agentops_services import __version__
from agentops_services.api.v1alpha1 import API_VERSION, KINDS
from agentops_services.api.validation import validate_resource
from agentops_services.httpapi.endpoints import ApiError, Call, Endpoint
from agentops_services.httpapi.openapi import openapi_document
from agentops_services.local.errors import (
    ConflictError,
    InvalidManifestError,
    PlatformError,
    ResyncRequiredError,
)
from agentops_services.local.folder import ResourceFolder
from agentops_services.local.guard import LoopbackGuard
from agentops_services.local.kinds import Object, kind_of
from agentops_services.local.objects import API_SOURCE, ObjectStore, Watch, WatchEvent
from agentops_services.local.runs import console_run
from agentops_services.local.wire import (
    Health,
    InvalidBody,
    ObjectList,
    ProblemList,
    Resync,
    RunCreate,
)

HEARTBEAT_SECONDS = 15.0
HEARTBEAT = b": heartbeat\n\n"
MAX_RESOURCE_BYTES = 1024 * 1024
NAME_ATTEMPTS = 8
"""Generated run names tried before giving up (27^5 names: a clash is already rare)."""
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class WatchQuery(BaseModel):
    since: int | None = Field(None, ge=0)
    """Send the changes after this resourceVersion (default: from now; also Last-Event-ID)."""


class DeleteQuery(BaseModel):
    resource_version: str | None = Field(None, alias="resourceVersion")
    """Delete only if the object is still at this resourceVersion (409 otherwise)."""


Handler = Callable[[Call], Awaitable[Any]]


def _refusals(handler: Handler) -> Handler:
    """The platform's refusals as HTTP answers: invalid resources with all their problems,
    the rest as the house's error JSON with their status."""

    async def answer(call: Call) -> Any:
        try:
            return await handler(call)
        except InvalidManifestError as exc:
            body = InvalidBody(error=exc.message, field=exc.field, problems=exc.problems)
            return Response(body.model_dump_json(), 422, media_type="application/json")
        except PlatformError as exc:
            raise ApiError(exc.status, exc.message, exc.field) from None

    return answer


class PlatformApi:
    """Handlers over one store and its resource folder."""

    def __init__(
        self, store: ObjectStore, folder: ResourceFolder, heartbeat: float = HEARTBEAT_SECONDS
    ) -> None:
        self.store = store
        self.folder = folder
        self.heartbeat = heartbeat
        self._watches: set[Watch] = set()

    def close(self) -> None:
        """End every watch stream (the platform stops)."""
        for watch in list(self._watches):
            watch.close()

    async def list_objects(self, call: Call) -> Object:
        """As `ObjectList`, built as a dict so the objects go out exactly as stored."""
        kind = _kind(call)
        return {
            "apiVersion": API_VERSION,
            "kind": f"{kind}List",
            "metadata": {"resourceVersion": str(self.store.resource_version)},
            "items": self.store.list(kind),
        }

    async def get_object(self, call: Call) -> Object:
        kind, name = _kind(call), call.path["name"]
        obj = self.store.get(kind, name)
        if obj is None:
            raise ApiError(404, f"{kind} {name!r} not found", "name")
        return obj

    async def put_object(self, call: Call) -> Response:
        kind, name = _kind(call), call.path["name"]
        try:
            text = call.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "the body is not UTF-8 text") from None
        existed = self.store.get(kind, name) is not None
        saved = await self.folder.save(text, key=(kind, name))
        return JSONResponse(saved, status_code=200 if existed else 201)

    async def delete_object(self, call: Call) -> Object:
        query: DeleteQuery = call.query
        return await self.folder.delete(
            _kind(call), call.path["name"], expected_version=query.resource_version
        )

    async def create_run(self, call: Call) -> Object:
        body: RunCreate = call.body
        if self.store.get("Agent", body.agent) is None:
            raise ApiError(422, f"no Agent named {body.agent!r}", "agent")
        for _ in range(NAME_ATTEMPTS):
            run = console_run(body.agent, body.prompt)
            errors = validate_resource(run).errors
            if errors:
                raise ApiError(422, str(errors[0]), errors[0].field)
            with contextlib.suppress(ConflictError):
                return await self.store.create(run, source=API_SOURCE)
        raise ApiError(409, "no free run name found: try again", "agent")

    async def problems(self, _: Call) -> ProblemList:
        return ProblemList(folder=str(self.folder.path), problems=self.folder.problems())

    async def healthz(self, _: Call) -> Health:
        return Health(status="ok", resource_version=str(self.store.resource_version))

    async def watch(self, call: Call) -> Response:
        since = call.query.since
        if since is None:
            since = _last_event_id(call.request)
        watch = self.store.watch(since)  # registered now: nothing after `since` is missed
        return StreamingResponse(
            self._stream(watch), media_type="text/event-stream", headers=SSE_HEADERS
        )

    async def _stream(self, watch: Watch) -> AsyncIterator[bytes]:
        self._watches.add(watch)
        try:
            while True:
                try:
                    async with asyncio.timeout(self.heartbeat):
                        event = await anext(watch)
                except TimeoutError:
                    yield HEARTBEAT
                    continue
                except StopAsyncIteration:
                    return
                except ResyncRequiredError as exc:
                    yield _resync_frame(exc)
                    return
                yield _event_frame(event)
        finally:
            watch.close()
            self._watches.discard(watch)

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("GET", "/healthz", self.healthz, "Liveness and the store's version",
                     response=Health),
            Endpoint("GET", "/api/v1/problems", self.problems,
                     "The resource folder's problems, by file and line", response=ProblemList),
            Endpoint("GET", "/api/v1/watch", self.watch,
                     "Every change after a resourceVersion (SSE); ends with `resync` when "
                     "the watcher fell behind", "GET watch", query=WatchQuery, errors=(422,),
                     text_media_type="text/event-stream"),
            Endpoint("POST", "/api/v1/agentruns", _refusals(self.create_run),
                     "Start an AgentRun of an Agent (source console)", "POST agentruns",
                     body=RunCreate, response=dict[str, Any], status=201, errors=(409, 422)),
            Endpoint("GET", "/api/v1/{kind}", _refusals(self.list_objects),
                     "Every object of a kind", response=ObjectList, errors=(404,)),
            Endpoint("GET", "/api/v1/{kind}/{name}", _refusals(self.get_object), "One object",
                     response=dict[str, Any], errors=(404,)),
            Endpoint("PUT", "/api/v1/{kind}/{name}", _refusals(self.put_object),
                     "Create or replace an object from YAML or JSON (written to its file)",
                     "PUT object", response=dict[str, Any], raw_body=True,
                     max_body=MAX_RESOURCE_BYTES, errors=(400, 409, 413, 422)),
            Endpoint("DELETE", "/api/v1/{kind}/{name}", _refusals(self.delete_object),
                     "Delete an object (its document leaves its file)", "DELETE object",
                     query=DeleteQuery, response=dict[str, Any], errors=(404, 409)),
        ]  # fmt: skip


def _kind(call: Call) -> str:
    segment = call.path["kind"]
    kind = kind_of(segment)
    if kind is None:
        supported = ", ".join(KINDS[k].crd.plural for k in KINDS)
        raise ApiError(404, f"no kind {segment!r}: one of {supported}", "kind")
    return kind


def _last_event_id(request: Request) -> int | None:
    value = request.headers.get("last-event-id", "")
    return int(value) if value.isdigit() else None


def _event_frame(event: WatchEvent) -> bytes:
    data = json.dumps(event.object, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event.resource_version}\nevent: {event.type}\ndata: {data}\n\n".encode()


def _resync_frame(exc: ResyncRequiredError) -> bytes:
    data = Resync(resource_version=str(exc.resource_version), message=str(exc))
    return f"event: resync\ndata: {data.model_dump_json()}\n\n".encode()


def create_app(
    store: ObjectStore, folder: ResourceFolder, *, heartbeat: float = HEARTBEAT_SECONDS
) -> Starlette:
    """The ASGI app. The store and the folder belong to the caller (the supervisor uses them
    too); closing the app ends the watch streams."""
    api = PlatformApi(store, folder, heartbeat)
    endpoints = api.endpoints()
    document = openapi_document(
        "AgentOps embedded platform",
        __version__,
        endpoints,
        "The resources of the embedded platform, shaped as the Kubernetes API server shapes "
        "them: list, watch, apply, delete, start runs, the resource folder's problems.",
    )

    async def openapi(_: Request) -> JSONResponse:
        return JSONResponse(document)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            api.close()

    routes: list[BaseRoute] = [e.route() for e in endpoints]
    routes.append(Route("/openapi.json", openapi, methods=["GET"]))
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(LoopbackGuard)])
