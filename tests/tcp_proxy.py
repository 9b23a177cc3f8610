"""A loopback TCP proxy a test controls: it forwards to a port it can be pointed elsewhere on,
and breaks connections after a number of bytes, the way a dropped Wi-Fi, a port-forward
following a restarted pod or an idle-timeout proxy cuts a stream (`cut`: both sides reset), or
a dead NAT entry silently swallows it (`stall`: nothing more is forwarded, no socket error)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Literal, NamedTuple

from agentops_services.testing.controlplane import free_port

CHUNK = 4096


class Breakage(NamedTuple):
    after_bytes: int
    """Bytes forwarded towards the client before the connection breaks."""
    how: Literal["cut", "stall"]


class TcpProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        """Where new connections go (existing ones stay where they are)."""
        self.port = free_port()
        self.plan: list[Breakage] = []
        """Each new connection takes the first breakage of the plan, if any."""
        self.broken: list[str] = []
        """How each planned breakage happened, in order."""
        self._open: set[asyncio.WriteTransport] = set()
        self._closed = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        breakage = self.plan.pop(0) if self.plan else None
        try:
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.transport.abort()
            return
        ends = (client_w.transport, upstream_w.transport)
        self._open.update(ends)

        async def pump(
            source: asyncio.StreamReader, sink: asyncio.StreamWriter, breakage: Breakage | None
        ) -> None:
            sent = 0
            while chunk := await source.read(CHUNK):
                if breakage is not None and sent + len(chunk) >= breakage.after_bytes:
                    sink.write(chunk[: breakage.after_bytes - sent])
                    await sink.drain()
                    self.broken.append(breakage.how)
                    if breakage.how == "stall":
                        await self._closed.wait()
                    for end in ends:
                        end.abort()
                    return
                sent += len(chunk)
                sink.write(chunk)
                await sink.drain()
            with contextlib.suppress(OSError):
                sink.write_eof()

        try:
            with contextlib.suppress(OSError):
                await asyncio.gather(
                    pump(client_r, upstream_w, None), pump(upstream_r, client_w, breakage)
                )
        finally:
            for end in ends:
                end.abort()
                self._open.discard(end)

    def close(self) -> None:
        """Reset every open connection, stalled ones too."""
        self._closed.set()
        for end in list(self._open):
            end.abort()


@contextlib.asynccontextmanager
async def tcp_proxy(upstream_port: int) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(upstream_port)
    server = await asyncio.start_server(proxy._handle, "127.0.0.1", proxy.port)
    async with server:
        try:
            yield proxy
        finally:
            proxy.close()
