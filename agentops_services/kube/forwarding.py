"""A port-forward that survives its pod: re-resolves, reconnects, and says how it is doing.

The console keeps one local port per forwarded service for the whole session (its HTTP clients
hold `local_url`), while the pod behind it may be deleted, restarted or rolled out. The
supervisor keeps the listener and swaps the pod: when the pod stops serving (the resolver's
watch says so, or a WebSocket cannot even be opened) it re-resolves with exponential backoff,
and publishes each state change for the status bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

import aiohttp
from kubernetes_asyncio import client

from agentops_services.kube.podresolver import PodResolver, ResolveError
from agentops_services.kube.portforward import PodEndpoint, PortForward, PortForwardError

LOG = logging.getLogger("agentops.kube.forwarding")

Phase = Literal["connecting", "ready", "reconnecting", "failed"]
RESOLVE_TIMEOUT = 30.0
STABLE_AFTER = 10.0
"""Seconds a pod must have served for the next loss to start the backoff from scratch."""
SUBSCRIBER_BUFFER = 16


@dataclass(frozen=True)
class ForwardState:
    """What the forward is doing now, small enough for a footer."""

    phase: Phase
    local_url: str | None = None
    pod: str | None = None
    attempt: int = 0
    reason: str = ""

    @classmethod
    def connecting(cls) -> ForwardState:
        return cls("connecting")

    @classmethod
    def ready(cls, local_url: str, pod: str) -> ForwardState:
        return cls("ready", local_url=local_url, pod=pod)

    @classmethod
    def reconnecting(cls, attempt: int, reason: str) -> ForwardState:
        return cls("reconnecting", attempt=attempt, reason=reason)

    @classmethod
    def failed(cls, reason: str) -> ForwardState:
        return cls("failed", reason=reason)

    def __str__(self) -> str:
        if self.phase == "ready":
            return f"ready {self.local_url} → {self.pod}"
        if self.phase == "reconnecting":
            return f"reconnecting (attempt {self.attempt}): {self.reason}"
        if self.phase == "failed":
            return f"failed: {self.reason}"
        return "connecting"


@dataclass(frozen=True)
class Backoff:
    """Exponential delays between attempts, capped."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (1 = the first retry)."""
        return float(min(self.cap, self.initial * self.factor ** max(attempt - 1, 0)))


StateHandler = Callable[[ForwardState], None]


class ForwardSupervisor:
    """Forwards a stable local port to whichever pod the resolver names, for as long as it is
    open (`async with`). `failed` is final: after `max_attempts` retries in a row (None: never
    give up) or an error waiting cannot fix."""

    def __init__(
        self,
        api: client.ApiClient,
        resolver: PodResolver,
        *,
        local_port: int = 0,
        backoff: Backoff = Backoff(),
        max_attempts: int | None = None,
        resolve_timeout: float = RESOLVE_TIMEOUT,
        stable_after: float = STABLE_AFTER,
        connect_timeout: float = 10.0,
        on_state: StateHandler | None = None,
    ) -> None:
        self.resolver = resolver
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.resolve_timeout = resolve_timeout
        self.stable_after = stable_after
        self.on_state = on_state
        self.forward = PortForward(
            api,
            None,
            local_port=local_port,
            connect_timeout=connect_timeout,
            on_error=self._connection_failed,
        )
        self._state = ForwardState.connecting()
        self._subscribers: set[asyncio.Queue[ForwardState | None]] = set()
        self._lost = asyncio.Event()
        self._lost_reason = ""
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def state(self) -> ForwardState:
        return self._state

    @property
    def local_url(self) -> str:
        """http://127.0.0.1:PORT, the same for the supervisor's whole life."""
        return self.forward.local_url

    async def states(self) -> AsyncIterator[ForwardState]:
        """The current state, then every change until the supervisor closes. A slow reader
        misses intermediate states, never the latest one."""
        queue: asyncio.Queue[ForwardState | None] = asyncio.Queue(SUBSCRIBER_BUFFER)
        queue.put_nowait(self._state)
        if self._closed:
            queue.put_nowait(None)
        self._subscribers.add(queue)
        try:
            while (state := await queue.get()) is not None:
                yield state
        finally:
            self._subscribers.discard(queue)

    async def __aenter__(self) -> ForwardSupervisor:
        await self.forward.__aenter__()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.forward.__aexit__(exc_type, exc, traceback)
        self._closed = True
        for queue in self._subscribers:
            _offer(queue, None)

    def _publish(self, state: ForwardState) -> None:
        self._state = state
        LOG.info("port-forward %s", state)
        for queue in self._subscribers:
            _offer(queue, state)
        if self.on_state is not None:
            self.on_state(state)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        reason = ""
        while True:
            if failures:
                if self.max_attempts is not None and failures > self.max_attempts:
                    self._publish(ForwardState.failed(reason))
                    return
                self._publish(ForwardState.reconnecting(failures, reason))
                await asyncio.sleep(self.backoff.delay(failures))
            try:
                async with asyncio.timeout(self.resolve_timeout):
                    endpoint = await self.resolver.resolve()
            except ResolveError as exc:
                if not exc.retryable:
                    self._publish(ForwardState.failed(str(exc)))
                    return
                reason = str(exc)
            except TimeoutError:
                reason = f"no answer from the API server within {self.resolve_timeout:g}s"
            except (aiohttp.ClientError, OSError) as exc:
                reason = f"cannot reach the API server: {exc}"
            except Exception as exc:
                # A resolver bug must show in the status bar, not leave it saying "ready".
                LOG.exception("port-forward resolver failed")
                self._publish(ForwardState.failed(f"unexpected error: {exc}"))
                return
            else:
                started = loop.time()
                reason = await self._serve(endpoint)
                if loop.time() - started >= self.stable_after:
                    failures = 0
            failures += 1

    async def _serve(self, endpoint: PodEndpoint) -> str:
        """Forward to the endpoint until it stops serving; the reason it stopped."""
        self._lost.clear()
        self.forward.endpoint = endpoint
        self._publish(ForwardState.ready(self.local_url, endpoint.pod))
        gone = asyncio.create_task(self.resolver.gone(endpoint))
        lost = asyncio.create_task(self._lost.wait())
        try:
            await asyncio.wait({gone, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.forward.endpoint = None
            for task in (gone, lost):
                task.cancel()
            await asyncio.gather(gone, lost, return_exceptions=True)
        if lost.done() and not lost.cancelled():
            return self._lost_reason
        try:
            return gone.result()
        except Exception as exc:
            return f"lost track of pod {endpoint.pod}: {exc}"

    def _connection_failed(self, error: PortForwardError) -> None:
        """A WebSocket that cannot be opened means the pod (or the way to it) is gone; an
        error from inside the pod (connection refused) concerns that connection only."""
        if error.connect and error.endpoint == self.forward.endpoint:
            self._lost_reason = str(error)
            self._lost.set()


def _offer(queue: asyncio.Queue[ForwardState | None], item: ForwardState | None) -> None:
    """Put without blocking, dropping the oldest entry when the queue is full."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(item)
