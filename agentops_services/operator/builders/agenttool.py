"""AgentTool children (inline ConfigMap, mcpServer Deployment and Service) and tool status.

mcpServer decision: our MCP gateway is Python and cannot be copied into an arbitrary image
(upstream's `copy-gateway` init container dropped a static Go binary in). So the mcpServer
container runs `mcpServer.image` with `command` exactly as given, and that server must speak
MCP over streamable HTTP on `port` at `/mcp`; `status.serviceURL` is that full URL. Per-agent
policy (permissions, approval) is enforced by each agent pod's own gateway sidecar in proxy
mode, pointed at this URL, so one server serves many agents with different rules. A stdio-only
server belongs in an `oci` tool, which the agent runtime spawns itself. No `agtool-<name>-config`
ConfigMap is made: the port it held lives in the Service.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from agentops_services.api.v1alpha1.agenttool import (
    AgentTool,
    ConfigMapSource,
    McpEndpointSource,
    McpServerSource,
    SourceType,
    ToolPhase,
)
from agentops_services.operator import names
from agentops_services.operator.builders.conditions import READY, DesiredCondition, condition
from agentops_services.operator.builders.credentials import secret_env
from agentops_services.operator.builders.metadata import owner_reference
from agentops_services.operator.builders.security import secure_pod

MCP_CONTAINER = "mcp-server"
PORT_NAME = "mcp"
READINESS_PERIOD_SECONDS = 10
"""Readiness is polled faster than the configured liveness interval so a new server is routed
to within seconds of listening."""
REACHABLE_REFUSALS = frozenset({401, 403, 405, 406})
"""Answers that prove an MCP endpoint is up although it refused our bare GET: it wants auth
(the probe sends none), or it is a streamable-HTTP endpoint that only takes POST or SSE."""

ToolHealth = tuple[ToolPhase, DesiredCondition]


def tool_children(tool: AgentTool) -> tuple[list[dict[str, Any]], list[str]]:
    """Every child the tool's source needs, and the security overrides refused on the way.

    Sources other than inline and mcpServer have no children; the controller deletes children
    it finds (by owner labels) that are not in this list, e.g. after a source change.
    """
    spec = tool.spec
    if spec.inline is not None:
        return [inline_config_map(tool, spec.inline.content)], []
    if spec.mcp_server is not None:
        deployment, violations = mcp_server_deployment(tool, spec.mcp_server)
        return [deployment, mcp_server_service(tool, spec.mcp_server)], violations
    return [], []


def _metadata(tool: AgentTool, name: str, extra_labels: dict[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if tool.namespace:
        meta["namespace"] = tool.namespace
    meta["labels"] = _labels(tool) | extra_labels
    meta["ownerReferences"] = [owner_reference(tool)]
    return meta


def _labels(tool: AgentTool) -> dict[str, str]:
    return {names.L_COMP: names.COMP_TOOL, names.L_MB: names.MANAGED_BY} | names.owner_labels(
        tool.kind_name(), tool.name
    )


def _selector(tool: AgentTool) -> dict[str, str]:
    return {names.L_COMP: names.COMP_TOOL, names.L_APP: names.tool_workload_name(tool.name)}


def inline_config_map(tool: AgentTool, content: str) -> dict[str, Any]:
    """ConfigMap `agtool-<name>-inline` with the script under key `tool`."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(tool, names.tool_inline_config_map_name(tool.name), {}),
        "data": {"tool": content},
    }


def mcp_server_deployment(
    tool: AgentTool, server: McpServerSource
) -> tuple[dict[str, Any], list[str]]:
    """Deployment `agtool-<name>` running the server image, behind the restricted floor."""
    selector = _selector(tool)
    container: dict[str, Any] = {
        "name": MCP_CONTAINER,
        "image": server.image,
        "command": list(server.command),
        "env": _env(server),
        "ports": [{"name": PORT_NAME, "containerPort": server.port, "protocol": "TCP"}],
        "readinessProbe": _probe(server) | {"periodSeconds": READINESS_PERIOD_SECONDS},
        "livenessProbe": _probe(server) | {"periodSeconds": _interval(server)},
    }
    if server.resources is not None:
        container["resources"] = server.resources.to_defaulted()
    pod: dict[str, Any] = {"containers": [container]}
    if server.service_account_name:
        pod["serviceAccountName"] = server.service_account_name
    security = server.security
    secured, violations = secure_pod(
        pod,
        MCP_CONTAINER,
        security.pod if security else None,
        security.container if security else None,
        automount_token=_automount_token(server),
    )
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(tool, names.tool_workload_name(tool.name), selector),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": _labels(tool) | selector},
                "spec": secured,
            },
        },
    }
    return deployment, violations


def _automount_token(server: McpServerSource) -> bool:
    """An explicit setting wins; otherwise a named ServiceAccount implies the server wants the
    API (a Kubernetes MCP server, say), which is useless without its token."""
    explicit = server.security.automount_service_account_token if server.security else None
    return explicit if explicit is not None else bool(server.service_account_name)


