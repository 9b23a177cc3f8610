"""Native port-forward to a pod over the API server's WebSocket channel protocol (no kubectl).

`GET /api/v1/namespaces/{ns}/pods/{pod}/portforward?ports=P`, upgraded to a WebSocket with the
`v4.channel.k8s.io` subprotocol, reaches the kubelet's forwarder. Every message is binary and
starts with its channel byte: channel 0 carries data, channel 1 errors (text). The server's
first message on each channel is the port, two bytes little-endian, which the client skips.

The channel protocol has no way to open a second stream on a WebSocket, nor to half-close one,
so every accepted local connection gets its own WebSocket (as kubectl's WebSocket forwarder
does), and when the local side stops sending the answer still in flight gets a short grace
period before the WebSocket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import aiohttp
from kubernetes_asyncio import client

LOG = logging.getLogger("agentops.kube.portforward")

SUBPROTOCOL = "v4.channel.k8s.io"
DATA_CHANNEL = 0
ERROR_CHANNEL = 1
CHUNK = 32 * 1024
"""Bytes read from the local connection per frame; also its read buffer's high-water mark."""
MAX_FRAME = 1024 * 1024
"""Largest message accepted from the server (the kubelet sends 32 KiB ones)."""
MAX_ERROR = 4096
"""Characters of an error-channel message kept for the error."""
CONNECT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 5.0
LINGER = 1.0
HEARTBEAT = 30.0
MAX_CONNECTIONS = 64


@dataclass(frozen=True)
class PodEndpoint:
    """One port of one pod incarnation (`uid` tells a recreated pod of the same name apart)."""

    namespace: str
    pod: str
    port: int
    uid: str = ""

    def __str__(self) -> str:
        return f"pod {self.namespace}/{self.pod} port {self.port}"


class PortForwardError(Exception):
    """A forwarded connection failed; `connect` when the WebSocket could not be opened at all
    (the pod is likely gone), otherwise the pod side reported or caused the failure."""

    def __init__(self, endpoint: PodEndpoint, message: str, *, connect: bool) -> None:
        super().__init__(f"port-forward to {endpoint}: {message}")
        self.endpoint = endpoint
        self.connect = connect


ErrorHandler = Callable[[PortForwardError], None]


def ssl_context(configuration: client.Configuration) -> ssl.SSLContext:
    """The TLS settings kubernetes-asyncio's own REST client derives from the configuration."""
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, keyfile=configuration.key_file)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if getattr(configuration, "disable_strict_ssl_verification", False):
        context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return context


async def auth_headers(configuration: client.Configuration) -> dict[str, str]:
    """The credential headers of a request, refreshed by the configuration's hook when it has
    one (exec plugins, expiring tokens), exactly as the generated client applies them."""
    headers: dict[str, str] = {}
    settings: dict[str, dict[str, Any]] = await configuration.auth_settings()
    for setting in settings.values():
        if setting.get("in") == "header" and setting.get("value"):
            headers[str(setting["key"])] = str(setting["value"])
    return headers


def portforward_url(host: str, endpoint: PodEndpoint) -> str:
    path = f"/api/v1/namespaces/{endpoint.namespace}/pods/{endpoint.pod}/portforward"
    return f"{host.rstrip('/')}{path}?{urlencode({'ports': endpoint.port})}"


class Tunnel:
    """Opens port-forward WebSockets with one configuration's host, credentials and TLS."""

    def __init__(
        self,
        configuration: client.Configuration,
        session: aiohttp.ClientSession,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        heartbeat: float | None = HEARTBEAT,
    ) -> None:
        self.configuration = configuration
        self.session = session
        self.connect_timeout = connect_timeout
        self.heartbeat = heartbeat

    async def open(self, endpoint: PodEndpoint) -> aiohttp.ClientWebSocketResponse:
        """A WebSocket to the pod port, or PortForwardError(connect=True) saying why not."""
        config = self.configuration
        url = portforward_url(config.host, endpoint)
        headers = await auth_headers(config)
        try:
            async with asyncio.timeout(self.connect_timeout):
                ws = await self.session.ws_connect(
                    url,
                    protocols=(SUBPROTOCOL,),
                    headers=headers,
                    heartbeat=self.heartbeat,
                    max_msg_size=MAX_FRAME,
                    timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT),
                    proxy=config.proxy,
                    proxy_headers=config.proxy_headers,
                    server_hostname=config.tls_server_name,
                )
        except aiohttp.WSServerHandshakeError as exc:
            reason = await self._refusal(url, headers, exc.status)
            raise PortForwardError(endpoint, reason, connect=True) from exc
        except TimeoutError as exc:
            message = f"the API server did not answer within {self.connect_timeout:g}s"
            raise PortForwardError(endpoint, message, connect=True) from exc
        except (aiohttp.ClientError, OSError) as exc:
            message = f"cannot reach the API server: {exc}"
            raise PortForwardError(endpoint, message, connect=True) from exc
        if ws.protocol not in (SUBPROTOCOL, None):
            await ws.close()
            message = f"the server chose subprotocol {ws.protocol!r}, not {SUBPROTOCOL}"
            raise PortForwardError(endpoint, message, connect=True)
        return ws

    async def _refusal(self, url: str, headers: dict[str, str], status: int) -> str:
        """Why the upgrade was refused: aiohttp drops the refusal's body, so the same request
        is repeated without the upgrade to read the API server's Status message ("pod not
        found", "does not have a host assigned", RBAC)."""
        message = ""
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, ValueError):
            async with asyncio.timeout(self.connect_timeout):
                async with self.session.get(
                    url, headers=headers, server_hostname=self.configuration.tls_server_name
                ) as response:
                    body = await response.content.read(64 * 1024)
                    document = json.loads(body or b"{}")
                    if isinstance(document, dict):
                        message = str(document.get("message") or "")
        return f"the API server refused it (HTTP {status}){': ' + message if message else ''}"


