"""Agent.spec.schedule on one machine: the due AgentRun is created, as the operator's
Scheduler does (reconcilers/schedules.py), from the same pure pieces (builders/schedule.py):
the newest due time only, a run named after its fire time (so making it twice is harmless),
resuming from lastScheduleTime or the newest scheduled run, whichever is newer.

`fire` does one pass and says how long until the next fire time; `run` repeats it, woken early
by `wake` when Agents or runs change. The clock is injected, so tests move time by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from agentops_services.api.model import format_time
from agentops_services.api.v1alpha1 import Agent, AgentRun
from agentops_services.local.catalog import LOCAL_NAMESPACE, Catalog
from agentops_services.local.status import Clock, StatusBook, StatusSink, utc_now
from agentops_services.operator.builders.schedule import (
    CronSchedule,
    ScheduleError,
    next_time,
    run_due,
    schedule_anchor,
    schedule_run_manifest,
)

LOG = logging.getLogger("agentops.local.schedules")
LONGEST_SLEEP = 60.0
"""`run` looks again at least this often (a clock that jumps, a missed wake)."""

Snapshot = Callable[[], tuple[Catalog, Iterable[AgentRun]]]


class Schedules:
    """Creates scheduled AgentRuns through the sink; records lastScheduleTime on the Agent."""

    def __init__(
        self, sink: StatusSink, agent_statuses: StatusBook, *, clock: Clock = utc_now
    ) -> None:
        self.sink = sink
        self.agent_statuses = agent_statuses
        self.clock = clock
        self._last: dict[str, datetime] = {}
        self._wake = asyncio.Event()

    async def fire(self, catalog: Catalog, runs: Iterable[AgentRun]) -> float | None:
        """Create every due run; seconds until the next fire time (None: nothing scheduled)."""
        listed = list(runs)
        waits = [
            wait
            for agent in catalog.agents.values()
            if (wait := await self._fire_agent(agent, listed)) is not None
        ]
        self._last = {n: t for n, t in self._last.items() if n in catalog.agents}
        return min(waits, default=None)

    async def _fire_agent(self, agent: Agent, runs: list[AgentRun]) -> float | None:
        spec = agent.spec
        if not spec.schedule or not spec.schedule_prompt:
            return None
        try:
            cron = CronSchedule.parse(spec.schedule)
        except ScheduleError as exc:
            LOG.warning("agent %s: %s", agent.name, exc)
            return None
        now = self.clock()
        anchor = schedule_anchor(agent, runs, now)
        recorded = self._last.get(agent.name)
        due = run_due(cron, max(anchor, recorded) if recorded else anchor, now)
        if due is not None:
            manifest = schedule_run_manifest(agent, due)
            manifest["metadata"]["namespace"] = LOCAL_NAMESPACE
            await self.sink.create_run(manifest)
            LOG.info("scheduled run %s created", manifest["metadata"]["name"])
            self._last[agent.name] = due
            await self.agent_statuses.publish(agent, [], lastScheduleTime=format_time(due))
        return max((next_time(cron, now) - now).total_seconds(), 0.0)

    def wake(self) -> None:
        """Look again now (Agents or runs changed)."""
        self._wake.set()

    async def run(self, snapshot: Snapshot) -> None:
        """Fire schedules until cancelled, sleeping until the next fire time or a wake."""
        while True:
            self._wake.clear()
            catalog, runs = snapshot()
            wait = await self.fire(catalog, runs)
            pause = LONGEST_SLEEP if wait is None else min(wait, LONGEST_SLEEP)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)