def _env(server: McpServerSource) -> list[dict[str, Any]]:
    """User env sorted by name (stable manifests), then secret-backed variables."""
    plain = [{"name": key, "value": value} for key, value in sorted((server.env or {}).items())]
    return plain + [secret_env(var.name, var.secret_ref) for var in server.secrets or ()]


def _probe(server: McpServerSource) -> dict[str, Any]:
    """HTTP GET on healthCheck.path when the server has one, else a TCP connect: an MCP
    endpoint itself cannot be probed with a bare GET."""
    path = server.health_check.path if server.health_check else None
    handler: dict[str, Any] = (
        {"httpGet": {"path": path, "port": PORT_NAME}}
        if path
        else {"tcpSocket": {"port": PORT_NAME}}
    )
    return handler | {"timeoutSeconds": 1, "failureThreshold": 3}


def _interval(server: McpServerSource) -> int:
    return server.health_check.interval_seconds if server.health_check else 30


def mcp_server_service(tool: AgentTool, server: McpServerSource) -> dict[str, Any]:
    """Service `agtool-<name>` exposing the server's port under the name `mcp`."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(tool, names.tool_workload_name(tool.name), {}),
        "spec": {
            "selector": _selector(tool),
            "ports": [
                {"name": PORT_NAME, "port": server.port, "targetPort": PORT_NAME, "protocol": "TCP"}
            ],
        },
    }


def tool_service_url(tool: AgentTool) -> str | None:
    """status.serviceURL: the MCP URL agents connect to (mcpServer, mcpEndpoint), else None."""
    spec = tool.spec
    if spec.mcp_server is not None:
        return names.mcp_server_url(tool.name, tool.namespace or "default", spec.mcp_server.port)
    if spec.mcp_endpoint is not None:
        return spec.mcp_endpoint.url
    return None


def endpoint_probe_url(source: McpEndpointSource) -> str:
    """What the controller GETs to check an mcpEndpoint: healthCheck.url, else the URL."""
    health_url = source.health_check.url if source.health_check else None
    return health_url or source.url


def endpoint_probe_interval(source: McpEndpointSource) -> int:
    """Seconds until the next check (the controller requeues the tool after it)."""
    return source.health_check.interval_seconds if source.health_check else 30


def endpoint_health(status_code: int | None, error: str | None) -> ToolHealth:
    """Phase and Ready condition from one probe of an mcpEndpoint: its HTTP status, or the
    transport error (connection refused, TLS, timeout) when there was no answer."""
    if status_code is None:
        why = error or "no response"
        return "Failed", condition(
            READY, "False", "HealthCheckFailed", f"Failed to reach the endpoint: {why}"
        )
    if status_code < 400:
        return "Ready", condition(READY, "True", "Reachable", f"Endpoint answered {status_code}")
    if status_code in REACHABLE_REFUSALS:
        return "Ready", condition(
            READY,
            "True",
            "Reachable",
            f"Endpoint answered {status_code} to a plain GET (it is up; MCP clients "
            "authenticate or POST)",
        )
    return "Failed", condition(
        READY, "False", "HealthCheckFailed", f"Health check returned {status_code}"
    )


def deployment_health(ready_replicas: int | None) -> ToolHealth:
    """Phase and Ready condition of an mcpServer from its Deployment's readyReplicas."""
    if ready_replicas:
        return "Ready", condition(READY, "True", "Running", f"{ready_replicas} replica(s) ready")
    return "Deploying", condition(
        READY, "False", "Deploying", "Waiting for the MCP server pod to become ready"
    )


def config_map_health(source: ConfigMapSource, keys: Collection[str] | None) -> ToolHealth:
    """Phase and Ready condition of a configMap tool; `keys` are the ConfigMap's data keys,
    None when it does not exist."""
    if keys is None:
        return "Failed", condition(
            READY, "False", "ConfigMapNotFound", f'ConfigMap "{source.name}" not found'
        )
    if source.key not in keys:
        return "Failed", condition(
            READY,
            "False",
            "KeyNotFound",
            f'ConfigMap "{source.name}" has no key "{source.key}"',
        )
    return "Ready", condition(
        READY, "True", "ConfigMapFound", f'ConfigMap "{source.name}" key "{source.key}" found'
    )


_STATIC_READY: dict[SourceType, tuple[str, str]] = {
    "oci": ("OCIRefValid", "OCI artifact reference is well-formed; pulled by each agent pod"),
    "skill": ("SkillRefValid", "Skill reference is well-formed; pulled by each agent pod"),
    "inline": ("InlineContentStored", "Inline script stored in a ConfigMap"),
}


def static_health(source_type: SourceType | None) -> ToolHealth | None:
    """Phase and Ready condition of sources that need no observation (oci, skill, inline),
    or of a tool with no source at all; None for sources the controller must observe."""
    if source_type is None:
        return "Failed", condition(READY, "False", "NoSource", "No source block set")
    if source_type not in _STATIC_READY:
        return None
    reason, message = _STATIC_READY[source_type]
    return "Ready", condition(READY, "True", reason, message)
