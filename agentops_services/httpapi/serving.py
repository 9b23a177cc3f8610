"""Running ASGI apps with uvicorn: in the foreground for a service's CLI, in the background on
a free loopback port for tests and the embedded platform."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

STARTUP_TIMEOUT = 30.0


def _config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=60,
        timeout_graceful_shutdown=15,
        limit_concurrency=1000,
        proxy_headers=False,  # services sit behind Services or loopback, not HTTP proxies
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one), reusable across restarts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say
    # so, and with Nagle on every small request waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _HookedServer(uvicorn.Server):
    """A server that runs `on_exit` as soon as it is told to stop, before it waits for open
    connections to finish (long-lived streams would otherwise hold it for the whole drain)."""

    def __init__(
        self, config: uvicorn.Config, on_exit: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        super().__init__(config)
        self._on_exit = on_exit
        self._exit_task: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._exit_task is None:
            loop = asyncio.get_running_loop()
            loop.call_soon_threadsafe(self._start_exit, loop)

    def _start_exit(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._exit_task is None:
            self._exit_task = loop.create_task(self._on_exit())


def serve_forever(
    app: ASGIApp,
    host: str,
    port: int,
    on_exit: Callable[[], Coroutine[Any, Any, None]] | None = None,
    *,
    also_on: Sequence[int] = (),
) -> None:
    """Serve until SIGINT/SIGTERM, then shut down gracefully (running `on_exit` first).
    `also_on`: more ports on the same host that answer with the same app."""
    config = _config(app, host, port)
    server = uvicorn.Server(config) if on_exit is None else _HookedServer(config, on_exit)
    ports = [port, *(extra for extra in also_on if extra != port)]
    server.run(sockets=[bind(host, number) for number in ports] if len(ports) > 1 else None)


class _EmbeddedServer(uvicorn.Server):
    """A server that leaves signals to the process that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class BackgroundServer:
    url: str
    server: uvicorn.Server
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@contextlib.asynccontextmanager
async def serve_in_background(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[BackgroundServer]:
    """Serve `app` in this event loop until the block ends; yields its base URL once ready."""
    sock = bind(host, port)
    actual_port = sock.getsockname()[1]
    server = _EmbeddedServer(_config(app, host, actual_port))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    running = BackgroundServer(f"http://{host}:{actual_port}", server, task)
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("server stopped during startup")
                await asyncio.sleep(0.005)
        yield running
    finally:
        await running.stop()
        sock.close()
