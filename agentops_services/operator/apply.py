"""Writing desired state: children by server-side apply, stale children deleted, status patched
only when it changed.

Applies are skipped when the cached child already has every field the builder sets, so a
reconcile triggered by a child's status change costs no writes; the informers' caches make that
check free of requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from agentops_services.kube.informer import Informer
from agentops_services.kube.resources import ResourceType
from agentops_services.kube.rest import Kube, Object, type_of
from agentops_services.operator.names import FIELD_MANAGER, owner_labels

LOG = logging.getLogger("agentops.operator.apply")
WORKLOADS = frozenset({"Deployment", "Job"})


def covers(live: Any, desired: Any) -> bool:
    """Whether `live` already holds everything `desired` sets. The server adds defaults (ports'
    protocol, a container's terminationMessagePath), so extra live fields are fine; lists must
    match item by item."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            covers(live.get(key), value) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(covers(a, b) for a, b in zip(live, desired, strict=True))
        )
    return bool(live == desired)


class Children:
    """Applies what an owner wants and removes what it no longer wants."""

    def __init__(self, kube: Kube, caches: Mapping[ResourceType, Informer]) -> None:
        self.kube = kube
        self.caches = caches

    async def apply(self, manifest: Object) -> Object:
        """Apply one child unless the cache shows it is already so; the live object."""
        metadata = manifest["metadata"]
        cache = self.caches.get(type_of(manifest))
        live = cache.get(metadata.get("namespace", ""), metadata["name"]) if cache else None
        if live is not None and covers(live, manifest):
            return live
        return await self.kube.apply(manifest, FIELD_MANAGER)

    async def sync(
        self,
        owner_kind: str,
        namespace: str,
        owner_name: str,
        desired: Iterable[Object],
        kinds: Iterable[ResourceType],
    ) -> dict[tuple[str, str], Object]:
        """Apply every desired child, then delete the owner's children of `kinds` that are not
        among them (a feature turned off). The live children by (kind, name)."""
        live: dict[tuple[str, str], Object] = {}
        wanted = list(desired)
        # Two waves of concurrent applies: what pods mount or run as, then the workloads, so a
        # new agent costs two round trips rather than one per child.
        for wave in (
            [m for m in wanted if m["kind"] not in WORKLOADS],
            [m for m in wanted if m["kind"] in WORKLOADS],
        ):
            applied = await asyncio.gather(*(self.apply(m) for m in wave))
            for manifest, obj in zip(wave, applied, strict=True):
                live[(manifest["kind"], manifest["metadata"]["name"])] = obj
        labels = owner_labels(owner_kind, owner_name)
        for kind in kinds:
            for child in self.caches[kind].labelled(namespace, labels):
                metadata = child["metadata"]
                if (kind.kind, metadata["name"]) in live:
                    continue
                LOG.info(
                    "deleting %s %s/%s: no longer needed", kind.kind, namespace, metadata["name"]
                )
                await self.kube.delete(kind, namespace, metadata["name"], uid=metadata.get("uid"))
        return live


def status_patch(current: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> Object:
    """The merge patch taking `current` status to `desired` for the keys desired names (None
    removes a key); {} when nothing changes."""
    current = current or {}
    return {
        key: value
        for key, value in desired.items()
        if current.get(key) != value and not (value is None and key not in current)
    }


async def write_status(
    kube: Kube,
    kind: ResourceType,
    obj: Object,
    desired: Mapping[str, Any],
    *,
    guarded: bool = False,
) -> bool:
    """Patch the status subresource when it differs; whether a request was made. `guarded`:
    only if the object is still at `obj`'s resourceVersion (a KubeError 409 otherwise), for a
    status someone else may have written meanwhile."""
    patch = status_patch(obj.get("status"), desired)
    if not patch:
        return False
    metadata = obj["metadata"]
    body: dict[str, Any] = {"status": patch}
    if guarded:
        body["metadata"] = {"resourceVersion": metadata["resourceVersion"]}
    await kube.patch(
        kind,
        metadata["namespace"],
        metadata["name"],
        body,
        subresource="status",
        field_manager=FIELD_MANAGER,
    )
    return True
