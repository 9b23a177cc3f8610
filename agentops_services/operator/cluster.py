"""What every reconciler works with: the API connection, the informers' caches, the child
applier, the builders' settings and the clock (injectable, so schedules and timeouts are tested
without waiting)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from pydantic import ValidationError

from agentops_services.api.v1alpha1 import Resource
from agentops_services.kube import resources as types
from agentops_services.kube.informer import Informer
from agentops_services.kube.resources import ResourceType
from agentops_services.kube.rest import Kube, Object
from agentops_services.operator.apply import Children
from agentops_services.operator.builders.settings import BuilderSettings

LOG = logging.getLogger("agentops.operator")
R = TypeVar("R", bound=Resource)

OUR_TYPES = (
    types.AGENT, types.AGENT_RUN, types.AGENT_TOOL, types.AGENT_RESOURCE, types.CHANNEL,
    types.PROVIDER,
)  # fmt: skip
CHILD_TYPES = (
    types.DEPLOYMENT, types.SERVICE, types.CONFIG_MAP, types.SERVICE_ACCOUNT, types.ROLE,
    types.ROLE_BINDING, types.PVC, types.NETWORK_POLICY, types.INGRESS, types.JOB,
)  # fmt: skip
"""Kinds the operator creates; their informers only see objects labelled managed-by us."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Cluster:
    kube: Kube
    informers: dict[ResourceType, Informer]
    settings: BuilderSettings = field(default_factory=BuilderSettings)
    clock: Callable[[], datetime] = utcnow
    children: Children = field(init=False)

    def __post_init__(self) -> None:
        self.children = Children(self.kube, self.informers)

    def cached(self, kind: ResourceType, namespace: str, name: str) -> Object | None:
        return self.informers[kind].get(namespace, name)

    def model(self, model: type[R], kind: ResourceType, namespace: str, name: str) -> R | None:
        """The cached object as its model; None when absent (or unreadable, which the API
        server's schema makes rare: logged)."""
        obj = self.cached(kind, namespace, name)
        return None if obj is None else parse(model, obj)

    def models(self, model: type[R], kind: ResourceType, namespace: str) -> Iterator[R]:
        for obj in self.informers[kind].items(namespace):
            parsed = parse(model, obj)
            if parsed is not None:
                yield parsed


def parse(model: type[R], obj: Object) -> R | None:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        metadata = obj.get("metadata") or {}
        LOG.warning(
            "cannot read %s %s/%s: %s",
            obj.get("kind"),
            metadata.get("namespace"),
            metadata.get("name"),
            exc.errors()[0].get("msg"),
        )
        return None
