"""The runtime's writes to the status of its Kubernetes objects (its AgentRuns' ends, whether its
Agent waits for a person), so the operator and the consoles learn of them from the watches they
already hold and never poll the runtime.

One connection and one background task serve every write. Only the latest write per object is
kept (an older one is obsolete), each is retried with backoff a bounded number of times (but a
refusal by RBAC, say an Agent run under its own ServiceAccount without the operator's Role, is
not retried: it would only hold up the writes queued behind it), and none ever blocks a turn:
what cannot be written is logged and dropped, and the runtime's own HTTP API still shows it.
A runtime without API access (embedded, tests) builds no writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kubernetes_asyncio import client

from agentops_services.kube.client import api_client
from agentops_services.kube.resources import ResourceType
from agentops_services.kube.rest import Kube, KubeError

LOG = logging.getLogger("agentops.runtime.status_writer")
FIELD_MANAGER = "agentops-runtime"
ATTEMPTS = 5
FIRST_BACKOFF = 0.5
FLUSH_TIMEOUT = 10.0

Write = Callable[[Kube], Awaitable[None]]
"""One object's write: raises KubeError or OSError to be retried."""


class StatusWriter:
    """Writes in the background, latest write per object; `put` never waits."""

    def __init__(self, kubeconfig: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self._api: client.ApiClient | None = None
        self._pending: dict[tuple[str, str], tuple[ResourceType, Write]] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._api = await api_client(self.kubeconfig)
        self._task = asyncio.create_task(self._write_loop(), name="status-writer")

    def put(self, kind: ResourceType, name: str, write: Write) -> None:
        """Write `name` (of `kind`, in the runtime's namespace) soon, replacing a write of the
        same object that has not started yet."""
        self._pending[(kind.kind, name)] = (kind, write)
        self._idle.clear()
        self._wake.set()

    async def _write_loop(self) -> None:
        assert self._api is not None
        kube = Kube(self._api)
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                (_, name), (kind, write) = self._pending.popitem()
                await self._write(kube, kind, name, write)
            self._idle.set()

    async def _write(self, kube: Kube, kind: ResourceType, name: str, write: Write) -> None:
        delay = FIRST_BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await write(kube)
                return
            except KubeError as exc:
                if exc.not_found:
                    LOG.info("%s %s is gone; its status is not written", kind.kind, name)
                    return
                if exc.forbidden:  # RBAC does not change within the backoff
                    LOG.warning("not allowed to write %s %s status: %s", kind.kind, name, exc)
                    return
                error: Exception = exc
            except (OSError, TimeoutError) as exc:
                error = exc
            LOG.warning(
                "writing %s %s status failed (attempt %d): %s", kind.kind, name, attempt, error
            )
            await asyncio.sleep(delay)
            delay *= 2

    async def aclose(self) -> None:
        """Write what is pending (within a deadline), then close the connection."""
        if self._task is not None:
            try:
                async with asyncio.timeout(FLUSH_TIMEOUT):
                    await self._idle.wait()
            except TimeoutError:
                LOG.warning("%d status writes not made at shutdown", len(self._pending))
            self._task.cancel()
        if self._api is not None:
            await self._api.close()
