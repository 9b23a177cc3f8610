"""AgentRuns on one machine: what the operator's AgentRun controller does in a cluster, with
an executor per Agent mode doing the part a Job or the runtime's `POST /runs` does there
(task_runs.py, daemon_runs.py).

`AgentRuns.reconcile` is level-triggered: given every AgentRun and the catalog, it admits runs
under their Agent's concurrency policy (queue: Queued with how many are ahead, FIFO by creation
time; reject: Failed; replace: the oldest running run is cancelled), starts an executor for each
admitted one, cancels the executors of deleted runs and fails runs whose Agent is gone. An
ended run gives its slot to the next queued one at once. A run found Running that this platform
does not run was running when the platform stopped: it fails (Interrupted) rather than run twice.

The timeout (the Agent's spec.timeout, as a Job's activeDeadlineSeconds) counts from when the
executor reports the run Running, so time spent waiting for a busy or restarting runtime does
not count; when it passes the executor is cancelled (which kills the process, or aborts the
daemon's turn) and the run fails with reason Timeout.

Statuses carry the operator's fields and reasons, so a console shows local and cluster runs
the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentops_services.api.model import format_time
from agentops_services.api.v1alpha1 import Agent, AgentRun
from agentops_services.local.catalog import Catalog
from agentops_services.local.runtime_env import SecretSource
from agentops_services.local.status import Clock, StatusBook, StatusSink, utc_now
from agentops_services.operator.builders.conditions import DesiredCondition, condition
from agentops_services.operator.builders.job import deadline_seconds
from agentops_services.operator.builders.run_result import RunEnd, run_failed
from agentops_services.operator.reconcilers.admission import TERMINAL, run_order

LOG = logging.getLogger("agentops.local.agent_runs")


class RunReport(Protocol):
    """How an executor says where its run is."""

    async def waiting(self, why: DesiredCondition) -> None:
        """Pending, for the reason given (the runtime is busy, not running yet...)."""

    async def running(self, conditions: list[DesiredCondition], **fields: Any) -> None:
        """Running from now (the timeout starts): its conditions and fields (mode, model...)."""


@dataclass(frozen=True)
class RunContext:
    """One run to execute and what it is executed with."""

    run: AgentRun
    agent: Agent
    catalog: Catalog
    secrets: SecretSource = field(repr=False)


class RunExecutor(Protocol):
    """Runs one AgentRun of an Agent of one mode to its end."""

    async def execute(self, context: RunContext, report: RunReport) -> RunEnd:
        """The run's end status; cancelled on timeout or deletion (it then stops its work)."""


@dataclass
class _Active:
    """An admitted run: its executor's task and when it was reported Running."""

    agent: str
    order: tuple[str, str]
    running: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class _Report:
    """The RunReport of one run, publishing through the coordinator's book."""

    def __init__(self, runs: AgentRuns, name: str, active: _Active) -> None:
        self._runs, self._name, self._active = runs, name, active

    async def waiting(self, why: DesiredCondition) -> None:
        await self._runs.publish(self._name, [why], phase="Pending")

    async def running(self, conditions: list[DesiredCondition], **fields: Any) -> None:
        now = format_time(self._runs.clock())
        await self._runs.publish(self._name, conditions, phase="Running", startTime=now, **fields)
        self._active.running.set()


