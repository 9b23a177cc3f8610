"""Keeping the platform API to the programs of the machine's user.

The API writes resource files and starts runs, and it has no login: bound to loopback, only
local programs reach it. Two browser tricks would still get a web page in: DNS rebinding (a
page whose name resolves to 127.0.0.1 sends requests with its own Host) and cross-site
requests (a page posts to http://127.0.0.1:port directly; the browser adds `Origin`). So a
request is refused unless its Host is a loopback name, and refused when it carries `Origin`
(the console and the CLI never send one).
"""

from __future__ import annotations

import ipaddress

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from agentops_services.httpapi.endpoints import error_response

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """Whether a host name or address is this machine's loopback."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hostname(header: str) -> str:
    """The name of a Host header, without the port (`[::1]:80` -> `::1`)."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class LoopbackGuard:
    """ASGI middleware refusing requests that did not come from a local program."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = _refusal(scope) if scope["type"] == "http" else None
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _refusal(scope: Scope) -> Response | None:
    """The 403 for a request that did not come from a local program, None for one that did."""
    headers = dict(scope["headers"])
    host = headers.get(b"host", b"").decode("latin-1")
    if not is_loopback(_hostname(host)):
        return error_response(403, f"Host {host!r} is not this machine's loopback", "Host")
    if b"origin" in headers:
        return error_response(403, "requests from web pages are refused", "Origin")
    return None
