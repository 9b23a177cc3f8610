"""The memory service application: REST API, OpenAPI document and MCP endpoint on one port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from agentops_services import __version__
from agentops_services.httpapi.openapi import openapi_document
from agentops_services.memory.http import memory_endpoints
from agentops_services.memory.mcp_tools import memory_mcp_server
from agentops_services.memory.store import MemoryStore

DEFAULT_PORT = 7437
DEFAULT_DB = Path("/data/memory.db")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def create_app(
    db_path: Path,
    *,
    host: str = "127.0.0.1",
    dedup_window: timedelta = timedelta(minutes=15),
    store: MemoryStore | None = None,
) -> Starlette:
    """The ASGI app; the store opens and closes with the app's lifespan."""
    store = store or MemoryStore(db_path, dedup_window=dedup_window)
    endpoints = memory_endpoints(store)
    document = openapi_document(
        "AgentOps memory",
        __version__,
        endpoints,
        "Long-term memory of AI agents: sessions and observations.",
    )
    mcp = memory_mcp_server(store)
    # Bound to loopback, the MCP transport refuses foreign Host headers (DNS rebinding); bound
    # to a cluster address it must accept the Service's name.
    security = (
        None
        if host in LOOPBACK
        else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    mcp_routes = mcp.streamable_http_app(
        streamable_http_path="/mcp", transport_security=security, host=host
    ).routes

    async def openapi(_: Request) -> JSONResponse:
        return JSONResponse(document)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await store.open()
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            await store.close()

    # Hot paths first: Starlette tries routes in order.
    hot = ("/observations", "/context", "/search")
    ordered = sorted(endpoints, key=lambda e: e.path not in hot)
    routes: list[BaseRoute] = [e.route() for e in ordered]
    routes.append(Route("/openapi.json", openapi, methods=["GET"]))
    routes.extend(mcp_routes)
    return Starlette(routes=routes, lifespan=lifespan)
