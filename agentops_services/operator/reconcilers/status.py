"""Publishing a resource's status: conditions merged with metav1 semantics, the generation
they were computed from, and the kind's own fields; one patch, only when something changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentops_services.kube.resources import ResourceType
from agentops_services.kube.rest import KubeError, Object
from agentops_services.operator.apply import write_status
from agentops_services.operator.builders.conditions import (
    READY,
    DesiredCondition,
    condition,
    desired_status,
)
from agentops_services.operator.cluster import Cluster


async def publish(
    cluster: Cluster,
    kind: ResourceType,
    obj: Object,
    conditions: Sequence[DesiredCondition],
    *,
    guarded: bool = False,
    **fields: Any,
) -> bool:
    """Write `fields` (camelCase status keys; None removes one) and `conditions`; whether a
    request was made (`guarded`: see write_status)."""
    generation = obj["metadata"].get("generation")
    desired = desired_status(obj.get("status"), conditions, generation, cluster.clock(), fields)
    return await write_status(cluster.kube, kind, obj, desired, guarded=guarded)


async def sync_children(
    cluster: Cluster,
    kind: ResourceType,
    obj: Object,
    desired: list[Object],
    child_kinds: Sequence[ResourceType],
) -> dict[tuple[str, str], Object]:
    """Apply the owner's children; when the API server refuses one (quota, admission, a full
    Service range), say so on the owner's Ready condition before the retry with backoff."""
    metadata = obj["metadata"]
    try:
        return await cluster.children.sync(
            kind.kind, metadata["namespace"], metadata["name"], desired, child_kinds
        )
    except KubeError as exc:
        message = f"Applying children failed: {exc.message}"
        await publish(cluster, kind, obj, [condition(READY, "False", "ApplyFailed", message)])
        raise
