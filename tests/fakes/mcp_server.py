"""An MCP server for tests, built with the mcp SDK: run as a stdio server
(`python tests/fakes/mcp_server.py`) or over streamable HTTP
(`python tests/fakes/mcp_server.py --http PORT`).

Tools: `echo` (says its text back), `add` (two numbers), `kubectl_get` (a namespaced-looking
tool), `fail` (an isError result), `crash` (the process dies mid-call), `grow` (adds a tool
`extra` and announces tools/list_changed), `whoami` (the request's Authorization header, over
HTTP).
"""

from __future__ import annotations

import argparse
import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("fake-tools", version="1.2.3", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return f"echo: {text}"


@server.tool()
def add(a: int, b: int) -> str:
    """Add two numbers."""
    return str(a + b)


@server.tool()
def kubectl_get(kind: str, namespace: str = "default") -> str:
    """List resources of a kind."""
    return f"{kind} in {namespace}: pod-a, pod-b"


@server.tool()
def fail(reason: str) -> str:
    """Always fails."""
    raise ToolError(f"failed on purpose: {reason}")


@server.tool()
def crash() -> str:
    """The server dies in the middle of this call."""
    sys.stdout.flush()
    os._exit(3)


@server.tool()
async def grow(ctx: Context) -> str:
    """Add the `extra` tool and tell the client the tool list changed."""

    def extra() -> str:
        """A tool that appeared later."""
        return "extra!"

    server.add_tool(extra, name="extra")
    await ctx.session.send_tool_list_changed()
    return "grown"


@server.tool()
def whoami(ctx: Context) -> str:
    """The Authorization header of the HTTP request (empty over stdio)."""
    request = getattr(ctx.request_context, "request", None)
    headers = getattr(request, "headers", {}) or {}
    return str(headers.get("authorization", ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, help="serve streamable HTTP on this port")
    args = parser.parse_args()
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
