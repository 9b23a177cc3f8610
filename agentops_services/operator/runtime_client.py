"""What the operator asks of a daemon agent's runtime: start an AgentRun (`POST /runs`,
idempotent by run name) and abort the running turn. Each call has a short timeout; the run
itself proceeds in the runtime, which writes the AgentRun's status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from agentops_services.operator.names import RUNTIME_PORT

CALL_TIMEOUT = 10.0
BODY_CAP = 1000


def cluster_url(namespace: str, agent: str) -> str:
    """The agent's Service inside the cluster."""
    return f"http://{agent}.{namespace}.svc:{RUNTIME_PORT}"


RuntimeUrl = Callable[[str, str], str]
"""(namespace, agent) -> base URL of its runtime; tests point it at loopback."""


class RuntimeBusyError(Exception):
    """The runtime is running something else (409): try again shortly."""


class RuntimeRejectedError(Exception):
    """The runtime refused the run for good (4xx other than 409): the run fails."""


@dataclass
class RuntimeClient:
    url: RuntimeUrl = cluster_url

    async def submit(
        self, namespace: str, agent: str, run: str, prompt: str, traceparent: str | None
    ) -> None:
        body: dict[str, object] = {"runName": run, "prompt": prompt}
        if traceparent:
            body["traceparent"] = traceparent
        headers = {"X-AgentOps-Run-Name": run}
        async with httpx.AsyncClient(timeout=CALL_TIMEOUT) as http:
            response = await http.post(
                f"{self.url(namespace, agent)}/runs", json=body, headers=headers
            )
        if response.status_code == 409:
            raise RuntimeBusyError(response.text[:BODY_CAP])
        if 400 <= response.status_code < 500:
            raise RuntimeRejectedError(
                f"Agent runtime answered {response.status_code}: {response.text[:BODY_CAP]}"
            )
        response.raise_for_status()

    async def abort(self, namespace: str, agent: str) -> None:
        async with httpx.AsyncClient(timeout=CALL_TIMEOUT) as http:
            response = await http.delete(f"{self.url(namespace, agent)}/abort")
        response.raise_for_status()
