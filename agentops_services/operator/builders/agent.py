"""The children of an Agent (§4.1): ConfigMaps and RBAC for every agent; for a daemon also the
Deployment, its Service and, when asked for, a PVC and a NetworkPolicy.

The Deployment's pod template carries the hash of the rendered ConfigMaps, so a config change
(a Provider, a tool, a prompt) rolls the pods; upstream left running pods on the old config.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentops_services.api.v1alpha1.agent import Agent
from agentops_services.api.v1alpha1.agentresource import AgentResource
from agentops_services.api.v1alpha1.agenttool import AgentTool
from agentops_services.api.v1alpha1.provider import Provider
from agentops_services.operator import names
from agentops_services.operator.builders.metadata import child_metadata
from agentops_services.operator.builders.pod import agent_pod_spec
from agentops_services.operator.builders.runtime_config import build_runtime_config
from agentops_services.operator.builders.settings import BuilderSettings
from agentops_services.operator.builders.tool_bindings import (
    bind_tools,
    inline_tool_key,
    mcp_tools,
    permissions_json,
)

AGENT_ROLE_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [names.GROUP],
        "resources": ["agentruns"],
        "verbs": ["create", "get", "list", "watch"],
    },
    {
        "apiGroups": [names.GROUP],
        "resources": ["agentruns/status"],
        "verbs": ["get", "patch", "update"],
    },
    {"apiGroups": [names.GROUP], "resources": ["agents"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [names.GROUP], "resources": ["agentresources"], "verbs": ["get", "list"]},
]
"""What an agent's runtime may do with its token (§7.2): delegate (run_agent, run_agents,
get_agent_run, list_task_agents), record its outcome (run_finish) and read resource briefs."""


def _own_status_rules(agent: Agent) -> list[dict[str, Any]]:
    """A daemon patches its own Agent's status (pendingInput: it waits for a person), and no
    other Agent's; a task runtime asks nobody (its gates are daemon-only) and gets no rule."""
    if agent.spec.mode != "daemon":
        return []
    return [
        {
            "apiGroups": [names.GROUP],
            "resources": ["agents/status"],
            "resourceNames": [agent.name],
            "verbs": ["patch"],
        }
    ]


def runtime_selector(agent: Agent) -> dict[str, str]:
    """Labels selecting the agent's runtime pods (Deployment, Service, NetworkPolicy)."""
    return {names.L_AGENT: agent.name, names.L_COMP: "runtime"}


def _config_map(agent: Agent, name: str, component: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": child_metadata(name, agent, agent.name, component),
        "data": data,
    }


def build_config_maps(
    agent: Agent,
    tools: Mapping[str, AgentTool],
    providers: Mapping[str, Provider],
    resources: Mapping[str, AgentResource],
) -> list[dict[str, Any]]:
    """`<agent>-config` (config.json and inline tool scripts) and, when the agent has MCP
    bindings, `<agent>-gateway` (permissions.json). No `<agent>-mcp`: nothing reads mcp.json."""
    bound = bind_tools(agent, tools)
    config = build_runtime_config(agent, providers, tools, resources)
    data = {names.CONFIG_KEY: config.to_json()}
    for b in bound:
        if b.tool.spec.inline:
            data[inline_tool_key(b)] = b.tool.spec.inline.content
    maps = [_config_map(agent, names.config_map_name(agent.name), "config", data)]
    if mcp_tools(bound):
        permissions = {names.PERMISSIONS_KEY: permissions_json(bound)}
        gateway = names.gateway_config_map_name(agent.name)
        maps.append(_config_map(agent, gateway, "gateway", permissions))
    return maps


