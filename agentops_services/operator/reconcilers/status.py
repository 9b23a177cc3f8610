"""Publishing a resource's status: conditions merged with metav1 semantics, the generation
they were computed from, and the kind's own fields; one patch, only when something changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentops_services.kube.resources import ResourceType
from agentops_services.kube.rest import Object
from agentops_services.operator.apply import write_status
from agentops_services.operator.builders.conditions import DesiredCondition, set_conditions
from agentops_services.operator.cluster import Cluster


async def publish(
    cluster: Cluster,
    kind: ResourceType,
    obj: Object,
    conditions: Sequence[DesiredCondition],
    **fields: Any,
) -> bool:
    """Write `fields` (camelCase status keys; None removes one) and `conditions`; whether a
    request was made."""
    generation = obj["metadata"].get("generation")
    current = obj.get("status") or {}
    merged = set_conditions(current.get("conditions"), conditions, generation, cluster.clock())
    desired = {**fields, "observedGeneration": generation, "conditions": merged}
    return await write_status(cluster.kube, kind, obj, desired)
