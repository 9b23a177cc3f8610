"""Firing an Agent's cron schedule: create the AgentRun of the newest due time, then ask to be
woken at the next one (a single scheduled requeue, no polling). Where it resumes and why a run
is never made twice: builders/schedule.py."""

from __future__ import annotations

import logging
from datetime import datetime

from agentops_services.api.model import format_time
from agentops_services.api.v1alpha1 import Agent, AgentRun
from agentops_services.kube.resources import AGENT_RUN
from agentops_services.kube.rest import KubeError
from agentops_services.operator.builders.schedule import (
    CronSchedule,
    ScheduleError,
    next_time,
    run_due,
    schedule_anchor,
    schedule_run_manifest,
)
from agentops_services.operator.cluster import Cluster
from agentops_services.operator.names import FIELD_MANAGER

LOG = logging.getLogger("agentops.operator.schedule")


class Scheduler:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    async def fire(self, agent: Agent) -> tuple[str | None, float | None]:
        """Create the due run, if any: (the lastScheduleTime to record, seconds until the next
        fire time); (None, None) for an agent without a schedule."""
        spec = agent.spec
        if not spec.schedule or not spec.schedule_prompt:
            return None, None
        try:
            cron = CronSchedule.parse(spec.schedule)
        except ScheduleError as exc:
            LOG.warning("agent %s/%s: %s", agent.namespace, agent.name, exc)
            return None, None
        cluster = self.cluster
        now = cluster.clock()
        namespace = agent.namespace or "default"
        runs = list(cluster.models(AgentRun, AGENT_RUN, namespace))
        due = run_due(cron, schedule_anchor(agent, runs, now), now)
        last: datetime | None = agent.status.last_schedule_time if agent.status else None
        if due is not None:
            manifest = schedule_run_manifest(agent, due)
            try:
                await cluster.kube.create(
                    AGENT_RUN, namespace, manifest, field_manager=FIELD_MANAGER
                )
                LOG.info("scheduled run %s/%s created", namespace, manifest["metadata"]["name"])
            except KubeError as exc:
                if not exc.conflict:  # AlreadyExists: made before a restart, nothing to do
                    raise
            last = due
        wait = (next_time(cron, now) - now).total_seconds()
        return (format_time(last) if last else None), max(wait, 0.0)
