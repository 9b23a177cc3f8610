"""A client of the platform API, for the console's local backend and `agentops chat`.

Typed calls answer with the objects as the API server would send them and raise the
platform's own refusals (`NotFoundError`, `ConflictError`, `InvalidManifestError` with every
problem, ...), so a caller handles a refusal the same whether it was made in-process or over
HTTP; a platform that does not answer is `UnreachableError`.

`watch()` is what an informer does against an API server: list every kind, then follow the
changes; after a dropped connection it resumes from the last resourceVersion it delivered
(nothing lost, nothing repeated), and when told to resync it lists again and delivers the
difference. A `Synced` marker follows every (re)listing, so a cache knows when it is whole.

`follow_log()` does the same for a runtime's log (`GET /api/v1/logs/...`, see `log_stream`):
after a drop it asks again from the last line it delivered, in the file that line was in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource, aconnect_sse

from agentops_services.api.v1alpha1 import KINDS
from agentops_services.kube.podlogs import LogEvent, LogLine, LogStatus
from agentops_services.local.errors import (
    ConflictError,
    FileProblem,
    InvalidManifestError,
    InvalidObjectError,
    NotFoundError,
    PlatformError,
    ResyncRequiredError,
    UnreachableError,
)
from agentops_services.local.kinds import Key, Object, key_of, plural_of
from agentops_services.local.objects import EventType, WatchEvent
from agentops_services.local.wire import Health, ObjectList, ProblemList, Resync

TIMEOUT = 10.0
WATCH_READ_TIMEOUT = 45.0
"""Three heartbeats: a watch silent for longer is taken as dropped and resumed."""
FIRST_BACKOFF = 0.1
MAX_BACKOFF = 5.0
EVENT_TYPES: frozenset[str] = frozenset({"ADDED", "MODIFIED", "DELETED"})
_REFUSALS: dict[int, type[PlatformError]] = {
    404: NotFoundError,
    409: ConflictError,
    422: InvalidObjectError,
}


@dataclass(frozen=True)
class Synced:
    """Everything up to `resource_version` has been delivered: a cache built from the events
    so far is whole."""

    resource_version: int


class PlatformClient:
    """The platform API at `base_url`; use with `async with` or close()."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = TIMEOUT,
        watch_read_timeout: float = WATCH_READ_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.watch_read_timeout = watch_read_timeout
        self._timeout = timeout
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> PlatformClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- calls -----------------------------------------------------------------------

    async def health(self) -> Health:
        return Health.model_validate(await self._call("GET", "/healthz"))

    async def list(self, kind: str) -> ObjectList:
        """Every object of the kind and the version to watch from."""
        return ObjectList.model_validate(await self._call("GET", f"/api/v1/{plural_of(kind)}"))

    async def get(self, kind: str, name: str) -> Object:
        return await self._object("GET", kind, name)

    async def put(self, kind: str, name: str, resource: str | Mapping[str, Any]) -> Object:
        """Create or replace the object from YAML text or data; give
        `metadata.resourceVersion` to replace only what you read (ConflictError otherwise)."""
        if isinstance(resource, str):
            content, media = resource.encode(), "application/yaml"
        else:
            content, media = json.dumps(resource).encode(), "application/json"
        return await self._object(
            "PUT", kind, name, content=content, headers={"content-type": media}
        )

    async def delete(self, kind: str, name: str, *, resource_version: str | None = None) -> Object:
        """Delete the object; its last state."""
        params = {"resourceVersion": resource_version} if resource_version else None
        return await self._object("DELETE", kind, name, params=params)

    async def create_run(self, agent: str, prompt: str) -> Object:
        """Start an AgentRun of `agent`; the created run (its name was generated)."""
        created: Object = await self._call(
            "POST", "/api/v1/agentruns", json={"agent": agent, "prompt": prompt}
        )
        return created

    async def problems(self) -> ProblemList:
        return ProblemList.model_validate(await self._call("GET", "/api/v1/problems"))

    async def _object(self, method: str, kind: str, name: str, **kwargs: Any) -> Object:
        obj: Object = await self._call(method, f"/api/v1/{plural_of(kind)}/{name}", **kwargs)
        return obj

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        _raise_refusal(response)
        return response.json()

    def _unreachable(self, exc: Exception) -> UnreachableError:
        return UnreachableError(f"cannot reach the platform at {self.base_url}: {exc!r}")

    # --- watching --------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _stream(
        self, path: str, params: Mapping[str, Any] | None
    ) -> AsyncIterator[EventSource]:
        """An SSE stream at `path`, taken as dropped when silent past `watch_read_timeout`;
        the platform's refusal raised when it answers with one."""
        timeout = httpx.Timeout(self._timeout, read=self.watch_read_timeout)
        async with aconnect_sse(self._http, "GET", path, params=params, timeout=timeout) as source:
            if not source.response.is_success:
                await source.response.aread()
                _raise_refusal(source.response)
            yield source

    async def events(self, since: int | None = None) -> AsyncGenerator[WatchEvent, None]:
        """One watch connection: the changes after `since` (None: from now), until the
        server ends it. Raises ResyncRequiredError when told to list again, UnreachableError
        when the connection fails or stays silent past `watch_read_timeout`."""
        params = {"since": since} if since is not None else None
        try:
            async with self._stream("/api/v1/watch", params) as source:
                async for sse in source.aiter_sse():
                    if sse.event == "resync":
                        resync = Resync.model_validate_json(sse.data)
                        raise ResyncRequiredError(int(resync.resource_version))
                    if sse.event in EVENT_TYPES:
                        yield WatchEvent(_event_type(sse.event), json.loads(sse.data))
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None

    async def watch(
        self, kinds: Sequence[str] = tuple(KINDS), known: dict[Key, Object] | None = None
    ) -> AsyncGenerator[WatchEvent | Synced, None]:
        """Every object of `kinds` (ADDED), `Synced`, then every change, for as long as the
        caller iterates: resumed after a drop, relisted after a resync (the difference
        delivered as events, then `Synced` again).

        `known` (empty when given) is kept as the objects delivered so far, each event applied
        before it is yielded: a cache can read it instead of keeping a second copy."""
        known = {} if known is None else known
        version: int | None = None
        delay = FIRST_BACKOFF
        while True:
            try:
                if version is None:
                    version, listed = await self._list_all(kinds)
                    for change in _difference(known, listed):
                        _take(known, change)
                        yield change
                    yield Synced(version)
                async for event in self.events(version):
                    delay = FIRST_BACKOFF
                    version = max(version, event.resource_version)
                    if event.object.get("kind") not in kinds or _seen(known, event):
                        continue
                    _take(known, event)
                    yield event
            except ResyncRequiredError:
                version = None
                continue
            except UnreachableError:
                pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    async def follow_log(self, kind: str, name: str) -> AsyncGenerator[LogEvent, None]:
        """The log of the runtime of an Agent or AgentRun, as `PodLogStream.follow` gives a
        pod's: a LogStatus whenever the stream's phase changes, a LogLine for every line not
        delivered before; returns after the `ended` status (the platform said the log cannot
        grow any more, or does not know the object)."""
        path = f"/api/v1/logs/{plural_of(kind)}/{name}"
        resume: dict[str, str | int] = {}
        delay = FIRST_BACKOFF
        yield LogStatus("connecting")
        while True:
            try:
                async with self._stream(path, resume) as source:
                    yield LogStatus("streaming")
                    async for sse in source.aiter_sse():
                        data = json.loads(sse.data) if sse.event in ("line", "end") else {}
                        if sse.event == "end":
                            yield LogStatus("ended", str(data.get("reason") or "ended"))
                            return
                        if sse.event == "line":
                            resume = {"since_line": data["line"], "file": data["file"]}
                            delay = FIRST_BACKOFF
                            yield LogLine(str(data["text"]))
                reason = "the log stream ended"
            except NotFoundError as exc:
                yield LogStatus("ended", exc.message)
                return
            except PlatformError as exc:
                reason = exc.message
            except httpx.TransportError as exc:
                reason = f"the log stream broke ({type(exc).__name__})"
            yield LogStatus("reconnecting", reason)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    async def _list_all(self, kinds: Sequence[str]) -> tuple[int, dict[Key, Object]]:
        """Every object of the kinds, and the version to watch from: the oldest of the
        listings, so nothing is missed (events already reflected in a later listing are
        recognised by the object's version and skipped)."""
        listings = [await self.list(kind) for kind in kinds]
        listed = {key_of(obj): obj for listing in listings for obj in listing.items}
        return min(int(listing.metadata["resourceVersion"]) for listing in listings), listed


