"""The gateway's one connection to the MCP server it fronts, supervised for the gateway's life.

Every downstream session shares this connection, as every pod shares the one child process.
While it is down, calls get an error result and listings a JSON-RPC error, never a crash or a
hang. What happens when it breaks is the caller's choice: a spawned child is not restarted
(`on_lost` is told, and the gateway exits so Kubernetes restarts the pod with a clean slate); a
remote server is reconnected with exponential backoff, cut short when a call is waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import mcp_types
from mcp import Client
from mcp.shared.exceptions import MCPError

from agentops_services import __version__
from agentops_services.mcp_gateway.transports import TransportFactory, reporting_end
from agentops_services.telemetry import describe

LOG = logging.getLogger("agentops.mcp_gateway")
CLIENT_INFO = mcp_types.Implementation(name="agentops-mcp-gateway", version=__version__)
CONNECT_TIMEOUT = 30.0
PING_TIMEOUT = 10.0
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
SESSION_TERMINATED = "Session terminated"
"""What the streamable HTTP client says when the server no longer knows its session (it
restarted): the connection is useless and must be made again."""


def error_result(text: str) -> mcp_types.CallToolResult:
    """A tool result that tells the model what went wrong, so it can carry on."""
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=text)], is_error=True
    )


def _connection_lost(exc: MCPError) -> bool:
    return exc.code == mcp_types.CONNECTION_CLOSED or exc.message == SESSION_TERMINATED


class Upstream:
    """A supervised MCP client connection with the calls the gateway forwards."""

    def __init__(
        self,
        label: str,
        open_transport: TransportFactory,
        *,
        on_tools_changed: Callable[[], Awaitable[None]],
        on_lost: Callable[[str], None] | None = None,
        ping_interval: float | None = None,
        first_backoff: float = FIRST_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        self.label = label
        self._open_transport = open_transport
        self._on_tools_changed = on_tools_changed
        self._on_lost = on_lost
        """Called once when the connection is lost (or never made); None: reconnect."""
        self._ping_interval = ping_interval
        """How often an idle remote connection is checked, so /health notices a dead server."""
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self.error: str | None = "connecting"
        """Why the upstream is unavailable; None while connected."""
        self._client: Client | None = None
        self._ended = asyncio.Event()
        self._retry_now = asyncio.Event()
        self._stopping = False
        self._was_connected = False
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"mcp-upstream {self.label}")

    async def stop(self) -> None:
        """Close the connection; a spawned child is stopped with it."""
        self._stopping = True
        task = self._task
        if task is None:
            return
        if self._client is None:
            task.cancel()  # connecting or backing off: nothing to close gracefully
        self._ended.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def _unavailable(self) -> str:
        # Someone is waiting for the server: try again now instead of at the end of the backoff.
        self._retry_now.set()
        return f"MCP server {self.label} is unavailable ({self.error or 'connecting'})"

    def _lose(self, exc: MCPError, during: str) -> str:
        self.error = f"connection lost during {during}: {exc.message}"
        self._ended.set()
        return f"MCP server {self.label} stopped answering during {during} ({exc.message})"

    async def list_tools(self, cursor: str | None) -> mcp_types.ListToolsResult:
        """The server's tool listing page; MCPError while it is unavailable."""
        client = self._client
        if client is None:
            raise MCPError(mcp_types.INTERNAL_ERROR, self._unavailable())
        try:
            return await client.list_tools(cursor=cursor)
        except MCPError as exc:
            if _connection_lost(exc):
                raise MCPError(mcp_types.INTERNAL_ERROR, self._lose(exc, "tools/list")) from None
            raise

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        """The server's result; an error result while it is unavailable or when it goes away
        during the call. The server's own JSON-RPC errors are raised as they are."""
        client = self._client
        if client is None:
            return error_result(self._unavailable())
        try:
            return await client.call_tool(name, arguments)
        except MCPError as exc:
            if _connection_lost(exc):
                return error_result(self._lose(exc, f"the call to {name}"))
            raise

    async def _supervise(self) -> None:
        backoff = self._first_backoff
        ever_connected = False
        while not self._stopping:
            self._was_connected = False
            try:
                await self._connection(reconnecting=ever_connected)
                reason = self.error or "the server closed the connection"
            except Exception as exc:
                reason = describe(exc)
            finally:
                self._client = None
            if self._stopping:
                return
            self.error = reason
            if self._on_lost is not None:
                self._on_lost(reason)
                return
            if self._was_connected:
                ever_connected = True
                backoff = self._first_backoff
            LOG.warning(
                "MCP server %s unavailable: %s; retrying in %gs", self.label, reason, backoff
            )
            self._retry_now.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff):
                    await self._retry_now.wait()
            backoff = min(backoff * 2, self._max_backoff)

    async def _connection(self, reconnecting: bool) -> None:
        """Connect, then hold the connection until it ends."""
        self._ended = ended = asyncio.Event()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT) as deadline:
                transport = reporting_end(self._open_transport(), ended)
                async with Client(
                    transport,
                    mode="legacy",  # the initialize handshake: every MCP server speaks it
                    message_handler=self._on_message,
                    client_info=CLIENT_INFO,
                    cache=None,  # a proxy must not answer from a cache
                ) as client:
                    deadline.reschedule(None)
                    self._client, self.error, self._was_connected = client, None, True
                    LOG.info("connected to MCP server %s", self.label)
                    if reconnecting:
                        await self._on_tools_changed()  # they may have changed while it was away
                    await self._hold(client, ended)
        except TimeoutError:
            raise ConnectionError(f"no answer to initialize within {CONNECT_TIMEOUT:g}s") from None

    async def _hold(self, client: Client, ended: asyncio.Event) -> None:
        """Wait for the connection to end, pinging an idle remote server now and then."""
        while not ended.is_set():
            try:
                await asyncio.wait_for(ended.wait(), self._ping_interval)
            except TimeoutError:
                try:
                    async with asyncio.timeout(PING_TIMEOUT):
                        # The session's ping: the Client's wrapper warns on every call,
                        # though this legacy-mode connection has ping.
                        await client.session.send_ping()
                except TimeoutError:
                    self.error = f"no answer to ping within {PING_TIMEOUT:g}s"
                    return

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            await self._on_tools_changed()
        elif isinstance(message, Exception):
            LOG.warning(
                "MCP server %s sent something unreadable: %s", self.label, describe(message)
            )
