"""MCP servers as tool sources: stdio servers unpacked from OCI tool images (`tools[]`) and HTTP
endpoints (`mcpServers[]`: a gateway sidecar port or any URL, streamable HTTP or SSE, with
headers).

Each server is supervised: connected at start, its tools listed and re-listed when it says they
changed, reconnected with backoff when it crashes or cannot be reached. While a server is down
its last known tools stay advertised and answer with an error result, and each turn starts with
a warning naming it, so the agent keeps working and knows what is missing.

Tools are advertised as `mcp_<server>_<tool>` (`mcp_<tool>` when the tool already carries the
server's name), or under their own name when the binding lists them in `directTools`. The
binding's allow/deny rules (`permissions`) filter what is advertised and refuse what they block.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx2
import mcp_types
from mcp import Client
from mcp.client.session import MessageHandlerFnT
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from opentelemetry import trace

from agentops_services import __version__
from agentops_services.api.runtime_config import McpServerEntry, PermissionPolicy, ToolEntry
from agentops_services.runtime.mcp_policy import blocked_reason, listed
from agentops_services.runtime.tooling import ToolContext, ToolOutcome, plain_schema
from agentops_services.telemetry import describe, span

LOG = logging.getLogger(__name__)
TRACER = trace.get_tracer("agentops.runtime.mcp")
CLIENT_INFO = mcp_types.Implementation(name="agentops-runtime", version=__version__)
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
CALL_TIMEOUT = 300.0
CONNECT_TIMEOUT = 30.0
MAX_NAME = 64
Transport = Literal["stdio", "streamable-http", "sse"]


class McpUnavailableError(Exception):
    """The server cannot take calls right now (connecting, crashed, unreachable)."""


def ui_hint(server: str, tool: str, configured: str | None) -> str | None:
    if configured:
        return configured
    name = f"{server} {tool}".lower()
    if any(word in name for word in ("kubectl", "kubernetes", "k8s")):
        return "kubernetes-resources"
    return "helm-release" if "helm" in name else None


def advertised_name(server: str, tool: str, direct: bool) -> str:
    """The name the model calls the tool by (provider-safe: [A-Za-z0-9_-], at most 64)."""
    if direct:
        name = tool
    elif tool.startswith(f"{server}_"):
        name = f"mcp_{tool}"
    else:
        name = f"mcp_{server}_{tool}"
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:MAX_NAME]


@dataclass(frozen=True)
class McpServerConfig:
    """One MCP server the agent uses, resolved from the runtime config."""

    name: str
    transport: Transport
    command: Sequence[str] = ()
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    policy: PermissionPolicy | None = None
    direct_tools: frozenset[str] = frozenset()
    ui: str | None = None

    @classmethod
    def from_oci(cls, entry: ToolEntry, env: Mapping[str, str]) -> McpServerConfig:
        """A tool image unpacked at `entry.path`: `manifest.json` says how to start it."""
        root = Path(entry.path)
        try:
            manifest = json.loads((root / "manifest.json").read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"tools[{entry.name}]: cannot read {root}/manifest.json: {exc}"
            ) from None
        command = manifest.get("command") or entry.name
        argv = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
        for candidate in (root / "bin" / argv[0], root / argv[0]):
            if candidate.is_file():
                argv[0] = str(candidate)
                break
        argv += [str(arg) for arg in manifest.get("args", [])]
        return cls(
            name=entry.name,
            transport="stdio",
            command=argv,
            cwd=root,
            env={**env, **{str(k): str(v) for k, v in (manifest.get("env") or {}).items()}},
            ui=entry.ui_hint,
        )

    @classmethod
    def from_endpoint(cls, entry: McpServerEntry) -> McpServerConfig:
        url = entry.endpoint()
        if url is None:
            raise ValueError(f"mcpServers[{entry.name}]: needs url or port")
        return cls(
            name=entry.name,
            transport=entry.transport,
            url=url,
            headers=dict(entry.headers or {}),
            policy=entry.permissions,
            direct_tools=frozenset(entry.direct_tools or ()),
            ui=entry.ui_hint,
        )

    def client(self, on_message: MessageHandlerFnT) -> Client:
        if self.transport == "stdio":
            server: Any = StdioServerParameters(
                command=self.command[0],
                args=list(self.command[1:]),
                env=dict(self.env),
                cwd=self.cwd,
            )
        elif self.transport == "sse":
            assert self.url is not None
            server = sse_client(self.url, headers=dict(self.headers), timeout=CONNECT_TIMEOUT)
        else:
            assert self.url is not None
            http = httpx2.AsyncClient(headers=dict(self.headers), timeout=CONNECT_TIMEOUT)
            server = streamable_http_client(self.url, http_client=http)
        # The initialize handshake: every MCP server speaks it, and it delivers notifications
        # (tools/list_changed) to the message handler.
        return Client(server, mode="legacy", message_handler=on_message, client_info=CLIENT_INFO)


@dataclass
class McpTool:
    """One tool of an MCP server, as the agent's tool registry sees it."""

    server: McpServer
    tool_name: str
    """The tool's own name on its server."""
    name: str
    description: str
    parameters: dict[str, Any]
    ui: str | None
    parallel_safe: bool = False
    tool_type: str = "mcp"

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolOutcome:
        config = self.server.config
        metadata: dict[str, Any] = {
            "server": config.name,
            "tool": self.tool_name,
            "transport": config.transport,
        }
        refusal = blocked_reason(config.policy, self.tool_name, arguments)
        if refusal is not None:
            return ToolOutcome.error(refusal, **metadata)
        started = time.perf_counter()
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "tool.mcp.server": config.name,
            "tool.name": self.tool_name,
            "gen_ai.tool.name": self.name,
            "tool.mcp.transport": config.transport,
            "tool.type": "mcp",
            "mcp.method.name": "tools/call",
        }
        with span(TRACER, f"mcp.call: {config.name}/{self.tool_name}", attributes=attributes) as s:
            try:
                result = await self.server.call(self.tool_name, arguments)
            except McpUnavailableError as exc:
                s.set_attribute("tool.error", True)
                return ToolOutcome.error(str(exc), **metadata)
            s.set_attribute("tool.duration_ms", round((time.perf_counter() - started) * 1000))
        text = _result_text(result)
        if result.is_error:
            return ToolOutcome.error(text or "the MCP tool failed", **metadata)
        return ToolOutcome(text, metadata=metadata)


