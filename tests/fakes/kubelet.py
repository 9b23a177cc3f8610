"""A kubelet's port-forward and container-log endpoints, to put behind the real API server
(or, for port-forward, to talk to directly).

Port-forward speaks the WebSocket channel protocol of the kubelet's forwarder: subprotocol
v4.channel.k8s.io, the port in the query (`ports` at the API server's path, `port` at the
kubelet's own), two port-header frames, data on channel 0 and error text on channel 1, at most
32 KiB per message, and relays the data to a real TCP echo server on loopback.

Container logs are served as the kubelet serves them at /containerLogs/{ns}/{pod}/{container}:
`follow`, `tailLines`, `sinceTime` and `timestamps` in the query, a chunked text/plain body,
each line prefixed with its RFC3339Nano timestamp when asked, a 400 in the kubelet's words for
a container that has not started, and a follow stream that stays open for lines written later
and ends when the container finishes.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSMsgType, web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agentops_services.kube.portforward import SUBPROTOCOL

FRAME = 32 * 1024
LOGS_PATH = "/containerLogs/{namespace}/{pod}/{container}"
"""Where the API server sends a pod log request (the kubelet's side)."""
LOG_QUERY = frozenset({"follow", "tailLines", "sinceTime", "timestamps"})
API_PATH = "/api/v1/namespaces/{namespace}/pods/{pod}/portforward"
"""Where the API server serves port-forward (the client's side)."""
KUBELET_PATH = "/portForward/{namespace}/{pod}"
"""Where the API server sends it on (the kubelet's side)."""


@dataclass
class Peer:
    """The pod side of port-forward: one WebSocket per forwarded connection."""

    echo_port: int
    port: int
    token: str | None
    """The bearer token required, or None (the API server strips credentials before the
    kubelet)."""
    port_query: str = "ports"
    url: str = ""
    pods: set[str] = field(default_factory=set)
    fail_next: str | None = None
    """Error text the next session sends on the error channel instead of connecting."""
    close_after: bytes | None = None
    """Data the next session sends before closing the WebSocket itself."""
    sessions: list[str] = field(default_factory=list)
    """The pod of every WebSocket session accepted, in order."""
    open_sessions: int = 0
    problems: list[str] = field(default_factory=list)
    """Protocol violations by the client."""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        pod = request.match_info["pod"]
        if (
            self.token is not None
            and request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            return _status(401, "Unauthorized")
        if pod not in self.pods:
            return _status(404, f'pods "{pod}" not found')
        if (ports := request.query.getall(self.port_query, [])) != [str(self.port)]:
            self.problems.append(f"{self.port_query} query {ports}")
            return _status(400, "bad ports")
        ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,))
        ready = ws.can_prepare(request)
        if not ready.ok:
            return _status(400, "Upgrade request required")
        if ready.protocol != SUBPROTOCOL:
            self.problems.append(f"subprotocol {ready.protocol}")
            return _status(400, "bad subprotocol")
        await ws.prepare(request)
        self.sessions.append(pod)
        self.open_sessions += 1
        try:
            await self._serve(ws)
        finally:
            self.open_sessions -= 1
        return ws

    async def _serve(self, ws: web.WebSocketResponse) -> None:
        header = self.port.to_bytes(2, "little")
        await ws.send_bytes(b"\x00" + header)
        await ws.send_bytes(b"\x01" + header)
        if (error := self.fail_next) is not None:
            self.fail_next = None
            await ws.send_bytes(b"\x01" + error.encode())
            await ws.close()
            return
        if (farewell := self.close_after) is not None:
            self.close_after = None
            await ws.send_bytes(b"\x00" + farewell)
            await ws.close()
            return
        reader, writer = await asyncio.open_connection("127.0.0.1", self.echo_port)
        pump = asyncio.create_task(_pod_to_client(reader, ws))
        try:
            async for message in ws:
                if message.type is not WSMsgType.BINARY or message.data[:1] != b"\x00":
                    self.problems.append(f"client sent {message.type} {message.data[:1]!r}")
                    continue
                writer.write(message.data[1:])
                await writer.drain()
        finally:
            pump.cancel()
            writer.close()


async def _pod_to_client(reader: asyncio.StreamReader, ws: web.WebSocketResponse) -> None:
    while chunk := await reader.read(FRAME):
        await ws.send_bytes(b"\x00" + chunk)
    await ws.close()


def _status(code: int, message: str) -> web.Response:
    body = {"kind": "Status", "status": "Failure", "message": message, "code": code}
    return web.Response(status=code, text=json.dumps(body), content_type="application/json")


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(FRAME):
        writer.write(data)
        await writer.drain()
    writer.close()


