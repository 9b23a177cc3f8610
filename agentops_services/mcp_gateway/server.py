"""The gateway's HTTP side: an MCP server at `/mcp` (streamable HTTP) whose tools are the
upstream's, listed and called through the agent's allow/deny policy, and `GET /health`.

The gateway is an MCP server in its own right rather than a byte pipe: it speaks both protocol
eras downstream whatever the upstream speaks, and every tools/call passes through one handler
where the policy is applied to parsed, validated arguments, so a call the policy blocks never
reaches the upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

import mcp_types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.session import ServerSession
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from agentops_services import __version__
from agentops_services.mcp_gateway.config import GatewaySettings
from agentops_services.mcp_gateway.transports import TransportFactory, transport_factory
from agentops_services.mcp_gateway.upstream import LOG, Upstream, error_result
from agentops_services.runtime.mcp_policy import blocked_reason, listed

LOOPBACK = ("127.0.0.1", "localhost", "::1")
PING_INTERVAL = 15.0
MAX_NOTIFIED_SESSIONS = 256
"""Sessions told about tool-list changes, most recently active first. Far more than the clients
one gateway has (its agent's runtime, a console); the bound keeps sessions that ended without
saying so from piling up."""

Context = ServerRequestContext[Any, Any]


class _ListChangedServer(Server[Any]):
    """A low-level MCP server that advertises `tools.listChanged`: the gateway passes on the
    upstream's announcements and makes its own when the upstream comes back."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True),
            experimental_capabilities,
            extensions,
        )


class Gateway:
    """One gateway: the upstream connection, the MCP server in front of it and its app."""

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        open_transport: TransportFactory | None = None,
        ping_interval: float = PING_INTERVAL,
    ) -> None:
        self.settings = settings
        self.exit_code = 0
        self.stopped = asyncio.Event()
        """Set when the gateway cannot go on (spawn mode: the child is gone)."""
        spawn = settings.mode == "spawn"
        self.upstream = Upstream(
            settings.upstream_label(),
            open_transport or transport_factory(settings),
            on_tools_changed=self._announce_tools_changed,
            on_lost=self._child_lost if spawn else None,
            # A child's death is seen at once (its stdout closes); a remote server's is not.
            ping_interval=None if spawn else ping_interval,
        )
        self._server = _ListChangedServer(
            "agentops-mcp-gateway",
            version=__version__,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )
        self._sessions: OrderedDict[str, ServerSession] = OrderedDict()
        self._closing = asyncio.Event()
        self._sessions_task: asyncio.Task[None] | None = None

    def app(self) -> Starlette:
        """The ASGI app: `/mcp` and `/health`; its lifespan runs the upstream connection."""
        host = self.settings.host
        # Bound to loopback, the MCP transport refuses foreign Host headers (DNS rebinding); bound
        # to a pod address it must accept the Service's name.
        security = (
            None
            if host in LOOPBACK
            else TransportSecuritySettings(enable_dns_rebinding_protection=False)
        )
        mcp_routes = self._server.streamable_http_app(
            streamable_http_path="/mcp", transport_security=security, host=host
        ).routes
        routes: list[BaseRoute] = [Route("/health", self._health, methods=["GET"]), *mcp_routes]
        return Starlette(routes=routes, lifespan=self._lifespan)

    async def close_sessions(self) -> None:
        """End every downstream session, so open notification streams do not hold up the
        server's shutdown until its drain timeout."""
        self._closing.set()
        if self._sessions_task is not None:
            await self._sessions_task

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        ready = asyncio.Event()
        self._sessions_task = asyncio.create_task(self._run_sessions(ready))
        await ready.wait()
        self.upstream.start()
        LOG.info(
            "MCP gateway (%s) for %s, policy: %s",
            self.settings.mode,
            self.upstream.label,
            self.settings.policy.mode if self.settings.policy else "none (everything allowed)",
            extra={"server_name": self.settings.server_name},
        )
        try:
            yield
        finally:
            await self.close_sessions()
            await self.upstream.stop()

    async def _run_sessions(self, ready: asyncio.Event) -> None:
        # Its own task, so that close_sessions can end it before the lifespan's turn comes.
        async with self._server.session_manager.run():
            ready.set()
            await self._closing.wait()

    def _child_lost(self, reason: str) -> None:
        LOG.error(
            "MCP server process %s is gone (%s); the gateway exits so the pod is restarted",
            self.upstream.label,
            reason,
        )
        self.exit_code = 1
        self.stopped.set()

    async def _health(self, _: Request) -> JSONResponse:
        upstream = self.upstream
        body: dict[str, Any] = {
            "status": "ok" if upstream.connected else "unavailable",
            "mode": self.settings.mode,
            "upstream": upstream.label,
        }
        if self.settings.server_name:
            body["serverName"] = self.settings.server_name
        if not upstream.connected:
            body["error"] = upstream.error
        return JSONResponse(body, status_code=200 if upstream.connected else 503)

    def _remember(self, ctx: Context) -> None:
        """Keep the caller's session, to tell it when the tool list changes."""
        request = ctx.request
        session_id = (
            request.headers.get(MCP_SESSION_ID_HEADER) if isinstance(request, Request) else None
        )
        if session_id is None:
            return
        self._sessions[session_id] = ctx.session
        self._sessions.move_to_end(session_id, last=False)
        while len(self._sessions) > MAX_NOTIFIED_SESSIONS:
            self._sessions.popitem()

    async def _announce_tools_changed(self) -> None:
        for session in list(self._sessions.values()):
            await session.send_tool_list_changed()  # best effort: never raises

    async def _list_tools(
        self, ctx: Context, params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        self._remember(ctx)
        listing = await self.upstream.list_tools(params.cursor if params else None)
        policy = self.settings.policy
        tools = [tool for tool in listing.tools if listed(policy, tool.name)]
        return listing.model_copy(update={"tools": tools})

    async def _call_tool(
        self, ctx: Context, params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        self._remember(ctx)
        arguments = params.arguments or {}
        refusal = blocked_reason(self.settings.policy, params.name, arguments)
        if refusal is not None:
            LOG.info(
                "blocked a call to %s",
                params.name,
                extra={"tool": params.name, "server_name": self.settings.server_name},
            )
            return error_result(refusal)
        return await self.upstream.call_tool(params.name, arguments)
