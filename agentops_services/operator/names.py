"""Label keys, component names, ports and child names shared by builders and controllers."""

from __future__ import annotations

GROUP = "agents.agentops.io"
FIELD_MANAGER = "agentops-operator"

L_AGENT = f"{GROUP}/agent"
L_COMP = f"{GROUP}/component"
L_RUN = f"{GROUP}/run"
L_MB = "app.kubernetes.io/managed-by"
MANAGED_BY = "agentops-operator"
L_OWNER_KIND = f"{GROUP}/owner-kind"
"""Set on every child with L_OWNER (the owner's name), so a controller finds the children it
made without listing the whole namespace, and deletes the ones a feature no longer needs."""
L_OWNER = f"{GROUP}/owner"

A_TRACEPARENT = f"{GROUP}/traceparent"
A_PARENT_AGENT = f"{GROUP}/parent-agent"
A_CONFIG_HASH = f"{GROUP}/config-hash"
"""On pod templates: a hash of the rendered ConfigMaps, so a config change rolls the pods."""

RUNTIME_PORT = 4096
MCP_SERVER_PORT = 8080
GATEWAY_BASE_PORT = 9001
TOKEN_INJECTOR_BASE_PORT = 9101
CHANNEL_PORT = 8080
MEMORY_PORT = 7437

RESTRICTED_UID = 65532


def common_labels(name: str, component: str) -> dict[str, str]:
    """CommonLabels(x, comp) of the spec: which agent, which part of it, and who manages it."""
    return {L_AGENT: name, L_COMP: component, L_MB: MANAGED_BY}


def owner_labels(kind: str, name: str) -> dict[str, str]:
    """Which resource a child belongs to (see L_OWNER_KIND)."""
    return {L_OWNER_KIND: kind.lower(), L_OWNER: name}


CONFIG_MOUNT = "/etc/operator"
CONFIG_KEY = "config.json"
GATEWAY_CONFIG_MOUNT = "/etc/gateway"
PERMISSIONS_KEY = "permissions.json"
TOOLS_MOUNT = "/tools"
DATA_MOUNT = "/data"
CONTEXT_MOUNT = "/etc/context"
MCP_PATH = "/mcp"

RUNTIME_CONTAINER = "agent-runtime"
"""The main container of agent pods; the AgentRun controller reads its termination message."""


def config_map_name(agent: str) -> str:
    """The agent's config.json ConfigMap."""
    return f"{agent}-config"


def gateway_config_map_name(agent: str) -> str:
    """The agent's permissions.json ConfigMap, read by its gateway sidecars."""
    return f"{agent}-gateway"


def run_config_map_name(run: str) -> str:
    """The per-run config.json ConfigMap of a git-workspace AgentRun."""
    return f"{run}-config"


def agent_rbac_name(agent: str) -> str:
    """ServiceAccount, Role and RoleBinding of an agent (§7.2)."""
    return f"{agent}-agent"


def storage_pvc_name(agent: str) -> str:
    return f"{agent}-storage"


def network_policy_name(agent: str) -> str:
    return f"{agent}-netpol"


def mcp_server_url(tool: str, namespace: str, port: int) -> str:
    """The MCP endpoint of an operator-deployed mcpServer AgentTool (its Service
    `agtool-<name>`), as a gateway proxy or the runtime connects to it: the full /mcp URL."""
    return f"http://agtool-{tool}.{namespace}.svc:{port}{MCP_PATH}"


L_APP = "app"
"""Pod selector label of single-workload children (mcpServer tools, channel bridges)."""
L_CHANNEL = f"{GROUP}/channel"
"""The Channel a bridge child belongs to (upstream put it under L_AGENT, §9.15)."""
A_SCHEDULED_AT = f"{GROUP}/scheduled-at"
"""On scheduled AgentRuns: the cron time they stand for (RFC 3339), so the schedule resumes
from the newest one after a restart."""
COMP_TOOL = "agenttool"
COMP_CHANNEL = "channel"


def tool_workload_name(tool: str) -> str:
    """Deployment and Service of an mcpServer AgentTool."""
    return f"agtool-{tool}"


def tool_inline_config_map_name(tool: str) -> str:
    """ConfigMap holding an inline AgentTool's script (key `tool`)."""
    return f"agtool-{tool}-inline"


def channel_rbac_name(channel: str) -> str:
    """ServiceAccount, Role and RoleBinding of a channel bridge."""
    return f"{channel}-channel"
