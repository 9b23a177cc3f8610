"""AgentTool: children for inline and mcpServer sources, and a status that says whether agents
can use the tool (§4.3). mcpEndpoint tools are probed on their healthCheck interval (the one
deliberate periodic check: nothing else would notice a remote server going away), and the
tools of a reachable MCP server are listed into status.discoveredTools."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from agentops_services.api.v1alpha1 import AgentTool
from agentops_services.api.v1alpha1.agenttool import McpEndpointSource
from agentops_services.kube import resources as types
from agentops_services.kube.informer import Key
from agentops_services.operator import discovery
from agentops_services.operator.builders.agenttool import (
    ToolHealth,
    config_map_health,
    deployment_health,
    endpoint_health,
    endpoint_probe_interval,
    endpoint_probe_url,
    static_health,
    tool_children,
    tool_service_url,
)
from agentops_services.operator.builders.conditions import (
    ACCEPTED,
    READY,
    DesiredCondition,
    condition,
)
from agentops_services.operator.builders.security import violations_condition
from agentops_services.operator.cluster import Cluster, parse
from agentops_services.operator.reconcilers.status import publish, sync_children
from agentops_services.telemetry import describe

LOG = logging.getLogger("agentops.operator.agenttool")
CHILD_KINDS = (types.CONFIG_MAP, types.DEPLOYMENT, types.SERVICE)
CONFIG_MAP_RECHECK = 60.0
"""A configMap tool whose ConfigMap is missing looks again this often: users' ConfigMaps are
not watched (the operator watches only what it labels)."""


class AgentToolReconciler:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._listed: dict[Key, int | None] = {}
        """The Deployment generation whose server's tools were last listed, per mcpServer."""

    async def reconcile(self, key: Key) -> float | None:
        cluster = self.cluster
        obj = cluster.cached(types.AGENT_TOOL, *key)
        tool = None if obj is None else parse(AgentTool, obj)
        if obj is None or tool is None:
            self._listed.pop(key, None)
            return None
        namespace, name = key
        desired, violations = tool_children(tool)
        live = await sync_children(cluster, types.AGENT_TOOL, obj, desired, CHILD_KINDS)
        spec = tool.spec
        source = spec.source_type()
        again: float | None = None
        discovered = (obj.get("status") or {}).get("discoveredTools")
        url = tool_service_url(tool)
        health = static_health(source)
        if health is None and spec.config_map is not None:
            found = await cluster.kube.get(types.CONFIG_MAP, namespace, spec.config_map.name)
            keys = None if found is None else found.get("data") or {}
            health = config_map_health(spec.config_map, keys)
            if health[0] != "Ready":
                again = CONFIG_MAP_RECHECK
        elif health is None and spec.mcp_server is not None:
            deployment = live.get(("Deployment", f"agtool-{name}")) or {}
            ready = (deployment.get("status") or {}).get("readyReplicas")
            health = deployment_health(ready)
            generation = deployment.get("metadata", {}).get("generation")
            if health[0] == "Ready" and url and self._listed.get(key) != generation:
                discovered = await self._tools_or(url, "streamable-http", None, discovered)
                self._listed[key] = generation
        elif health is None and spec.mcp_endpoint is not None:
            health, discovered = await self._check_endpoint(spec.mcp_endpoint, discovered)
            again = float(endpoint_probe_interval(spec.mcp_endpoint))
        assert health is not None
        phase, ready_condition = health
        conditions: list[DesiredCondition] = [
            condition(ACCEPTED, "True", "Valid", f"Source {source}")
            if source is not None
            else condition(ACCEPTED, "False", "NoSource", "No source block set"),
            ready_condition,
        ]
        if spec.mcp_server is not None:
            conditions.append(violations_condition(violations))
        await publish(
            cluster,
            types.AGENT_TOOL,
            obj,
            conditions,
            phase=phase,
            sourceType=source,
            serviceURL=url,
            discoveredTools=discovered,
        )
        return again

    async def _check_endpoint(
        self, endpoint: McpEndpointSource, previous: Any
    ) -> tuple[ToolHealth, Any]:
        """Health and tools of a remote MCP server. Without a healthCheck.url the check is an
        MCP handshake and tools/list (a plain GET on a streamable-HTTP endpoint answers 400
        and proves little); with one, that URL is probed first. Endpoints behind OAuth2 are only
        probed: the operator holds no token for them. A failed listing keeps the previous
        tools, so a blip does not empty what agents and the console show."""
        explicit = endpoint.health_check.url if endpoint.health_check else None
        if explicit or endpoint.oauth is not None:
            health = endpoint_health(*await discovery.probe(endpoint_probe_url(endpoint)))
            if health[0] != "Ready" or endpoint.oauth is not None:
                return health, previous
        try:
            tools = await self._tools(endpoint.url, endpoint.transport, endpoint.headers)
        except Exception as exc:
            if explicit:
                return health, previous
            return endpoint_health(None, describe(exc)), previous
        ready = condition(READY, "True", "Reachable", f"The MCP server lists {len(tools)} tools")
        return ("Ready", ready), tools

    async def _tools(
        self, url: str, transport: Any, headers: dict[str, str] | None
    ) -> list[dict[str, Any]]:
        try:
            async with asyncio.timeout(discovery.DISCOVERY_TIMEOUT):
                return await discovery.list_tools(url, transport, headers)
        except Exception as exc:
            LOG.info("could not list the tools of %s: %s", url, describe(exc))
            raise

    async def _tools_or(
        self, url: str, transport: Any, headers: dict[str, str] | None, previous: Any
    ) -> Any:
        """The tools of an operator-deployed server once it is ready, listed again when its
        Deployment changes (a new image may bring new tools); `previous` when it cannot be
        reached from here."""
        try:
            return await self._tools(url, transport, headers)
        except Exception:
            return previous
