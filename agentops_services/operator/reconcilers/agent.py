"""Agent: resolve what it references, apply its children, report readiness (§4.1), and fire
its schedule.

Every reference is watched (routing.py), so a missing or unready Provider, AgentTool or
AgentResource leaves the Agent Pending with the reason, and the reference's own change brings
it back here: no 10 s polling. Readiness comes from the watched Deployment.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from agentops_services.api.v1alpha1 import Agent, AgentResource, AgentTool, Provider, Resource
from agentops_services.kube import resources as types
from agentops_services.kube.informer import Key
from agentops_services.kube.resources import ResourceType
from agentops_services.operator.builders.agent import build_agent_children
from agentops_services.operator.builders.conditions import (
    ACCEPTED,
    READY,
    DesiredCondition,
    condition,
)
from agentops_services.operator.builders.security import violations_condition
from agentops_services.operator.cluster import Cluster
from agentops_services.operator.reconcilers.schedules import Scheduler
from agentops_services.operator.reconcilers.status import publish, sync_children

R = TypeVar("R", bound=Resource)
CHILD_KINDS = (
    types.CONFIG_MAP, types.SERVICE_ACCOUNT, types.ROLE, types.ROLE_BINDING, types.PVC,
    types.DEPLOYMENT, types.SERVICE, types.NETWORK_POLICY,
)  # fmt: skip


def _unready(items: Iterable[Resource]) -> list[str]:
    """Names of the referenced objects whose status.phase is not Ready (yet)."""
    phases = ((item.name, getattr(item, "status", None)) for item in items)
    return [name for name, status in phases if getattr(status, "phase", None) != "Ready"]


class AgentReconciler:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.scheduler = Scheduler(cluster)

    def _resolve(
        self, model: type[R], kind: ResourceType, namespace: str, names: Iterable[str]
    ) -> tuple[dict[str, R], list[str]]:
        found: dict[str, R] = {}
        missing = []
        for name in names:
            item = self.cluster.model(model, kind, namespace, name)
            if item is None:
                missing.append(name)
            else:
                found[name] = item
        return found, missing

    async def reconcile(self, key: Key) -> float | None:
        cluster = self.cluster
        obj = cluster.cached(types.AGENT, *key)
        agent = None if obj is None else cluster.model(Agent, types.AGENT, *key)
        if obj is None or agent is None:
            return None
        namespace, name = key
        spec = agent.spec
        tools, missing_tools = self._resolve(
            AgentTool, types.AGENT_TOOL, namespace, [t.name for t in spec.tools or []]
        )
        providers, missing_providers = self._resolve(
            Provider, types.PROVIDER, namespace, [p.name for p in spec.provider_refs]
        )
        resources, missing_resources = self._resolve(
            AgentResource,
            types.AGENT_RESOURCE,
            namespace,
            [r.name for r in spec.resource_bindings or []],
        )
        missing = [
            f'{kind} "{n}"'
            for kind, names in (
                ("AgentTool", missing_tools),
                ("Provider", missing_providers),
                ("AgentResource", missing_resources),
            )
            for n in names
        ]
        conditions: list[DesiredCondition] = []
        if missing:
            message = f"{', '.join(missing)} not found in namespace {namespace}"
            conditions += [
                condition(ACCEPTED, "False", "ReferenceNotFound", message),
                condition(READY, "False", "ReferenceNotFound", message),
            ]
            await publish(cluster, types.AGENT, obj, conditions, phase="Pending")
            return None
        conditions.append(condition(ACCEPTED, "True", "Valid", "Spec and references are valid"))
        waiting = [
            (type_, reason, names)
            for type_, reason, names in (
                ("ToolsReady", "AgentToolNotReady", _unready(tools.values())),
                ("ProvidersReady", "ProviderNotReady", _unready(providers.values())),
                ("ResourcesReady", "ResourceNotReady", _unready(resources.values())),
            )
        ]
        for type_, reason, names in waiting:
            if names:
                conditions.append(
                    condition(type_, "False", reason, f"Not ready: {', '.join(names)}")
                )
            else:
                conditions.append(condition(type_, "True", "AllReady", "All ready"))
        blocked = [n for _, _, names in waiting for n in names]
        if blocked:
            message = f"Waiting for {', '.join(blocked)} to be Ready"
            conditions.append(condition(READY, "False", "DependenciesNotReady", message))
            await publish(cluster, types.AGENT, obj, conditions, phase="Pending")
            return None
        children = build_agent_children(agent, tools, providers, resources, cluster.settings)
        live = await sync_children(cluster, types.AGENT, obj, children.manifests(), CHILD_KINDS)
        conditions.append(violations_condition(children.violations))
        fields: dict[str, Any] = {"activeModel": spec.model}
        if spec.mode == "daemon":
            deployment = live.get(("Deployment", name)) or {}
            replicas = (deployment.get("status") or {}).get("readyReplicas") or 0
            running = replicas > 0
            fields |= {
                "phase": "Running" if running else "Pending",
                "readyReplicas": replicas,
                "serviceURL": f"http://{name}.{namespace}.svc:4096",
                "storagePVC": children.storage_pvc["metadata"]["name"]
                if children.storage_pvc
                else None,
            }
            conditions.append(
                condition(READY, "True", "Running", "The runtime is serving")
                if running
                else condition(READY, "False", "Pending", "Waiting for the Deployment to be ready")
            )
        else:
            fields["phase"] = "Ready"
            conditions.append(condition(READY, "True", "Ready", "Runs start as Jobs"))
        last_schedule, again = await self.scheduler.fire(agent)
        if last_schedule is not None:
            fields["lastScheduleTime"] = last_schedule
        await publish(cluster, types.AGENT, obj, conditions, **fields)
        return again
