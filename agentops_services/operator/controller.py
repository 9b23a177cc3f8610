"""A controller: a work queue of object keys and a fixed number of workers running one
level-triggered reconcile function.

A reconcile reads the world from the informers' caches, makes it match, and returns when (if at
all) it wants to look again: a deadline, never a poll. An exception retries the key with
per-key exponential backoff.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from opentelemetry import trace

from agentops_services.kube.informer import Key
from agentops_services.kube.rest import KubeError
from agentops_services.kube.workqueue import WorkQueue
from agentops_services.operator import metrics
from agentops_services.telemetry import span

LOG = logging.getLogger("agentops.operator")
TRACER = trace.get_tracer("agentops.operator")
DEFAULT_WORKERS = 8
STOP_GRACE = 10.0
"""Seconds a stopping controller lets reconciles under way finish."""

Reconcile = Callable[[Key], Awaitable[float | None]]
"""Reconcile one (namespace, name); seconds until it should run again, or None."""


class Controller:
    def __init__(self, name: str, reconcile: Reconcile, workers: int = DEFAULT_WORKERS) -> None:
        self.name = name
        self.reconcile = reconcile
        self.workers = workers
        self.queue: WorkQueue[Key] = WorkQueue()
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight: set[asyncio.Future[float | None]] = set()

    def enqueue(self, key: Key) -> None:
        self.queue.add(key)

    def enqueue_after(self, key: Key, delay: float) -> None:
        """Enqueue once after `delay`, however often asked meanwhile: for keys that a burst of
        other objects' changes touch (a Provider counting the Agents that use it)."""
        self.queue.add_after(key, delay)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(), name=f"{self.name}-worker-{n}")
            for n in range(self.workers)
        ]

    async def stop(self) -> None:
        """Stop taking keys; a reconcile under way finishes first (it is level-triggered, so
        even one cut short would be finished by the next operator)."""
        self.queue.shut_down()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._in_flight:
            _, late = await asyncio.wait(self._in_flight, timeout=STOP_GRACE)
            for future in late:
                future.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _traced(self, key: Key) -> float | None:
        attributes = {"k8s.namespace.name": key[0], "agentops.resource.name": key[1]}
        with span(TRACER, f"operator.reconcile.{self.name}", attributes=attributes):
            return await self.reconcile(key)

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            started = time.perf_counter()
            outcome = "ok"
            try:
                reconcile = asyncio.ensure_future(self._traced(key))
                self._in_flight.add(reconcile)
                reconcile.add_done_callback(self._in_flight.discard)
                again = await asyncio.shield(reconcile)
            except asyncio.CancelledError:
                raise
            except KubeError as exc:  # the API server's refusal: its message says it all
                outcome = "error"
                delay = self.queue.add_rate_limited(key)
                LOG.warning(
                    "%s %s/%s: %s; retrying in %.2fs", self.name, key[0], key[1], exc, delay
                )
            except Exception:
                outcome = "error"
                delay = self.queue.add_rate_limited(key)
                LOG.exception(
                    "%s %s/%s failed; retrying in %.2fs", self.name, key[0], key[1], delay
                )
            else:
                self.queue.forget(key)
                if again is not None:
                    self.queue.add_after(key, again)
            finally:
                self.queue.done(key)
                metrics.RECONCILES.labels(self.name, outcome).inc()
                metrics.RECONCILE_SECONDS.labels(self.name).observe(time.perf_counter() - started)
