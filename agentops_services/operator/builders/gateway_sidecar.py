"""MCP gateway sidecars `gw-<binding>` (§5.4): `agentops mcp-gateway` in proxy mode in front of
each MCP binding, enforcing its permissions.json policy on tools/list and tools/call.

They are native sidecars (init containers with restartPolicy Always): they start before the
runtime and stop after it, and a task Job completes when the runtime exits (upstream's plain
sidecar containers kept Jobs running until their deadline). An mcpEndpoint's transport, headers
and OAuth2 client credentials are passed on (upstream ignored them).
"""

from __future__ import annotations

import json
from typing import Any

from agentops_services.operator import names
from agentops_services.operator.builders.credentials import secret_env
from agentops_services.operator.builders.tool_bindings import BoundTool, upstream_url

GATEWAY_CONFIG_VOLUME = "gateway-config"


def _endpoint_env(bound: BoundTool) -> list[dict[str, Any]]:
    endpoint = bound.tool.spec.mcp_endpoint
    if endpoint is None:
        return []
    env: list[dict[str, Any]] = [{"name": "GATEWAY_TRANSPORT", "value": endpoint.transport}]
    if endpoint.headers:
        env.append({"name": "GATEWAY_HEADERS", "value": json.dumps(endpoint.headers)})
    if endpoint.oauth:
        env.append(secret_env("GATEWAY_OAUTH_CLIENT_ID", endpoint.oauth.client_id_secret))
        env.append(secret_env("GATEWAY_OAUTH_CLIENT_SECRET", endpoint.oauth.client_secret_secret))
    return env


def gateway_sidecar(bound: BoundTool, image: str, namespace: str) -> dict[str, Any]:
    """The gateway of an MCP binding, listening on the port config.json gives the runtime."""
    port = bound.gateway_port
    if port is None:
        raise ValueError(f"binding {bound.name} is not an MCP binding")

    def probe(delay: int, period: int) -> dict[str, Any]:
        return {"tcpSocket": {"port": port}, "initialDelaySeconds": delay, "periodSeconds": period}

    return {
        "name": f"gw-{bound.name}",
        "image": image,
        "command": ["agentops", "mcp-gateway"],
        "restartPolicy": "Always",
        "env": [
            {"name": "GATEWAY_MODE", "value": "proxy"},
            {"name": "GATEWAY_UPSTREAM", "value": upstream_url(bound, namespace)},
            {"name": "GATEWAY_PORT", "value": str(port)},
            {
                "name": "GATEWAY_CONFIG",
                "value": f"{names.GATEWAY_CONFIG_MOUNT}/{names.PERMISSIONS_KEY}",
            },
            {"name": "GATEWAY_SERVER_NAME", "value": bound.name},
            *_endpoint_env(bound),
        ],
        "ports": [
            {
                "name": f"gw-{port - names.GATEWAY_BASE_PORT}",
                "containerPort": port,
                "protocol": "TCP",
            }
        ],
        "readinessProbe": probe(delay=2, period=10),
        "livenessProbe": probe(delay=5, period=30),
        "volumeMounts": [
            {
                "name": GATEWAY_CONFIG_VOLUME,
                "mountPath": names.GATEWAY_CONFIG_MOUNT,
                "readOnly": True,
            }
        ],
    }
