"""The AgentRun of a daemon Agent, sent to its local runtime: `POST /runs` (the operator's
RuntimeClient), then `GET /runs/{name}` until it ends.

In a cluster the runtime writes the run's end to the AgentRun itself; a local runtime has no
Kubernetes API to write to, so the end is read from the runtime instead, with bounded polling
(one short request per interval, each with a timeout). The end status is the one the runtime
would have written (runtime/run_status.py).

A run waits, Pending with a condition saying why, while the agent's runtime is not serving
(AgentNotRunning, as the operator says it) or busy with a chat turn or another run
(RuntimeBusy); that time does not count against its timeout. A runtime that restarts while it
runs the run has lost it (runs are not checkpointed): the run fails with RuntimeRestarted.
Cancelling the run (timeout, replaced, deleted) aborts the runtime's turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from agentops_services.api.runtime_api import RunStatus
from agentops_services.api.v1alpha1 import Agent, AgentRun
from agentops_services.local.agent_runs import RunContext, RunReport
from agentops_services.local.catalog import LOCAL_NAMESPACE
from agentops_services.local.runtimes import DaemonAgents
from agentops_services.local.status import Clock, utc_now
from agentops_services.operator import names
from agentops_services.operator.builders.conditions import ACCEPTED, DesiredCondition, condition
from agentops_services.operator.builders.run_result import COMPLETE, RunEnd, run_failed
from agentops_services.operator.runtime_client import (
    CALL_TIMEOUT,
    RuntimeBusyError,
    RuntimeClient,
    RuntimeRejectedError,
)
from agentops_services.runtime.run_status import status_patch

LOG = logging.getLogger("agentops.local.daemon_runs")
POLL_INTERVAL = 0.5
BUSY_RETRY = 2.0
"""A busy runtime is asked again this soon."""
UNREACHABLE_RETRY = 1.0


class _RuntimeLostError(Exception):
    """The runtime no longer knows the run (it restarted)."""


class DaemonRuns:
    """The executor of daemon runs (see agent_runs.RunExecutor)."""

    def __init__(
        self,
        daemons: DaemonAgents,
        *,
        poll_interval: float = POLL_INTERVAL,
        busy_retry: float = BUSY_RETRY,
        clock: Clock = utc_now,
    ) -> None:
        self.daemons = daemons
        self.poll_interval = poll_interval
        self.busy_retry = busy_retry
        self.clock = clock

    async def execute(self, context: RunContext, report: RunReport) -> RunEnd:
        run, agent = context.run, context.agent
        try:
            await self._submit(run, agent, report)
        except RuntimeRejectedError as exc:
            return run_failed(str(exc), "Rejected", self.clock())
        await report.running(
            [
                condition(ACCEPTED, "True", "Admitted", "Sent to the agent's runtime"),
                condition(COMPLETE, "False", "Running", "The runtime is executing the run"),
            ],
            mode="daemon",
            model=agent.spec.model,
        )
        try:
            status = await self._follow(run.name, agent.name)
        except _RuntimeLostError:
            message = "The agent's runtime restarted while it ran the run"
            return run_failed(message, "RuntimeRestarted", self.clock())
        except asyncio.CancelledError:
            await self._abort(agent.name)
            raise
        end = status_patch(status)
        conditions: list[DesiredCondition] = [
            condition(c["type"], c["status"], c["reason"], c["message"])
            for c in end.pop("conditions")
        ]
        return end, conditions

    def _client(self, agent: str) -> RuntimeClient:
        return RuntimeClient(url=lambda _namespace, _agent: self.daemons.url(agent) or "")

    async def _submit(self, run: AgentRun, agent: Agent, report: RunReport) -> None:
        """Hand the run over, waiting for the runtime to serve and to be free."""
        traceparent = (run.metadata.annotations or {}).get(names.A_TRACEPARENT)
        while True:
            if self.daemons.url(agent.name) is None:
                message = f'Agent "{agent.name}" is not running, waiting for Running'
                await report.waiting(condition("AgentReady", "False", "AgentNotRunning", message))
                await self.daemons.wait_ready(agent.name)
            try:
                await self._client(agent.name).submit(
                    LOCAL_NAMESPACE, agent.name, run.name, run.spec.prompt, traceparent
                )
                return
            except RuntimeBusyError:
                message = "The agent's runtime is busy with a chat turn or another run"
                await report.waiting(condition("Admitted", "False", "RuntimeBusy", message))
                await asyncio.sleep(self.busy_retry)
            except httpx.HTTPError as exc:
                LOG.info("runtime of %s unreachable (%s), trying again", agent.name, exc)
                await asyncio.sleep(UNREACHABLE_RETRY)

    async def _follow(self, run: str, agent: str) -> RunStatus:
        """Poll the runtime until the run has ended; unreachable moments are waited out."""
        async with httpx.AsyncClient(timeout=CALL_TIMEOUT) as http:
            while True:
                url = self.daemons.url(agent)
                if url is not None:
                    with contextlib.suppress(httpx.TransportError):
                        response = await http.get(f"{url}/runs/{run}")
                        if response.status_code == 404:
                            raise _RuntimeLostError(run)
                        if response.is_success:
                            status = RunStatus.model_validate_json(response.content)
                            if status.phase != "Running":
                                return status
                await asyncio.sleep(self.poll_interval)

    async def _abort(self, agent: str) -> None:
        if self.daemons.url(agent) is None:
            return
        try:
            await self._client(agent).abort(LOCAL_NAMESPACE, agent)
        except httpx.HTTPError as exc:
            LOG.warning("could not abort the turn of %s: %s", agent, exc)
