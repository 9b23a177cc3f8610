"""Channel children: the bridge's RBAC, Deployment, Service and webhook Ingress, plus status.

Fixes over upstream: children carry the channel under L_CHANNEL and the target agent under
L_AGENT (upstream put the channel name in L_AGENT, §9.15); allow-lists and event/action/label
filters reach the bridge as JSON env (upstream dropped them, §9.6); the bridge gets its API
token whenever it creates AgentRuns, which includes event bridges in front of daemon agents
(upstream mounted it for task agents only). A chat channel may front a task agent: the bridge
creates the AgentRun and reads its answer back (hence `get` and `watch`), so no mode mismatch
needs refusing.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from agentops_services.api.v1alpha1.agent import AgentMode
from agentops_services.api.v1alpha1.channel import (
    CHAT_TYPES,
    Channel,
    ChannelSpec,
    WebhookIngress,
)
from agentops_services.api.v1alpha1.common import SecretKeyRef
from agentops_services.api.v1alpha1.meta import GROUP
from agentops_services.operator import names
from agentops_services.operator.builders.conditions import READY, DesiredCondition, condition
from agentops_services.operator.builders.credentials import secret_env
from agentops_services.operator.builders.metadata import child_metadata
from agentops_services.operator.builders.security import secure_pod

CONTAINER = "channel"
PORT_NAME = "http"
HEALTH_PATH = "/healthz"
RUN_VERBS = ("create", "get", "watch")
"""The bridge creates AgentRuns and follows the one it created to post the answer back."""

ChannelPhase = Literal["Pending", "Ready", "Failed"]
ChannelHealth = tuple[ChannelPhase, DesiredCondition]


def channel_children(
    channel: Channel, agent_mode: AgentMode
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every child of the channel (the Ingress only with spec.webhook), and the security
    overrides refused; `agent_mode` is the mode of the Agent in spec.agentRef."""
    deployment, violations = bridge_deployment(channel, agent_mode)
    children = [*bridge_rbac(channel), deployment, bridge_service(channel)]
    if channel.spec.webhook is not None:
        children.append(webhook_ingress(channel, channel.spec.webhook))
    return children, violations


def _metadata(channel: Channel, name: str) -> dict[str, Any]:
    return child_metadata(
        name,
        channel,
        channel.spec.agent_ref,
        names.COMP_CHANNEL,
        {names.L_CHANNEL: channel.name},
    )


def _selector(channel: Channel) -> dict[str, str]:
    return {names.L_COMP: names.COMP_CHANNEL, names.L_CHANNEL: channel.name}


def bridge_rbac(channel: Channel) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding `<ch>-channel`: AgentRuns in the namespace only."""
    name = names.channel_rbac_name(channel.name)
    rbac = "rbac.authorization.k8s.io"
    subject: dict[str, Any] = {"kind": "ServiceAccount", "name": name}
    if channel.namespace:
        subject["namespace"] = channel.namespace
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(channel, name)},
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "Role",
            "metadata": _metadata(channel, name),
            "rules": [{"apiGroups": [GROUP], "resources": ["agentruns"], "verbs": list(RUN_VERBS)}],
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "RoleBinding",
            "metadata": _metadata(channel, name),
            "subjects": [subject],
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": name},
        },
    ]


def bridge_deployment(channel: Channel, agent_mode: AgentMode) -> tuple[dict[str, Any], list[str]]:
    """Deployment `<ch>` running the bridge image, behind the restricted floor."""
    spec = channel.spec
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "ports": [{"name": PORT_NAME, "containerPort": names.CHANNEL_PORT, "protocol": "TCP"}],
        "env": bridge_env(channel, agent_mode),
        "readinessProbe": _health_probe(period_seconds=10),
        "livenessProbe": _health_probe(period_seconds=30),
    }
    if spec.resources is not None:
        container["resources"] = spec.resources.to_defaulted()
    pod = {
        "serviceAccountName": names.channel_rbac_name(channel.name),
        "containers": [container],
    }
    security = spec.security
    secured, violations = secure_pod(
        pod,
        CONTAINER,
        security.pod if security else None,
        security.container if security else None,
        automount_token=_automount_token(spec, agent_mode),
    )
    selector = _selector(channel)
    metadata = _metadata(channel, channel.name)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": dict(metadata["labels"])}, "spec": secured},
        },
    }
    return deployment, violations


def _health_probe(period_seconds: int) -> dict[str, Any]:
    """GET /healthz on the bridge; readiness too (upstream had none), so Ready means serving."""
    return {
        "httpGet": {"path": HEALTH_PATH, "port": PORT_NAME},
        "timeoutSeconds": 1,
        "periodSeconds": period_seconds,
    }


def creates_runs(spec: ChannelSpec, agent_mode: AgentMode) -> bool:
    """Whether the bridge creates AgentRuns (event sources, or any source with a task agent)
    rather than posting to a daemon agent's HTTP API."""
    return spec.type not in CHAT_TYPES or agent_mode == "task"


def _automount_token(spec: ChannelSpec, agent_mode: AgentMode) -> bool:
    explicit = spec.security.automount_service_account_token if spec.security else None
    return explicit if explicit is not None else creates_runs(spec, agent_mode)


