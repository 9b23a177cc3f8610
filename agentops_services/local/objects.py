"""The embedded platform's object store: the API server's part in a cluster, on one machine.

Objects of the six kinds, by (kind, name), in one namespace (`local`), with the metadata an
API server keeps (uid, resourceVersion, generation, creationTimestamp), held in memory and
written through to one SQLite file. The file is what survives a restart: the status of every
object and the objects that exist nowhere else (AgentRuns created through the platform API).
Objects from the resource folder are stored too, so their uid, generation and status carry
over; the folder applies its files again when it starts, which changes nothing that did not
change.

One resourceVersion counter for the whole store, advanced by every change and persisted with
it, so versions only grow, across restarts too. Every change is one watch event, so the
versions of consecutive events are consecutive numbers.

Watching works as with the API server: `watch(since)` replays the changes after `since` from
a bounded history and then follows live ones. Each watcher has a bounded queue; one that falls
behind, or asks for versions the history no longer holds, gets `ResyncRequiredError` (410 Gone)
and must list again. Memory stays bounded whatever the watchers do.

Like the API server, the store does not check specs (the folder and the platform API validate
what they write); it checks the status controllers write against the kind's schema.

Deleting an object deletes nothing else: there are no owner references and no garbage
collector here, so an Agent's AgentRuns stay when the Agent goes (they are its history, and
the console lists them as it would in a cluster after the Agent was deleted with
`--cascade=orphan`).
"""

from __future__ import annotations

import asyncio
import copy
import sqlite3
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from agentops_services.api.model import format_time
from agentops_services.api.v1alpha1 import API_VERSION, KINDS
from agentops_services.api.validation import validate_status
from agentops_services.local import object_db
from agentops_services.local.errors import (
    ConflictError,
    InvalidObjectError,
    NotFoundError,
    ResyncRequiredError,
)
from agentops_services.local.kinds import NAMESPACE, Key, Object, key_of
from agentops_services.sqlite_pool import on_thread

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
HISTORY = 1024
"""Changes kept for watchers that resume from an older version."""
WATCH_QUEUE = 256
"""Events one watcher may have waiting before it is told to resync."""
API_SOURCE = "api"
"""Source of objects created through the platform API (they live in the store only)."""


@dataclass(frozen=True)
class WatchEvent:
    type: EventType
    object: Object
    """The object after the change (for DELETED, its last state with the deletion's
    resourceVersion). Shared by every watcher: read it, do not change it."""

    @property
    def resource_version(self) -> int:
        return int(self.object["metadata"]["resourceVersion"])


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, None removes a key, anything else
    (lists included) replaces. Returns a new value; neither argument is changed."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Watch:
    """One watcher: an async iterator of the store's events, in order.

    It raises `ResyncRequiredError` once it has fallen behind, and ends when the store closes or
    the watch is closed. Registered when made, so nothing between `watch()` and the first
    `async for` step is missed.
    """

    def __init__(self, store: ObjectStore, capacity: int) -> None:
        self._store = store
        self._capacity = capacity
        self._events: deque[WatchEvent] = deque()
        self._wake = asyncio.Event()
        self._expired = False
        self._closed = False

    def _offer(self, event: WatchEvent) -> None:
        if self._expired or self._closed:
            return
        if len(self._events) >= self._capacity:
            self._expire()
            return
        self._events.append(event)
        self._wake.set()

    def _expire(self) -> None:
        """Fallen behind: drop what is queued (it cannot be completed) and stop receiving."""
        self._expired = True
        self._events.clear()
        self._store._watches.discard(self)
        self._wake.set()

    def _end(self) -> None:
        self._closed = True
        self._wake.set()

    def close(self) -> None:
        """Stop watching; the iterator ends."""
        self._store._watches.discard(self)
        self._end()

    @property
    def pending(self) -> int:
        """Events waiting to be taken."""
        return len(self._events)

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> WatchEvent:
        while True:
            if self._expired:
                raise ResyncRequiredError(self._store.resource_version)
            if self._events:
                return self._events.popleft()
            if self._closed:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()