class AgentRuns:
    """Admits, executes and times out the AgentRuns of the embedded platform."""

    def __init__(
        self,
        sink: StatusSink,
        executors: Mapping[str, RunExecutor],
        *,
        clock: Clock = utc_now,
    ) -> None:
        """`executors` by Agent mode ("task", "daemon")."""
        self.executors = executors
        self.clock = clock
        self.statuses = StatusBook(sink.run_status, clock)
        self._runs: dict[str, AgentRun] = {}
        self._catalog = Catalog()
        self._secrets: SecretSource = {}
        self._active: dict[str, _Active] = {}
        self._lock = asyncio.Lock()
        self._follow_ups: set[asyncio.Task[None]] = set()

    async def publish(self, name: str, conditions: list[DesiredCondition], **fields: Any) -> None:
        run = self._runs.get(name)
        if run is not None:
            await self.statuses.publish(run, conditions, **fields)

    async def reconcile(
        self, runs: Iterable[AgentRun], catalog: Catalog, secrets: SecretSource
    ) -> None:
        """Bring the executions in line with `runs` (every AgentRun that exists)."""
        async with self._lock:
            self._runs = {run.name: run for run in runs}
            self._catalog, self._secrets = catalog, secrets
            for name in [n for n in self._active if n not in self._runs]:
                await self._cancel(name)
                self.statuses.forget(name)
            for name in [n for n in self.statuses.names() if n not in self._runs]:
                self.statuses.forget(name)
            await self._admit_all()

    async def close(self) -> None:
        """Cancel every execution (their runs keep the status last sent)."""
        async with self._lock:
            for name in list(self._active):
                await self._cancel(name)
            for task in list(self._follow_ups):
                task.cancel()

    # --- admission ----------------------------------------------------------------------------

    def _ended(self, run: AgentRun) -> bool:
        phase = self.statuses.phase(run.name) or (run.status.phase if run.status else None)
        return phase in TERMINAL

    def _interrupted(self, run: AgentRun) -> bool:
        """Running by its status, but not run by this platform: it was running when the
        platform stopped (its process went with it). It fails rather than run twice: a run
        may have done half of what it does."""
        phase = run.status.phase if run.status else None
        return phase == "Running" and self.statuses.get(run.name) is None

    async def _admit_all(self) -> None:
        ahead: dict[str, int] = {}
        for run in sorted(self._runs.values(), key=run_order):
            if run.name in self._active or self._ended(run):
                continue
            if self._interrupted(run):
                message = "The platform stopped while the run was running"
                await self._fail(run.name, message, "Interrupted")
                continue
            agent = self._catalog.agents.get(run.spec.agent_ref)
            if agent is None:
                await self._fail(
                    run.name, f'Agent "{run.spec.agent_ref}" not found', "AgentNotFound"
                )
                continue
            executor = self.executors.get(agent.spec.mode)
            if executor is None:
                continue
            if not await self._admissible(run, agent, ahead):
                continue
            self._start(run, agent, executor)
        for name, active in list(self._active.items()):
            if active.agent not in self._catalog.agents:
                await self._cancel(name)
                await self._fail(name, f'Agent "{active.agent}" not found', "AgentNotFound")

    async def _admissible(self, run: AgentRun, agent: Agent, ahead: dict[str, int]) -> bool:
        concurrency = agent.spec.concurrency
        limit = concurrency.max_runs if concurrency else 1
        policy = concurrency.policy if concurrency else "queue"
        holding = sorted(
            (n for n, a in self._active.items() if a.agent == agent.name),
            key=lambda n: self._active[n].order,
        )
        waiting = ahead.get(agent.name, 0)
        if len(holding) + waiting < limit:
            return True
        if policy == "reject":
            await self._fail(run.name, "Rejected: max concurrent runs exceeded", "Rejected")
            return False
        if policy == "replace" and waiting == 0:
            for victim in holding[: len(holding) - limit + 1]:
                await self._cancel(victim)
                await self._fail(victim, f"Cancelled: replaced by {run.name}", "Cancelled")
            return True
        ahead[agent.name] = waiting + 1
        message = f"{len(holding)} of {limit} running, {waiting} ahead"
        await self.publish(
            run.name,
            [condition("Admitted", "False", "Queued", message)],
            phase="Queued",
            mode=agent.spec.mode,
        )
        return False

    # --- execution ----------------------------------------------------------------------------

    def _start(self, run: AgentRun, agent: Agent, executor: RunExecutor) -> None:
        active = _Active(agent.name, run_order(run))
        self._active[run.name] = active
        report = _Report(self, run.name, active)
        context = RunContext(run, agent, self._catalog, self._secrets)
        active.task = asyncio.create_task(
            self._execute(run, agent, executor.execute(context, report), active),
            name=f"run {run.name}",
        )

    async def _execute(
        self, run: AgentRun, agent: Agent, work: Coroutine[Any, Any, RunEnd], active: _Active
    ) -> None:
        execution: asyncio.Task[RunEnd] = asyncio.ensure_future(work)
        try:
            started = asyncio.ensure_future(active.running.wait())
            await asyncio.wait([execution, started], return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            limit = float(deadline_seconds(agent.spec.timeout))
            try:
                fields, conditions = await asyncio.wait_for(execution, limit)
            except TimeoutError:
                message = f"Run timed out after {limit:.0f}s (limit {limit:.0f}s)"
                fields, conditions = run_failed(message, "Timeout", self.clock())
            await self.publish(run.name, conditions, **fields)
        except asyncio.CancelledError:
            execution.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await execution
            raise
        except Exception as exc:
            LOG.exception("run %s failed in the platform", run.name)
            fields, conditions = run_failed(
                f"The platform could not run it: {exc}", "Failed", self.clock()
            )
            await self.publish(run.name, conditions, **fields)
        finally:
            self._active.pop(run.name, None)
            self._follow_up()

    def _follow_up(self) -> None:
        """Admit what the ended run was holding up (outside its own task)."""

        async def admit() -> None:
            async with self._lock:
                await self._admit_all()

        task = asyncio.create_task(admit())
        self._follow_ups.add(task)
        task.add_done_callback(self._follow_ups.discard)

    async def _cancel(self, name: str) -> None:
        active = self._active.pop(name, None)
        if active is None or active.task is None:
            return
        active.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await active.task

    async def _fail(self, name: str, message: str, reason: str) -> None:
        fields, conditions = run_failed(message, reason, self.clock())
        await self.publish(name, conditions, **fields)
