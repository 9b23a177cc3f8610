"""Object metadata shared by every child the operator builds: owner reference and labels."""

from __future__ import annotations

from typing import Any

from agentops_services.api.v1alpha1.meta import Resource
from agentops_services.operator import names


def owner_reference(resource: Resource) -> dict[str, Any]:
    """A controller owner reference, so garbage collection deletes the child with its owner
    and the owner's controller is woken by changes to the child."""
    return {
        "apiVersion": resource.api_version,
        "kind": resource.kind_name(),
        "name": resource.name,
        "uid": resource.metadata.uid or "",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def child_metadata(
    name: str,
    owner: Resource,
    agent: str,
    component: str,
    extra_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """metadata of a child: CommonLabels(agent, component), the owner labels (how the
    controller finds its children) and the owner reference."""
    labels = names.common_labels(agent, component) | names.owner_labels(
        owner.kind_name(), owner.name
    )
    meta: dict[str, Any] = {"name": name}
    if owner.namespace:
        meta["namespace"] = owner.namespace
    meta["labels"] = labels | (extra_labels or {})
    meta["ownerReferences"] = [owner_reference(owner)]
    return meta