def _difference(known: Mapping[Key, Object], listed: Mapping[Key, Object]) -> list[WatchEvent]:
    """The events that turn `known` into `listed`."""
    changes = [
        WatchEvent("ADDED" if key not in known else "MODIFIED", obj)
        for key, obj in listed.items()
        if key not in known or _version(known[key]) != _version(obj)
    ]
    changes.extend(WatchEvent("DELETED", obj) for key, obj in known.items() if key not in listed)
    return changes


def _seen(known: Mapping[Key, Object], event: WatchEvent) -> bool:
    """Whether the event is already reflected in what was delivered (from a listing taken
    after it), or deletes what was never delivered."""
    have = known.get(key_of(event.object))
    if have is None:
        return event.type == "DELETED"
    return event.resource_version <= _version(have)


def _take(known: dict[Key, Object], event: WatchEvent) -> None:
    if event.type == "DELETED":
        known.pop(key_of(event.object), None)
    else:
        known[key_of(event.object)] = event.object


def _version(obj: Object) -> int:
    return int(obj["metadata"]["resourceVersion"])


def _event_type(name: str) -> EventType:
    if name == "ADDED":
        return "ADDED"
    return "MODIFIED" if name == "MODIFIED" else "DELETED"


def _raise_refusal(response: httpx.Response) -> None:
    """The platform's refusal in the response, raised as the error it was on the server."""
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status_code == 422 and isinstance(body.get("problems"), list):
        raise InvalidManifestError([FileProblem(**p) for p in body["problems"]])
    message = str(body.get("error") or f"HTTP {response.status_code}")
    refusal = _REFUSALS.get(response.status_code, PlatformError)(message, body.get("field"))
    refusal.status = response.status_code
    raise refusal