def config_hash(config_maps: Sequence[dict[str, Any]]) -> str:
    """sha256 of the ConfigMaps' data: any change to what the pods read changes it."""
    data = [[cm["metadata"]["name"], cm.get("data", {})] for cm in config_maps]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def build_rbac(agent: Agent) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding `<agent>-agent`; none with spec.serviceAccountName."""
    if agent.spec.service_account_name:
        return []
    name = names.agent_rbac_name(agent.name)

    def meta() -> dict[str, Any]:
        return child_metadata(name, agent, agent.name, "rbac")

    subject: dict[str, Any] = {"kind": "ServiceAccount", "name": name}
    if agent.namespace:
        subject["namespace"] = agent.namespace
    rbac_api = "rbac.authorization.k8s.io/v1"
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta()},
        {
            "apiVersion": rbac_api,
            "kind": "Role",
            "metadata": meta(),
            "rules": AGENT_ROLE_RULES + _own_status_rules(agent),
        },
        {
            "apiVersion": rbac_api,
            "kind": "RoleBinding",
            "metadata": meta(),
            "subjects": [subject],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        },
    ]


def build_deployment(
    agent: Agent,
    tools: Mapping[str, AgentTool],
    providers: Mapping[str, Provider],
    config_maps: Sequence[dict[str, Any]],
    settings: BuilderSettings,
) -> tuple[dict[str, Any], list[str]]:
    """Deployment `<agent>` and the security-override violations of its pod.

    Recreate when the agent has storage: a ReadWriteOnce volume cannot be mounted by the old
    and the new pod at once during a rolling update.
    """
    pod, violations = agent_pod_spec(agent, tools, providers, settings)
    metadata = child_metadata(agent.name, agent, agent.name, "runtime")
    annotations = dict(agent.spec.pod_annotations or {})
    annotations[names.A_CONFIG_HASH] = config_hash(config_maps)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": runtime_selector(agent)},
            "strategy": {"type": "Recreate" if agent.spec.storage else "RollingUpdate"},
            "template": {
                "metadata": {"labels": dict(metadata["labels"]), "annotations": annotations},
                "spec": pod,
            },
        },
    }
    return deployment, violations


def build_service(agent: Agent) -> dict[str, Any]:
    """Service `<agent>`: the runtime API on port `http` 4096."""
    port = names.RUNTIME_PORT
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(agent.name, agent, agent.name, "service"),
        "spec": {
            "type": "ClusterIP",
            "selector": runtime_selector(agent),
            "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }


def build_storage_pvc(agent: Agent) -> dict[str, Any] | None:
    """PVC `<agent>-storage` mounted at /data, for a daemon with spec.storage."""
    storage = agent.spec.storage
    if agent.spec.mode != "daemon" or storage is None:
        return None
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage.size}},
    }
    if storage.storage_class:
        spec["storageClassName"] = storage.storage_class
    name = names.storage_pvc_name(agent.name)
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": child_metadata(name, agent, agent.name, "storage"),
        "spec": spec,
    }


def build_network_policy(agent: Agent) -> dict[str, Any] | None:
    """NetworkPolicy `<agent>-netpol`: ingress to the runtime pods only on TCP 4096; egress is
    left open (models, tools and the API server are reached from the pod)."""
    policy = agent.spec.network_policy
    if agent.spec.mode != "daemon" or not (policy and policy.enabled):
        return None
    name = names.network_policy_name(agent.name)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": child_metadata(name, agent, agent.name, "networkpolicy"),
        "spec": {
            "podSelector": {"matchLabels": runtime_selector(agent)},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": names.RUNTIME_PORT}]}],
        },
    }


@dataclass(frozen=True)
class AgentChildren:
    """Everything an Agent should own; what is None or empty is not wanted (delete it)."""

    config_maps: list[dict[str, Any]]
    rbac: list[dict[str, Any]]
    storage_pvc: dict[str, Any] | None
    deployment: dict[str, Any] | None
    service: dict[str, Any] | None
    network_policy: dict[str, Any] | None
    violations: list[str]
    """Refused security-override fields (the SecurityPolicyViolations condition)."""

    def manifests(self) -> list[dict[str, Any]]:
        """Every wanted child, in apply order (what a pod mounts before the pod)."""
        optional = (self.storage_pvc, self.deployment, self.service, self.network_policy)
        return [*self.rbac, *self.config_maps, *(m for m in optional if m is not None)]


def build_agent_children(
    agent: Agent,
    tools: Mapping[str, AgentTool],
    providers: Mapping[str, Provider],
    resources: Mapping[str, AgentResource],
    settings: BuilderSettings,
) -> AgentChildren:
    """All children of `agent`. A task agent gets only its ConfigMaps and RBAC (its Jobs are
    built per AgentRun); its violations are those of the pod its Jobs will run."""
    config_maps = build_config_maps(agent, tools, providers, resources)
    daemon = agent.spec.mode == "daemon"
    deployment: dict[str, Any] | None = None
    if daemon:
        deployment, violations = build_deployment(agent, tools, providers, config_maps, settings)
    else:
        violations = agent_pod_spec(agent, tools, providers, settings)[1]
    return AgentChildren(
        config_maps=config_maps,
        rbac=build_rbac(agent),
        storage_pvc=build_storage_pvc(agent),
        deployment=deployment,
        service=build_service(agent) if daemon else None,
        network_policy=build_network_policy(agent),
        violations=violations,
    )