class ObjectStore:
    """Objects of the six kinds in memory, written through to SQLite; open with `async with`
    or open()/close()."""

    def __init__(
        self,
        path: Path,
        *,
        history: int = HISTORY,
        watch_queue: int = WATCH_QUEUE,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.path = path
        self.watch_queue = watch_queue
        self.clock = clock
        self._db: aiosqlite.Connection | None = None
        self._objects: dict[str, dict[str, Object]] = {kind: {} for kind in KINDS}
        self._sources: dict[Key, str] = {}
        self._version = 0
        self._history: deque[WatchEvent] = deque(maxlen=history)
        self._watches: set[Watch] = set()
        self._lock = asyncio.Lock()
        """Changes one at a time: versions are handed out, persisted and announced in order."""

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await on_thread(self._db, object_db.prepare)
            self._version, rows = await on_thread(self._db, object_db.load)
        except BaseException as exc:
            await self._db.close()
            self._db = None
            if isinstance(exc, object_db.StoreFileError | sqlite3.DatabaseError):
                raise object_db.StoreFileError(
                    f"the object store {self.path} cannot be used: {exc}"
                ) from exc
            raise
        for row in rows:
            kind, name = key_of(row.object)
            if kind in self._objects:
                self._objects[kind][name] = row.object
                self._sources[kind, name] = row.source

    async def close(self) -> None:
        """End every watch and close the file."""
        for watch in list(self._watches):
            watch.close()
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __aenter__(self) -> ObjectStore:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- reading ---------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        """The version of the latest change (0 for a store that never changed)."""
        return self._version

    def get(self, kind: str, name: str) -> Object | None:
        """A copy of the object, or None."""
        obj = self._kind(kind).get(name)
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, kind: str) -> list[Object]:
        """Copies of every object of the kind, by name."""
        objects = self._kind(kind)
        return [copy.deepcopy(objects[name]) for name in sorted(objects)]

    def source_of(self, kind: str, name: str) -> str | None:
        """Where the object comes from (`API_SOURCE` or what the folder said), or None."""
        return self._sources.get((kind, name))

    def sources(self) -> dict[Key, str]:
        """Every object's key and source."""
        return dict(self._sources)

    def _kind(self, kind: str) -> dict[str, Object]:
        try:
            return self._objects[kind]
        except KeyError:
            raise NotFoundError(f"unknown kind {kind!r}", "kind") from None

    # --- writing ---------------------------------------------------------------------

    async def apply(
        self, obj: Mapping[str, Any], *, source: str, expected_version: str | None = None
    ) -> Object:
        """Create the object or replace its metadata (labels, annotations) and spec.

        The status is never taken from `obj`: controllers write it with `patch_status`. The
        generation grows when the spec changes. With `expected_version`, the object must be
        at that resourceVersion (ConflictError otherwise). Applying what is already stored
        changes nothing and announces nothing. Returns the stored object.
        """
        kind, name = _identity(obj)
        async with self._lock:
            current = self._objects[kind].get(name)
            check_resource_version((kind, name), current, expected_version)
            wanted = self._applied(kind, name, current, obj)
            if current is not None and wanted == current and self._sources[kind, name] == source:
                return copy.deepcopy(current)
            event: EventType = "ADDED" if current is None else "MODIFIED"
            return await self._commit(event, (kind, name), wanted, source)

    async def create(self, obj: Mapping[str, Any], *, source: str) -> Object:
        """Create the object; ConflictError when one of that kind and name exists (it is left
        as it is)."""
        kind, name = _identity(obj)
        async with self._lock:
            if name in self._objects[kind]:
                raise ConflictError(f"{kind} {name!r} already exists", "metadata.name")
            return await self._commit(
                "ADDED", (kind, name), self._applied(kind, name, None, obj), source
            )

    async def replace_status(self, kind: str, name: str, status: Mapping[str, Any]) -> Object:
        """Make `status` the whole status (what a controller that computes all of it writes)."""
        return await self._write_status(kind, name, lambda _: dict(status), None)

    async def patch_status(
        self,
        kind: str,
        name: str,
        patch: Mapping[str, Any],
        *,
        expected_version: str | None = None,
    ) -> Object:
        """Merge `patch` into the status (JSON merge patch: None removes a key)."""
        return await self._write_status(
            kind, name, lambda old: merge_patch(old, patch), expected_version
        )

    async def _write_status(
        self,
        kind: str,
        name: str,
        make: Callable[[Object], Object],
        expected_version: str | None,
    ) -> Object:
        """Store `make(current status)` as the status; it must fit the kind's status schema
        (InvalidObjectError naming the field otherwise). The stored object after."""
        async with self._lock:
            current = self._kind(kind).get(name)
            if current is None:
                raise NotFoundError(f"{kind} {name!r} not found", "name")
            check_resource_version((kind, name), current, expected_version)
            status = make(current.get("status") or {})
            errors = validate_status(kind, status)
            if errors:
                raise InvalidObjectError("; ".join(map(str, errors)), errors[0].field)
            wanted = {k: v for k, v in current.items() if k != "status"}
            if status:
                wanted["status"] = status
            if wanted == current:
                return copy.deepcopy(current)
            return await self._commit("MODIFIED", (kind, name), wanted, self._sources[kind, name])

    async def delete(self, kind: str, name: str, *, expected_version: str | None = None) -> Object:
        """Delete the object (and nothing else: see the module's note); returns its last
        state."""
        async with self._lock:
            current = self._kind(kind).get(name)
            if current is None:
                raise NotFoundError(f"{kind} {name!r} not found", "name")
            check_resource_version((kind, name), current, expected_version)
            return await self._commit("DELETED", (kind, name), current, None)

    def _applied(
        self, kind: str, name: str, current: Object | None, obj: Mapping[str, Any]
    ) -> Object:
        """The object `apply` would store: server-set metadata kept or made, the rest given."""
        given_meta = obj.get("metadata") or {}
        spec = copy.deepcopy(obj.get("spec"))
        if current is None:
            uid, generation = str(uuid.uuid4()), 1
            created = format_time(self.clock())
            version = "0"
        else:
            meta = current["metadata"]
            uid, created, version = meta["uid"], meta["creationTimestamp"], meta["resourceVersion"]
            generation = meta["generation"] + (1 if spec != current.get("spec") else 0)
        metadata: Object = {
            "name": name,
            "namespace": NAMESPACE,
            "uid": uid,
            "resourceVersion": version,
            "generation": generation,
            "creationTimestamp": created,
        }
        for field in ("labels", "annotations"):
            if given_meta.get(field):
                metadata[field] = dict(given_meta[field])
        wanted: Object = {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata}
        if spec is not None:
            wanted["spec"] = spec
        if current is not None and current.get("status"):
            wanted["status"] = current["status"]
        return wanted

    async def _commit(self, event: EventType, key: Key, obj: Object, source: str | None) -> Object:
        """Persist the change under the next version, then make it visible and announce it."""
        if self._db is None:
            raise RuntimeError(f"the object store {self.path} is not open")
        version = self._version + 1
        stored = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(version)}}
        if source is None:
            await on_thread(self._db, object_db.remove, key, version)
            self._objects[key[0]].pop(key[1], None)
            self._sources.pop(key, None)
        else:
            await on_thread(self._db, object_db.put, key, source, stored, version)
            self._objects[key[0]][key[1]] = stored
            self._sources[key] = source
        self._version = version
        self._announce(WatchEvent(event, copy.deepcopy(stored)))
        return copy.deepcopy(stored)

    # --- watching --------------------------------------------------------------------

    def watch(self, since: int | None = None) -> Watch:
        """Events after version `since` (None: from now on).

        `since` older than the history holds, or newer than the store (a version from
        another store), makes the watch raise `ResyncRequiredError` at once.
        """
        watch = Watch(self, self.watch_queue)
        if since is not None and since != self._version:
            oldest = self._history[0].resource_version if self._history else self._version + 1
            if since > self._version or since < oldest - 1:
                watch._expire()
                return watch
            for event in self._history:
                if event.resource_version > since:
                    watch._offer(event)
        if not watch._expired:
            self._watches.add(watch)
        return watch

    @property
    def watchers(self) -> int:
        return len(self._watches)

    def _announce(self, event: WatchEvent) -> None:
        self._history.append(event)
        for watch in list(self._watches):
            watch._offer(event)


def _identity(obj: Mapping[str, Any]) -> Key:
    kind = obj.get("kind")
    if kind not in KINDS:
        raise InvalidObjectError(f"kind must be one of {', '.join(KINDS)}", "kind")
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    if not isinstance(name, str) or not name:
        raise InvalidObjectError("metadata.name: Required value", "metadata.name")
    return kind, name


def check_resource_version(key: Key, current: Object | None, expected: str | None) -> None:
    """ConflictError unless `current` is at resourceVersion `expected` (None: any)."""
    if expected is None:
        return
    have = current["metadata"]["resourceVersion"] if current is not None else None
    if have != expected:
        now = f"it is at {have}" if have is not None else "it does not exist"
        kind, name = key
        raise ConflictError(
            f"{kind} {name!r} was changed since resourceVersion {expected} ({now}): "
            "read it again and reapply your change",
            "metadata.resourceVersion",
        )
