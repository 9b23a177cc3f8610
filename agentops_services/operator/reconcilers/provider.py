"""Provider: are its config and its Secrets usable, and how many Agents use it (§4.6).

Secret and Agent changes reach here through the routing, so there is no requeue: a missing
Secret that appears later re-validates the Provider at once.
"""

from __future__ import annotations

from agentops_services.api.v1alpha1 import Agent, Provider
from agentops_services.kube.informer import Key
from agentops_services.kube.resources import AGENT, PROVIDER, SECRET
from agentops_services.operator.builders.conditions import ACCEPTED, READY, condition
from agentops_services.operator.builders.provider import (
    SecretLookup,
    bound_agents,
    evaluate_provider,
    secret_refs,
)
from agentops_services.operator.cluster import Cluster, parse
from agentops_services.operator.reconcilers.status import publish


class ProviderReconciler:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    async def reconcile(self, key: Key) -> float | None:
        cluster = self.cluster
        obj = cluster.cached(PROVIDER, *key)
        provider = None if obj is None else parse(Provider, obj)
        if obj is None or provider is None:
            return None
        namespace = key[0]
        lookups = {}
        for _, ref in secret_refs(provider):
            secret = cluster.cached(SECRET, namespace, ref.name)
            lookups[ref.name] = (
                SecretLookup.not_found()
                if secret is None
                else SecretLookup(frozenset(secret.get("data") or {}))
            )
        verdict = evaluate_provider(provider, lookups)
        config, secrets = verdict.conditions
        accepted = condition(ACCEPTED, config["status"], config["reason"], config["message"])
        ready = (
            condition(READY, "True", "Ready", verdict.message)
            if verdict.phase == "Ready"
            else condition(READY, "False", "NotReady", verdict.message)
        )
        bound = bound_agents(provider.name, cluster.models(Agent, AGENT, namespace))
        await publish(
            cluster,
            PROVIDER,
            obj,
            (config, secrets, accepted, ready),
            phase=verdict.phase,
            message=verdict.message,
            boundAgents=bound,
        )
        return None
