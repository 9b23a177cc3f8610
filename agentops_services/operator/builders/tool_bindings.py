"""An Agent's tool bindings joined with the AgentTools they name, in spec.tools order.

config.json, the gateway sidecars, the init containers and permissions.json are all built from
this one list, so a binding's port, path and policy agree everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from agentops_services.api.runtime_config import PermissionPolicy
from agentops_services.api.v1alpha1.agent import Agent, AgentToolBinding
from agentops_services.api.v1alpha1.agenttool import AgentTool, SourceType
from agentops_services.operator import names

MCP_SOURCES: tuple[SourceType, ...] = ("mcpServer", "mcpEndpoint")


@dataclass(frozen=True)
class BoundTool:
    """One binding with its resolved AgentTool."""

    binding: AgentToolBinding
    tool: AgentTool
    source: SourceType
    gateway_port: int | None
    """9001+i for the i-th MCP binding (its gateway sidecar); None for other sources."""

    @property
    def name(self) -> str:
        return self.binding.name

    @property
    def path(self) -> str:
        """Where the tool's files are in the runtime container."""
        return f"{names.TOOLS_MOUNT}/{self.binding.name}"

    def policy(self) -> PermissionPolicy | None:
        """The binding's allow/deny rules, else the AgentTool's defaultPermissions (upstream
        ignored those although its docs promised them), else none (allow all)."""
        if self.binding.permissions:
            own = self.binding.permissions
            return PermissionPolicy(mode=own.mode, rules=list(own.rules))
        inherited = self.tool.spec.default_permissions
        if inherited and inherited.mode:
            return PermissionPolicy(mode=inherited.mode, rules=list(inherited.rules or ()))
        return None


def bind_tools(agent: Agent, tools: Mapping[str, AgentTool]) -> list[BoundTool]:
    """The agent's bindings whose AgentTool is in `tools` (missing ones are skipped: the Agent
    controller waits for them, a task run goes on without them)."""
    bound: list[BoundTool] = []
    next_port = names.GATEWAY_BASE_PORT
    for binding in agent.spec.tools or ():
        tool = tools.get(binding.name)
        source = tool.spec.source_type() if tool else None
        if tool is None or source is None:
            continue
        port = None
        if source in MCP_SOURCES:
            port, next_port = next_port, next_port + 1
        bound.append(BoundTool(binding, tool, source, port))
    return bound


def inline_tool_key(bound: BoundTool) -> str:
    """The key of the agent's config ConfigMap holding an inline tool's script (upstream made
    a ConfigMap for inline tools but never mounted it)."""
    return f"inline-tool-{bound.name}"


def mcp_tools(bound: list[BoundTool]) -> list[BoundTool]:
    return [b for b in bound if b.gateway_port is not None]


def permissions_json(bound: list[BoundTool]) -> str:
    """permissions.json of the gateway sidecars: binding name -> {mode, rules}, only for MCP
    bindings with a policy. No policy at all is `{}` (upstream wrote `{"_empty": null}`)."""
    document = {
        b.name: policy.model_dump(mode="json")
        for b in mcp_tools(bound)
        if (policy := b.policy()) is not None
    }
    return json.dumps(document, indent=2) + "\n"


def upstream_url(bound: BoundTool, namespace: str) -> str:
    """The MCP endpoint a gateway sidecar proxies to: the AgentTool's published serviceURL,
    else the endpoint URL (mcpEndpoint) or the operator-deployed server's Service (mcpServer)."""
    status = bound.tool.status
    if status and status.service_url:
        return status.service_url
    spec = bound.tool.spec
    if spec.mcp_endpoint:
        return spec.mcp_endpoint.url
    port = spec.mcp_server.port if spec.mcp_server else names.MCP_SERVER_PORT
    return names.mcp_server_url(bound.tool.name, namespace, port)
