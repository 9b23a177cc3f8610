"""Channel: the bridge Deployment, its Service, RBAC and webhook Ingress (§4.5); Ready follows
the watched Deployment, so there is no requeue."""

from __future__ import annotations

from agentops_services.api.v1alpha1 import Agent, Channel
from agentops_services.kube import resources as types
from agentops_services.kube.informer import Key
from agentops_services.operator.builders.channel import (
    agent_missing_health,
    channel_children,
    channel_health,
    channel_service_url,
    channel_webhook_url,
)
from agentops_services.operator.builders.conditions import ACCEPTED, condition
from agentops_services.operator.builders.security import violations_condition
from agentops_services.operator.cluster import Cluster, parse
from agentops_services.operator.reconcilers.status import publish, sync_children

CHILD_KINDS = (
    types.SERVICE_ACCOUNT, types.ROLE, types.ROLE_BINDING, types.DEPLOYMENT, types.SERVICE,
    types.INGRESS,
)  # fmt: skip


class ChannelReconciler:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    async def reconcile(self, key: Key) -> float | None:
        cluster = self.cluster
        obj = cluster.cached(types.CHANNEL, *key)
        channel = None if obj is None else parse(Channel, obj)
        if obj is None or channel is None:
            return None
        namespace, name = key
        agent = cluster.model(Agent, types.AGENT, namespace, channel.spec.agent_ref)
        if agent is None:
            phase, ready = agent_missing_health(channel, "it does not exist in this namespace")
            accepted = condition(ACCEPTED, "False", "AgentNotFound", ready["message"])
            await publish(cluster, types.CHANNEL, obj, (accepted, ready), phase=phase)
            return None
        desired, violations = channel_children(channel, agent.spec.mode)
        live = await sync_children(cluster, types.CHANNEL, obj, desired, CHILD_KINDS)
        deployment = live.get(("Deployment", name)) or {}
        phase, ready = channel_health((deployment.get("status") or {}).get("readyReplicas"))
        await publish(
            cluster,
            types.CHANNEL,
            obj,
            (
                condition(ACCEPTED, "True", "Valid", f'Bridge for Agent "{agent.name}"'),
                ready,
                violations_condition(violations),
            ),
            phase=phase,
            serviceURL=channel_service_url(channel),
            webhookURL=channel_webhook_url(channel),
        )
        return None
