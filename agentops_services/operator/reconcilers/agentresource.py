"""AgentResource: pure metadata; its status says whether the spec is usable (§4.4)."""

from __future__ import annotations

from agentops_services.api.v1alpha1 import AgentResource
from agentops_services.kube.informer import Key
from agentops_services.kube.resources import AGENT_RESOURCE
from agentops_services.operator.builders.agentresource import evaluate_resource
from agentops_services.operator.cluster import Cluster, parse
from agentops_services.operator.reconcilers.status import publish


class AgentResourceReconciler:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    async def reconcile(self, key: Key) -> float | None:
        obj = self.cluster.cached(AGENT_RESOURCE, *key)
        if obj is None:
            return None
        resource = parse(AgentResource, obj)
        if resource is None:
            return None
        verdict = evaluate_resource(resource)
        await publish(self.cluster, AGENT_RESOURCE, obj, verdict.conditions, phase=verdict.phase)
        return None
