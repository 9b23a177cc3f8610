"""`agentops mcp-gateway`: an MCP server (a stdio child or a remote endpoint) served over
streamable HTTP at /mcp, with the agent's tool policy applied; /health answered locally.

Exit codes: 0 after SIGTERM/SIGINT, 1 when the spawned server exits or cannot be started,
2 on a bad configuration (the message names the setting or file).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Any

EXIT_CONFIG = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "mcp-gateway",
        help="serve an MCP server over HTTP with the agent's tool policy",
        description=(
            "Serve one MCP server over streamable HTTP at /mcp, applying the agent's allow/deny "
            "rules to tools/list and tools/call; GET /health says whether it is reachable. "
            "spawn runs a stdio server as a child process and exits 1 when it dies; proxy "
            "forwards to a remote endpoint and reconnects when it is lost. Every flag has a "
            "GATEWAY_* variable; the flag wins."
        ),
    )
    parser.add_argument("--mode", choices=("spawn", "proxy"), help="GATEWAY_MODE")
    parser.add_argument("--host", help="address to listen on (GATEWAY_HOST; default 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port (GATEWAY_PORT; default 8080)")
    parser.add_argument(
        "--command",
        help="spawn: the stdio server's command line, split shell-style (GATEWAY_COMMAND)",
    )
    parser.add_argument("--upstream", help="proxy: the MCP endpoint URL (GATEWAY_UPSTREAM)")
    parser.add_argument(
        "--transport",
        choices=("streamable-http", "sse"),
        help="proxy: the upstream's transport (GATEWAY_TRANSPORT; default streamable-http)",
    )
    parser.add_argument(
        "--header",
        action="append",
        metavar="'NAME: VALUE'",
        help="proxy: a header for every upstream request, repeatable "
        "(GATEWAY_HEADERS: a JSON object; these win)",
    )
    parser.add_argument(
        "--oauth-token-url",
        help="proxy: OAuth2 client-credentials token endpoint (GATEWAY_OAUTH_TOKEN_URL)",
    )
    parser.add_argument(
        "--oauth-client-id-env",
        metavar="VAR",
        help="variable holding the client id "
        "(GATEWAY_OAUTH_CLIENT_ID_ENV; default GATEWAY_OAUTH_CLIENT_ID)",
    )
    parser.add_argument(
        "--oauth-client-secret-env",
        metavar="VAR",
        help="variable holding the client secret "
        "(GATEWAY_OAUTH_CLIENT_SECRET_ENV; default GATEWAY_OAUTH_CLIENT_SECRET)",
    )
    parser.add_argument(
        "--oauth-scope",
        action="append",
        help="a scope to request, repeatable (GATEWAY_OAUTH_SCOPES, space-separated)",
    )
    parser.add_argument("--oauth-audience", help="audience to request (GATEWAY_OAUTH_AUDIENCE)")
    parser.add_argument(
        "--config",
        help="permissions.json: {server: {mode, rules}} (GATEWAY_CONFIG; none allows everything)",
    )
    parser.add_argument(
        "--server-name", help="whose entry of permissions.json applies (GATEWAY_SERVER_NAME)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agentops_services.logs import configure_logging  # noqa: PLC0415
    from agentops_services.mcp_gateway.config import GatewayConfigError, settings_from  # noqa: PLC0415

    configure_logging("agentops-mcp-gateway")
    try:
        settings = settings_from(args, os.environ)
    except GatewayConfigError as exc:
        logging.getLogger("agentops.mcp_gateway").error("bad config: %s", exc)
        print(f"agentops mcp-gateway: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(_serve(settings))


async def _serve(settings: Any) -> int:
    """Serve until a signal or until the gateway cannot go on; the gateway's exit code."""
    from agentops_services.httpapi.serving import serve_in_background  # noqa: PLC0415
    from agentops_services.mcp_gateway.server import Gateway  # noqa: PLC0415

    gateway = Gateway(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, gateway.stopped.set)
    async with serve_in_background(gateway.app(), settings.host, settings.port):
        await gateway.stopped.wait()
        await gateway.close_sessions()
    return gateway.exit_code
