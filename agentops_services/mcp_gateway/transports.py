"""How the gateway reaches the MCP server it fronts: a child process over stdio (spawn mode) or
a remote endpoint over streamable HTTP or SSE, with extra headers and OAuth2 (proxy mode).

Every transport is wrapped so that the end of its read stream is reported: that is how the
gateway learns that a stdio child has exited while no call was running, which the MCP client
itself never says.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

import anyio
import httpx2
from mcp.client._transport import ReadStream, Transport, TransportStreams
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage

from agentops_services.mcp_gateway.config import GatewaySettings
from agentops_services.oauth2 import OAuth2ClientCredentialsHttpx2

HTTP_TIMEOUT = 30.0
STREAM_READ_TIMEOUT = 300.0
"""How long an HTTP response stream (a long tool call, the notification stream) may stay
silent; the SDK's default."""

TransportFactory = Callable[[], Transport]


class EndReportingReadStream:
    """A transport's read stream that sets `ended` when the server side goes away (end of
    stream), and is otherwise the stream itself."""

    def __init__(self, inner: ReadStream[SessionMessage | Exception], ended: asyncio.Event) -> None:
        self._inner = inner
        self._ended = ended

    @property
    def last_context(self) -> Any:
        """The sender's context snapshot the MCP dispatcher looks for, passed through."""
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        try:
            return await self._inner.receive()
        except anyio.EndOfStream:
            self._ended.set()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> EndReportingReadStream:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> EndReportingReadStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@contextlib.asynccontextmanager
async def reporting_end(
    transport: Transport, ended: asyncio.Event
) -> AsyncIterator[TransportStreams]:
    """`transport`, with `ended` set once the server stops sending."""
    async with transport as (read_stream, write_stream):
        yield EndReportingReadStream(read_stream, ended), write_stream


@contextlib.asynccontextmanager
async def _streamable_http(
    url: str, headers: dict[str, str], auth: httpx2.Auth | None
) -> AsyncIterator[TransportStreams]:
    timeout = httpx2.Timeout(HTTP_TIMEOUT, read=STREAM_READ_TIMEOUT)
    async with (
        httpx2.AsyncClient(headers=headers, auth=auth, timeout=timeout) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


def transport_factory(settings: GatewaySettings) -> TransportFactory:
    """A new transport per connection attempt. The OAuth2 token cache is made once, so a
    reconnection reuses a token that is still good."""
    if settings.mode == "spawn":
        program, *arguments = settings.command
        # The child gets the pod's whole environment (its credentials come from there); the
        # SDK would otherwise pass only a handful of safe variables.
        params = StdioServerParameters(command=program, args=arguments, env=dict(os.environ))
        return lambda: stdio_client(params)
    url = settings.upstream
    assert url is not None
    headers = dict(settings.headers)
    oauth = settings.oauth
    auth = (
        None
        if oauth is None
        else OAuth2ClientCredentialsHttpx2(
            oauth.token_url, oauth.client_id, oauth.client_secret, oauth.scopes, oauth.audience
        )
    )
    if settings.transport == "sse":
        return lambda: sse_client(
            url,
            headers=headers,
            timeout=HTTP_TIMEOUT,
            sse_read_timeout=STREAM_READ_TIMEOUT,
            auth=auth,
        )
    return lambda: _streamable_http(url, headers, auth)