async def relay(
    ws: aiohttp.ClientWebSocketResponse,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    endpoint: PodEndpoint,
    *,
    linger: float = LINGER,
) -> None:
    """Copy bytes both ways until either side is done, then close both. Each direction waits
    for its writer to drain before reading more, so neither side buffers without bound.
    Raises PortForwardError when the pod side reports or causes a failure."""
    upstream = asyncio.create_task(_local_to_remote(reader, ws))
    downstream = asyncio.create_task(_remote_to_local(ws, writer, endpoint))
    try:
        await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        if upstream.done() and not downstream.done():
            await asyncio.wait({downstream}, timeout=linger)
        if downstream.done():
            downstream.result()
    finally:
        for task in (upstream, downstream):
            task.cancel()
        await asyncio.gather(upstream, downstream, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await ws.close()


async def _local_to_remote(
    reader: asyncio.StreamReader, ws: aiohttp.ClientWebSocketResponse
) -> None:
    prefix = bytes([DATA_CHANNEL])
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(CHUNK):
            await ws.send_bytes(prefix + chunk)


async def _remote_to_local(
    ws: aiohttp.ClientWebSocketResponse, writer: asyncio.StreamWriter, endpoint: PodEndpoint
) -> None:
    """Data to the local connection until the server closes; skips each channel's port
    header; the first error-channel text is raised."""
    headers_seen: set[int] = set()
    async for message in ws:
        if message.type is aiohttp.WSMsgType.ERROR:
            raise PortForwardError(endpoint, f"connection lost: {ws.exception()}", connect=False)
        if message.type is not aiohttp.WSMsgType.BINARY:
            raise PortForwardError(
                endpoint, f"unexpected {message.type.name} message", connect=False
            )
        data: bytes = message.data
        if not data:
            continue
        channel, payload = data[0], data[1:]
        if channel not in headers_seen:
            headers_seen.add(channel)
            port = int.from_bytes(payload[:2], "little")
            if len(payload) < 2 or port != endpoint.port:
                raise PortForwardError(endpoint, f"bad port header {payload[:2]!r}", connect=False)
            payload = payload[2:]
        if not payload:
            continue
        if channel == DATA_CHANNEL:
            try:
                writer.write(payload)
                await writer.drain()
            except ConnectionError:
                return  # the local client went away: nothing left to deliver
        elif channel == ERROR_CHANNEL:
            text = payload[:MAX_ERROR].decode("utf-8", errors="replace").strip()
            raise PortForwardError(endpoint, text, connect=False)
        else:
            raise PortForwardError(endpoint, f"message on unknown channel {channel}", connect=False)


class PortForward:
    """Listens on 127.0.0.1 and forwards every accepted connection to `endpoint` over a
    WebSocket of its own. `endpoint` may change while open (new connections go to the new pod)
    or be None (connections are closed at once: there is nowhere to send them)."""

    def __init__(
        self,
        api: client.ApiClient,
        endpoint: PodEndpoint | None,
        *,
        local_port: int = 0,
        connect_timeout: float = CONNECT_TIMEOUT,
        linger: float = LINGER,
        heartbeat: float | None = HEARTBEAT,
        max_connections: int = MAX_CONNECTIONS,
        on_error: ErrorHandler | None = None,
    ) -> None:
        self.configuration: client.Configuration = api.configuration
        self.endpoint = endpoint
        self.requested_port = local_port
        self.connect_timeout = connect_timeout
        self.linger = linger
        self.heartbeat = heartbeat
        self.max_connections = max_connections
        self.on_error = on_error
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tunnel: Tunnel | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def local_port(self) -> int:
        """The port listened on (kept after exit, to say which one it was)."""
        if self._port is None:
            raise RuntimeError("the port-forward has not started listening")
        return self._port

    @property
    def local_url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    @property
    def connections(self) -> int:
        """Local connections being forwarded now."""
        return len(self._connections)

    async def __aenter__(self) -> PortForward:
        connector = aiohttp.TCPConnector(
            ssl=ssl_context(self.configuration), limit=self.max_connections
        )
        self._session = aiohttp.ClientSession(connector=connector, trust_env=True)
        self._tunnel = Tunnel(
            self.configuration,
            self._session,
            connect_timeout=self.connect_timeout,
            heartbeat=self.heartbeat,
        )
        try:
            self._server = await asyncio.start_server(
                self._accept, "127.0.0.1", self.requested_port, limit=CHUNK
            )
        except BaseException:
            await self._session.close()
            raise
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        if self._session is not None:
            await self._session.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        endpoint = self.endpoint
        task = asyncio.current_task()
        if endpoint is None or self._tunnel is None or task is None:
            writer.close()
            return
        if len(self._connections) >= self.max_connections:
            LOG.warning(
                "port-forward to %s: %d connections open, refusing another",
                endpoint,
                len(self._connections),
            )
            writer.close()
            return
        self._connections.add(task)
        try:
            ws = await self._tunnel.open(endpoint)
            await relay(ws, reader, writer, endpoint, linger=self.linger)
        except PortForwardError as error:
            LOG.warning("%s", error)
            writer.transport.abort()
            if self.on_error is not None:
                self.on_error(error)
        except asyncio.CancelledError:
            # The forward is closing. This task is the stream server's connection callback,
            # whose cancellation asyncio would log as an error: end quietly instead.
            writer.transport.abort()
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await writer.wait_closed()