def _result_text(result: mcp_types.CallToolResult) -> str:
    parts = []
    for item in result.content:
        if isinstance(item, mcp_types.TextContent):
            parts.append(item.text)
        else:
            parts.append(f"[{item.type} content omitted]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content))
    return "\n".join(parts)


@dataclass
class McpServer:
    """A supervised connection to one MCP server."""

    config: McpServerConfig
    tools: list[McpTool] = field(default_factory=list)
    """Last known tools (kept while the server is down, so calls get a clear error)."""
    error: str | None = None
    _client: Client | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _reconnect: asyncio.Event = field(default_factory=asyncio.Event)
    _refresh: asyncio.Event = field(default_factory=asyncio.Event)
    _listing: asyncio.Future[None] | None = None
    _stopping: bool = False
    _task: asyncio.Task[None] | None = None

    @property
    def up(self) -> bool:
        return self._client is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"mcp:{self.config.name}")

    async def wait_ready(self, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        except TimeoutError:
            LOG.warning(
                "MCP server %s not ready after %gs: %s", self.config.name, timeout, self.error
            )

    async def stop(self) -> None:
        self._stopping = True
        self._reconnect.set()
        if self._task is not None:
            try:
                async with asyncio.timeout(10):
                    await self._task
            except TimeoutError:
                self._task.cancel()

    async def call(self, tool: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        client = self._client
        if client is None:
            raise McpUnavailableError(
                f"MCP server {self.config.name} is unavailable ({self.error or 'connecting'}); "
                "it is being restarted"
            )
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                result = await client.call_tool(tool, arguments)
                await self._relist(client)  # the call changed the tools: the next step sees them
                return result
        except TimeoutError:
            raise McpUnavailableError(f"MCP tool call timed out after {CALL_TIMEOUT:g} s") from None
        except MCPError as exc:
            if "closed" in str(exc).lower():
                self.error = f"connection lost during a call: {exc}"
                self._reconnect.set()
                raise McpUnavailableError(
                    f"MCP server {self.config.name} stopped during the call; it is being restarted"
                ) from None
            raise McpUnavailableError(f"MCP tool call failed: {exc}") from None

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            self.error = f"transport error: {message}"
            self._reconnect.set()
        elif isinstance(message, mcp_types.ToolListChangedNotification):
            self._refresh.set()

    async def _supervise(self) -> None:
        delay = FIRST_BACKOFF
        while not self._stopping:
            try:
                async with self.config.client(self._on_message) as client:
                    await self._list(client)
                    self._client, self.error = client, None
                    self._ready.set()
                    delay = FIRST_BACKOFF
                    await self._serve(client)
            except Exception as exc:
                self.error = describe(exc)
                LOG.warning("MCP server %s failed: %s", self.config.name, self.error)
            finally:
                self._client = None
                self._ready.clear()
            if self._stopping:
                return
            self._reconnect.clear()
            try:
                async with asyncio.timeout(delay):
                    await self._reconnect.wait()  # stop() cuts the backoff short
            except TimeoutError:
                pass
            delay = min(delay * 2, MAX_BACKOFF)

    async def _serve(self, client: Client) -> None:
        """Hold the connection until it breaks or stops; re-list tools when told to."""
        while not self._reconnect.is_set():
            refresh = asyncio.ensure_future(self._refresh.wait())
            broken = asyncio.ensure_future(self._reconnect.wait())
            await asyncio.wait({refresh, broken}, return_when=asyncio.FIRST_COMPLETED)
            refresh.cancel()
            broken.cancel()
            if not self._reconnect.is_set():
                await self._relist(client)

    async def _relist(self, client: Client) -> None:
        """List the tools again if the server said they changed, sharing a listing already
        under way; returns once the listing is current."""
        while self._refresh.is_set() or (self._listing is not None and not self._listing.done()):
            if self._listing is None or self._listing.done():
                self._refresh.clear()
                self._listing = asyncio.ensure_future(self._list(client))
            await asyncio.shield(self._listing)

    async def _list(self, client: Client) -> None:
        config = self.config
        listing = await client.list_tools()
        tools = []
        for tool in listing.tools:
            if not listed(config.policy, tool.name):
                continue
            schema = dict(tool.input_schema or {})
            schema["type"] = "object"
            schema["properties"] = schema.get("properties") or {}
            schema["required"] = schema.get("required") or []
            tools.append(
                McpTool(
                    server=self,
                    tool_name=tool.name,
                    name=advertised_name(config.name, tool.name, tool.name in config.direct_tools),
                    description=tool.description or f"{tool.name} (MCP server {config.name})",
                    parameters=plain_schema(schema),
                    ui=ui_hint(config.name, tool.name, config.ui),
                )
            )
        self.tools = tools


@dataclass
class McpTools:
    """All of an agent's MCP servers, as one source of tools."""

    servers: list[McpServer]

    @classmethod
    def from_config(
        cls,
        oci: Sequence[ToolEntry],
        endpoints: Sequence[McpServerEntry],
        env: Mapping[str, str],
    ) -> McpTools:
        configs = []
        for entry in oci:
            try:
                configs.append(McpServerConfig.from_oci(entry, env))
            except ValueError as exc:
                LOG.warning("MCP tool left out: %s", exc)
        for endpoint in endpoints:
            try:
                configs.append(McpServerConfig.from_endpoint(endpoint))
            except ValueError as exc:
                LOG.warning("MCP server left out: %s", exc)
        return cls([McpServer(config) for config in configs])

    async def start(self, timeout: float = 15.0) -> None:
        """Connect every server; wait at most `timeout` for them (the slow ones keep trying)."""
        for server in self.servers:
            server.start()
        await asyncio.gather(*(server.wait_ready(timeout) for server in self.servers))

    def tools(self) -> list[McpTool]:
        return [tool for server in self.servers for tool in server.tools]

    def problems(self) -> list[str]:
        """One line per server that cannot take calls right now."""
        return [
            f"MCP server {s.config.name} is unavailable ({s.error or 'connecting'}); "
            "its tools will fail until it is back"
            for s in self.servers
            if not s.up
        ]

    async def aclose(self) -> None:
        await asyncio.gather(*(server.stop() for server in self.servers))