def bridge_env(channel: Channel, agent_mode: AgentMode) -> list[dict[str, Any]]:
    """The bridge's environment (§4.5), its filters as JSON lists, then its secrets."""
    spec = channel.spec
    env: list[dict[str, Any]] = [
        {"name": "CHANNEL_TYPE", "value": spec.type},
        {"name": "CHANNEL_NAME", "value": channel.name},
        {"name": "AGENT_REF", "value": spec.agent_ref},
        {"name": "AGENT_MODE", "value": agent_mode},
    ]
    if agent_mode == "daemon":
        url = f"http://{spec.agent_ref}.{_namespace(channel)}.svc:{names.RUNTIME_PORT}"
        env.append({"name": "AGENT_URL", "value": url})
    if spec.prompt:
        env.append({"name": "PROMPT_TEMPLATE", "value": spec.prompt})
    env.append(
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}
    )
    env += [
        {"name": name, "value": json.dumps(values, separators=(",", ":"))}
        for name, values in _filters(spec).items()
        if values
    ]
    env += [secret_env(name, ref) for name, ref in _secrets(spec).items()]
    return env


def _filters(spec: ChannelSpec) -> dict[str, list[str] | None]:
    """Who may talk to a chat bot, and which forge events start runs (empty: no filter)."""
    if spec.telegram is not None:
        return {
            "ALLOWED_USERS": spec.telegram.allowed_users,
            "ALLOWED_CHATS": spec.telegram.allowed_chats,
        }
    chat = spec.slack or spec.discord
    if chat is not None:
        return {"ALLOWED_CHANNELS": chat.allowed_channels}
    forge = spec.gitlab or spec.github
    if forge is not None:
        return {
            "EVENT_TYPES": forge.events,
            "EVENT_ACTIONS": forge.actions,
            "EVENT_LABELS": forge.labels,
        }
    return {}


def _secrets(spec: ChannelSpec) -> dict[str, SecretKeyRef]:
    bot = spec.telegram or spec.slack or spec.discord
    if bot is not None:
        return {f"{spec.type.upper()}_BOT_TOKEN": bot.bot_token_secret}
    forge = spec.gitlab or spec.github
    webhook_secret = forge.secret if forge else None
    if webhook_secret is None and spec.webhook_config is not None:
        webhook_secret = spec.webhook_config.secret
    return {"WEBHOOK_SECRET": webhook_secret} if webhook_secret else {}


def bridge_service(channel: Channel) -> dict[str, Any]:
    """Service `<ch>` on port 8080 (`http`)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(channel, channel.name),
        "spec": {
            "selector": _selector(channel),
            "ports": [
                {
                    "name": PORT_NAME,
                    "port": names.CHANNEL_PORT,
                    "targetPort": PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }


def webhook_ingress(channel: Channel, webhook: WebhookIngress) -> dict[str, Any]:
    """Ingress `<ch>` routing spec.webhook's host and path prefix to the bridge; with tls, a
    cert-manager certificate in Secret `<ch>-tls` (an Issuer wins over a ClusterIssuer)."""
    metadata = _metadata(channel, channel.name)
    spec: dict[str, Any] = {}
    if webhook.ingress_class_name:
        spec["ingressClassName"] = webhook.ingress_class_name
    tls = webhook.tls
    if tls is not None:
        spec["tls"] = [{"hosts": [webhook.host], "secretName": f"{channel.name}-tls"}]
        if tls.issuer:
            metadata["annotations"] = {"cert-manager.io/issuer": tls.issuer}
        elif tls.cluster_issuer:
            metadata["annotations"] = {"cert-manager.io/cluster-issuer": tls.cluster_issuer}
    backend = {"service": {"name": channel.name, "port": {"name": PORT_NAME}}}
    path = {"path": webhook.path, "pathType": "Prefix", "backend": backend}
    spec["rules"] = [{"host": webhook.host, "http": {"paths": [path]}}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
    }


def _namespace(channel: Channel) -> str:
    return channel.namespace or "default"


def channel_service_url(channel: Channel) -> str:
    """status.serviceURL: the bridge inside the cluster."""
    return f"http://{channel.name}.{_namespace(channel)}.svc:{names.CHANNEL_PORT}"


def channel_webhook_url(channel: Channel) -> str | None:
    """status.webhookURL: what to configure at the event source (None without spec.webhook)."""
    webhook = channel.spec.webhook
    if webhook is None:
        return None
    scheme = "https" if webhook.tls is not None else "http"
    return f"{scheme}://{webhook.host}{webhook.path}"


def channel_health(ready_replicas: int | None) -> ChannelHealth:
    """Phase and Ready condition from the bridge Deployment's readyReplicas."""
    if ready_replicas:
        return "Ready", condition(READY, "True", "Running", f"{ready_replicas} replica(s) ready")
    return "Pending", condition(
        READY, "False", "Deploying", "Waiting for the bridge pod to become ready"
    )


def agent_missing_health(channel: Channel, error: str) -> ChannelHealth:
    """Phase and Ready condition when spec.agentRef cannot be read (the controller watches
    Agents, so creating it later reconciles the channel)."""
    return "Failed", condition(
        READY,
        "False",
        "AgentNotFound",
        f'Agent "{channel.spec.agent_ref}" not found: {error}',
    )
