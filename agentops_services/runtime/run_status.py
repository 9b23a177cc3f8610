"""A daemon writes the status of the AgentRuns it executes (`POST /runs`) to the AgentRun
objects itself, so the operator never polls the runtime: it learns of the end from its watch.

Only the end of a run is written (the operator wrote `Running` when it handed the run over),
and never over an end the operator already recorded (a timeout or a replacement aborts the turn,
and "aborted" would hide why).
Writes happen in the background, latest status per run, retried with backoff a bounded number
of times; a run whose status cannot be written is still visible at `GET /runs/{name}`, and the
operator's deadline ends it at the latest.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from kubernetes_asyncio import client

from agentops_services.api.model import format_time
from agentops_services.api.runtime_api import RunStatus
from agentops_services.kube.client import api_client
from agentops_services.kube.resources import AGENT_RUN
from agentops_services.kube.rest import Kube, KubeError

LOG = logging.getLogger("agentops.runtime.run_status")
FIELD_MANAGER = "agentops-runtime"
MAX_OUTPUT = 32 * 1024
ATTEMPTS = 5
FIRST_BACKOFF = 0.5
FLUSH_TIMEOUT = 10.0


def status_patch(status: RunStatus) -> dict[str, Any]:
    """The AgentRun status a finished run becomes (same fields the operator writes for task
    runs)."""
    ok = status.phase == "Succeeded"
    output = status.output if ok or status.output else (status.error or "Run failed")
    completed = datetime.fromisoformat(
        (status.completed_at or status.started_at).replace("Z", "+00:00")
    )
    message = "Run finished" if ok else output[:1024]
    return {
        "phase": status.phase,
        "completionTime": format_time(completed),
        "output": output[:MAX_OUTPUT],
        "toolCalls": status.tool_calls,
        "tokensUsed": status.input_tokens + status.output_tokens,
        "model": status.model or None,
        "traceID": status.trace_id,
        "conditions": [
            {
                "type": type_,
                "status": status_,
                "reason": "Succeeded" if ok else "Failed",
                "message": message,
                "lastTransitionTime": format_time(completed),
            }
            for type_, status_ in (
                ("Accepted", "True"),
                ("Complete", "True"),
                ("Ready", "True" if ok else "False"),
            )
        ],
    }


class RunStatusPublisher:
    """Listens to the RunBook; writes finished runs to their AgentRun in `namespace`."""

    def __init__(self, namespace: str, kubeconfig: str | None = None) -> None:
        self.namespace = namespace
        self.kubeconfig = kubeconfig
        self._api: client.ApiClient | None = None
        self._pending: dict[str, RunStatus] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._api = await api_client(self.kubeconfig)
        self._task = asyncio.create_task(self._write_loop(), name="agentrun-status")

    def __call__(self, status: RunStatus) -> None:
        if status.phase == "Running":
            return
        self._pending[status.run_name] = status
        self._idle.clear()
        self._wake.set()

    async def _write_loop(self) -> None:
        assert self._api is not None
        kube = Kube(self._api)
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                name, status = self._pending.popitem()
                await self._write(kube, name, status)
            self._idle.set()

    async def _write(self, kube: Kube, name: str, status: RunStatus) -> None:
        delay = FIRST_BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            try:
                current = await kube.get(AGENT_RUN, self.namespace, name)
                phase = ((current or {}).get("status") or {}).get("phase")
                if current is None or phase in ("Succeeded", "Failed"):
                    return  # deleted, or ended by the operator (timeout, replaced): keep that
                await kube.patch(
                    AGENT_RUN,
                    self.namespace,
                    name,
                    {"status": status_patch(status)},
                    subresource="status",
                    field_manager=FIELD_MANAGER,
                )
                return
            except KubeError as exc:
                if exc.not_found:
                    LOG.info("AgentRun %s is gone; its status is not written", name)
                    return
                error: Exception = exc
            except (OSError, TimeoutError) as exc:
                error = exc
            LOG.warning("writing AgentRun %s status failed (attempt %d): %s", name, attempt, error)
            await asyncio.sleep(delay)
            delay *= 2

    async def aclose(self) -> None:
        """Write what is pending (within a deadline), then close the connection."""
        if self._task is not None:
            try:
                async with asyncio.timeout(FLUSH_TIMEOUT):
                    await self._idle.wait()
            except TimeoutError:
                LOG.warning("%d AgentRun statuses not written at shutdown", len(self._pending))
            self._task.cancel()
        if self._api is not None:
            await self._api.close()
