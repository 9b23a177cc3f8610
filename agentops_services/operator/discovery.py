"""Listing an MCP server's tools (for AgentTool status.discoveredTools) and probing an
endpoint's health, each with a deadline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import httpx

PROBE_TIMEOUT = 10.0
DISCOVERY_TIMEOUT = 15.0
MAX_TOOLS = 512
"""The status field's bound: a server listing more is cut there."""
DESCRIPTION_CAP = 1024


async def probe(url: str, timeout: float = PROBE_TIMEOUT) -> tuple[int | None, str | None]:
    """GET the URL: (status code, None), or (None, why it could not be reached)."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as http:
            response = await http.get(url)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return response.status_code, None


async def list_tools(
    url: str,
    transport: Literal["sse", "streamable-http"] = "streamable-http",
    headers: Mapping[str, str] | None = None,
    timeout: float = DISCOVERY_TIMEOUT,
) -> list[dict[str, Any]]:
    """The server's tools as status entries {name, description, inputSchema}."""
    # The MCP SDK is imported on first use: most operators never see an mcpEndpoint tool, and
    # the SDK costs ~40 MB of resident memory.
    import httpx2  # noqa: PLC0415
    from mcp import Client  # noqa: PLC0415
    from mcp.client.sse import sse_client  # noqa: PLC0415
    from mcp.client.streamable_http import streamable_http_client  # noqa: PLC0415

    if transport == "sse":
        server: Any = sse_client(url, headers=dict(headers or {}), timeout=timeout)
    else:
        http = httpx2.AsyncClient(headers=dict(headers or {}), timeout=timeout)
        server = streamable_http_client(url, http_client=http)
    async with Client(server, mode="legacy") as client:
        listing = await client.list_tools()
    tools = []
    for tool in listing.tools[:MAX_TOOLS]:
        entry: dict[str, Any] = {"name": tool.name}
        if tool.description:
            entry["description"] = tool.description[:DESCRIPTION_CAP]
        if tool.input_schema:
            entry["inputSchema"] = dict(tool.input_schema)
        tools.append(entry)
    return tools