def self_signed(directory: Path) -> ssl.SSLContext:
    """A server TLS context for 127.0.0.1 (the API server does not verify kubelets unless
    told to with --kubelet-certificate-authority)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-kubelet")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "kubelet.crt", directory / "kubelet.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@asynccontextmanager
async def serve_peer(
    *,
    port: int,
    token: str | None,
    path: str = API_PATH,
    port_query: str = "ports",
    tls: ssl.SSLContext | None = None,
) -> AsyncIterator[Peer]:
    """A running peer on 127.0.0.1 (its `url`), with its echo server behind it."""
    echo = await asyncio.start_server(_echo, "127.0.0.1", 0)
    peer = Peer(
        echo_port=echo.sockets[0].getsockname()[1], port=port, token=token, port_query=port_query
    )
    app = web.Application()
    app.router.add_get(path, peer.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    scheme = "https" if tls else "http"
    peer.url = f"{scheme}://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield peer
    finally:
        await runner.cleanup()
        echo.close()


def go_timestamp(moment: datetime.datetime) -> str:
    """RFC3339Nano as Go writes it: UTC as `Z`, trailing zeros of the fraction dropped."""
    utc = moment.astimezone(datetime.UTC)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


@dataclass
class ContainerLog:
    lines: list[tuple[datetime.datetime, str]] = field(default_factory=list)
    waiting: str | None = None
    """Why the container has not started (ContainerCreating): requests get a 400 until None."""
    done: bool = False
    """The container exited: follow streams end after the last line."""


@dataclass
class LogPeer:
    """The kubelet's containerLogs endpoint over logs the test writes."""

    url: str = ""
    logs: dict[tuple[str, str, str], ContainerLog] = field(default_factory=dict)
    cut_next_after: int | None = None
    """The next stream closes after sending this many lines, as a restarted kubelet or a proxy
    dropping the connection would end it."""
    requests: list[dict[str, str]] = field(default_factory=list)
    """The query of every request, in order."""
    open_streams: int = 0
    problems: list[str] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def container(self, namespace: str, pod: str, container: str) -> ContainerLog:
        return self.logs.setdefault((namespace, pod, container), ContainerLog())

    def write(
        self,
        namespace: str,
        pod: str,
        container: str,
        *texts: str,
        at: datetime.datetime | None = None,
    ) -> None:
        """Lines the container writes, at `at` (now by default); open streams send them."""
        moment = at or datetime.datetime.now(datetime.UTC)
        self.container(namespace, pod, container).lines.extend((moment, t) for t in texts)
        self._wake()

    def finish(self, namespace: str, pod: str, container: str) -> None:
        self.container(namespace, pod, container).done = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        namespace, pod = request.match_info["namespace"], request.match_info["pod"]
        name = request.match_info["container"]
        query = dict(request.query)
        self.requests.append(query)
        if unknown := set(query) - LOG_QUERY:
            self.problems.append(f"unexpected query {sorted(unknown)}")
        log = self.logs.get((namespace, pod, name))
        if log is None:
            return web.Response(status=404, text=f'container "{name}" not found in pod\n')
        if log.waiting is not None:
            text = f'container "{name}" in pod "{pod}" is waiting to start: {log.waiting}'
            return web.Response(status=400, text=text)
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        self.open_streams += 1
        try:
            await self._stream(response, log, query)
        finally:
            self.open_streams -= 1
        return response

    async def _stream(
        self, response: web.StreamResponse, log: ContainerLog, query: dict[str, str]
    ) -> None:
        position = 0
        if "sinceTime" in query:
            since = datetime.datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00"))
            position = next((i for i, (t, _) in enumerate(log.lines) if t >= since), len(log.lines))
        if "tailLines" in query:
            position = max(position, len(log.lines) - int(query["tailLines"]))
        cut, self.cut_next_after = self.cut_next_after, None
        sent = 0
        while True:
            changed = self._changed
            while position < len(log.lines):
                moment, text = log.lines[position]
                prefix = f"{go_timestamp(moment)} " if query.get("timestamps") == "true" else ""
                await response.write(f"{prefix}{text}\n".encode())
                position += 1
                sent += 1
                if cut is not None and sent >= cut:
                    return
            if query.get("follow") != "true" or log.done:
                await response.write_eof()
                return
            await changed.wait()


@asynccontextmanager
async def serve_logs(tls: ssl.SSLContext) -> AsyncIterator[LogPeer]:
    """A kubelet serving container logs on 127.0.0.1 (its `url`). A stream whose client went
    away is cancelled, as the kubelet stops reading the log file."""
    peer = LogPeer()
    app = web.Application()
    app.router.add_get(LOGS_PATH, peer.handle)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    peer.url = f"https://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield peer
    finally:
        await runner.cleanup()
