"""Shared informers: one list+watch per resource type (per watched namespace), a cache of the
objects, and handlers told about every change.

As in client-go: list, then watch from the list's resourceVersion with bookmarks; when the
server ends the watch (timeoutSeconds) watch again from the last version seen; on 410 Gone list
again and report what changed while away; on any other failure back off and retry. `alive()`
tells /healthz whether the loops are making progress.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from agentops_services.kube.resources import ResourceType
from agentops_services.kube.rest import Kube, KubeError, Object

LOG = logging.getLogger("agentops.kube.informer")
WATCH_SECONDS = 300
"""Server-side length of one watch request; a new one continues from the last version."""
FIRST_BACKOFF = 0.2
MAX_BACKOFF = 30.0
Key = tuple[str, str]
"""(namespace, name); namespace is "" for cluster-scoped objects."""
Handler = Callable[[str, Object], None]
"""Called with the event type (ADDED, MODIFIED, DELETED) and the object."""
Transform = Callable[[Object], Object]


def key_of(obj: Mapping[str, Any]) -> Key:
    metadata = obj["metadata"]
    return metadata.get("namespace", ""), metadata["name"]


def keep_secret_keys_only(secret: Object) -> Object:
    """A Secret without its values: the operator only needs to know which keys hold one, and
    the values never sit in its memory. `data` keeps the names of the non-empty keys."""
    data = secret.get("data") or {}
    return {
        "apiVersion": secret.get("apiVersion"),
        "kind": secret.get("kind"),
        "metadata": secret["metadata"],
        "type": secret.get("type"),
        "data": dict.fromkeys((key for key, value in data.items() if value), ""),
    }


class Informer:
    """The cache of one resource type, kept current by list+watch."""

    def __init__(
        self,
        kube: Kube,
        kind: ResourceType,
        namespaces: Sequence[str] | None = None,
        *,
        label_selector: str | None = None,
        transform: Transform | None = None,
        watch_seconds: int = WATCH_SECONDS,
        index_labels: Sequence[str] = (),
    ) -> None:
        self.kube = kube
        self.kind = kind
        self.namespaces: list[str | None] = list(namespaces) if namespaces else [None]
        self.label_selector = label_selector
        self.transform = transform
        self.watch_seconds = watch_seconds
        self._objects: dict[Key, Object] = {}
        self._by_namespace: dict[str, dict[str, Object]] = {}
        self._index_labels = tuple(index_labels)
        self._index: dict[tuple[str, ...], dict[Key, Object]] = {}
        """Objects by (namespace, *values of index_labels): owners find their children in
        O(children), not by scanning every object of the kind."""
        self._handlers: list[Handler] = []
        self._synced: set[str | None] = set()
        self.synced = asyncio.Event()
        """Set once every namespace has been listed."""
        self.last_progress = time.monotonic()
        self.failing: str | None = None
        """The last error while the loop is retrying; None while healthy."""
        self._tasks: list[asyncio.Task[None]] = []

    def add_handler(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def get(self, namespace: str, name: str) -> Object | None:
        return self._objects.get((namespace, name))

    def items(self, namespace: str | None = None) -> Iterator[Object]:
        """Cached objects, of one namespace or all."""
        if namespace is None:
            yield from self._objects.values()
            return
        yield from self._by_namespace.get(namespace, {}).values()

    def labelled(self, namespace: str, labels: Mapping[str, str]) -> list[Object]:
        """Cached objects of the namespace carrying all these labels (from the index when the
        labels are the indexed ones)."""
        if self._index_labels and set(labels) == set(self._index_labels):
            entry = (namespace, *(labels[k] for k in self._index_labels))
            return list(self._index.get(entry, {}).values())
        found = []
        for obj in self.items(namespace):
            have = obj["metadata"].get("labels") or {}
            if all(have.get(k) == v for k, v in labels.items()):
                found.append(obj)
        return found

    def _index_entry(self, obj: Object) -> tuple[str, ...] | None:
        if not self._index_labels:
            return None
        labels = obj["metadata"].get("labels") or {}
        values = tuple(labels.get(k) for k in self._index_labels)
        if any(v is None for v in values):
            return None
        return (obj["metadata"].get("namespace", ""), *values)

    def __len__(self) -> int:
        return len(self._objects)

    def start(self) -> None:
        for namespace in self.namespaces:
            self._tasks.append(
                asyncio.create_task(self._run(namespace), name=f"informer {self.kind.plural}")
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def alive(self, now: float | None = None) -> bool:
        """Every loop runs, and none has gone two watch lengths without progress."""
        now = time.monotonic() if now is None else now
        running = bool(self._tasks) and not any(t.done() for t in self._tasks)
        return running and now - self.last_progress < 2 * self.watch_seconds + 60

    def _notify(self, event_type: str, obj: Object) -> None:
        for handler in self._handlers:
            try:
                handler(event_type, obj)
            except Exception:
                LOG.exception("informer handler failed for %s %s", self.kind.kind, key_of(obj))

    def _store(self, event_type: str, obj: Object) -> None:
        # managedFields are often a third of an object and nothing here reads them.
        obj["metadata"].pop("managedFields", None)
        if self.transform is not None:
            obj = self.transform(obj)
        key = key_of(obj)
        old = self._objects.pop(key, None)
        if old is not None:
            self._by_namespace[key[0]].pop(key[1], None)
            if (entry := self._index_entry(old)) is not None:
                self._index[entry].pop(key, None)
        if event_type != "DELETED":
            self._objects[key] = obj
            self._by_namespace.setdefault(key[0], {})[key[1]] = obj
            if (entry := self._index_entry(obj)) is not None:
                self._index.setdefault(entry, {})[key] = obj
        self._notify(event_type, obj)

    def _replace(self, namespace: str | None, items: list[Object]) -> None:
        """Take a fresh listing: report what appeared, changed and vanished since the last."""
        seen = set()
        for obj in items:
            obj.setdefault("apiVersion", self.kind.api_version)
            obj.setdefault("kind", self.kind.kind)
            key = key_of(obj)
            seen.add(key)
            old = self._objects.get(key)
            if old is None:
                self._store("ADDED", obj)
            elif old["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self._store("MODIFIED", obj)
        stale = [
            key
            for key in self._objects
            if (namespace is None or key[0] == namespace) and key not in seen
        ]
        for key in stale:
            self._store("DELETED", self._objects[key])

    async def _run(self, namespace: str | None) -> None:
        backoff = FIRST_BACKOFF
        while True:
            try:
                listing = await self.kube.list(self.kind, namespace, self.label_selector)
                self._replace(namespace, listing.get("items") or [])
                version = listing["metadata"]["resourceVersion"]
                self._mark_synced(namespace)
                self.failing = None
                backoff = FIRST_BACKOFF
                while True:
                    version = await self._watch(namespace, version)
                    self.last_progress = time.monotonic()
            except asyncio.CancelledError:
                raise
            except KubeError as exc:
                if exc.gone:
                    LOG.info("%s watch expired (410): listing again", self.kind.plural)
                    continue
                self.failing = str(exc)
            except Exception as exc:
                self.failing = f"{type(exc).__name__}: {exc}"
            LOG.warning(
                "%s list/watch failed: %s; retrying in %.1fs",
                self.kind.plural,
                self.failing,
                backoff,
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _watch(self, namespace: str | None, version: str) -> str:
        """One watch request; the last resourceVersion seen when the server ends it."""
        async for event in self.kube.watch(
            self.kind, namespace, version, self.watch_seconds, self.label_selector
        ):
            obj = event["object"]
            version = obj["metadata"].get("resourceVersion") or version
            self.last_progress = time.monotonic()
            if event["type"] == "BOOKMARK":
                continue
            obj.setdefault("apiVersion", self.kind.api_version)
            obj.setdefault("kind", self.kind.kind)
            self._store(event["type"], obj)
        return version

    def _mark_synced(self, namespace: str | None) -> None:
        self._synced.add(namespace)
        if len(self._synced) == len(self.namespaces):
            self.synced.set()
