"""Agent.spec.schedule: when scheduled AgentRuns are due, and the AgentRun each one becomes.

Upstream never implemented the schedule (§9.1). Here:

* Expressions are standard five-field cron (minute hour day-of-month month day-of-week, UTC,
  names and ranges/steps allowed, day-of-month OR day-of-week as in Vixie cron) or a macro
  (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly), the same set the CRD's
  pattern admits. croniter does the calendar arithmetic.
* Idempotence comes from the name: a run is named after the time it stands for
  (`<agent>-sched-<unix minutes>`), so a restarted or duplicated reconcile that creates it again
  gets AlreadyExists instead of a second run.
* Missed runs (operator down, agent just re-enabled): only the most recent due time gets a run,
  as a CronJob does. Five missed hourly runs of a report agent would produce five near-identical
  reports at once, which nobody wants. There is no starting deadline: the latest missed run is
  created however late it is, and its `scheduled-at` annotation says how late.
* The controller resumes from Agent status.lastScheduleTime or the newest scheduled run's
  `scheduled-at` annotation, whichever is newer (see `schedule_anchor`), and after creating a
  run records its time in status.lastScheduleTime, so deleting old runs never replays one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import CroniterError, croniter

from agentops_services.api.model import format_time
from agentops_services.api.v1alpha1.agent import Agent
from agentops_services.api.v1alpha1.agentrun import AgentRun
from agentops_services.api.v1alpha1.meta import API_VERSION
from agentops_services.operator import names
from agentops_services.operator.builders.metadata import owner_reference

MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
MAX_DUE = 100
"""At most this many due times are listed (the newest), however long the operator was away."""
NAME_LIMIT = 63
_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)
"""croniter's get_prev is strictly before its start; one tick later makes it "at or before"."""


class ScheduleError(ValueError):
    """The expression is not a schedule we run; the message says why, for a condition."""


@dataclass(frozen=True)
class CronSchedule:
    """A parsed, validated schedule (UTC)."""

    expression: str

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Validate `expression`: five fields or a macro, in range, and able to fire at all
        (`0 0 31 2 *` is well-formed but never comes)."""
        text = " ".join(expression.split())
        if not (text.lower() in MACROS or len(text.split(" ")) == 5):
            raise ScheduleError(
                f"schedule {expression!r} must have five fields (minute hour day-of-month "
                "month day-of-week) or be a macro such as @hourly"
            )
        try:
            croniter(text, _REFERENCE).get_next(datetime)
        except CroniterError as exc:
            raise ScheduleError(f"schedule {expression!r} is not valid cron: {exc}") from exc
        return cls(text.lower() if text.startswith("@") else text)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("schedule times must be timezone-aware")
    return moment.astimezone(UTC)


def next_time(schedule: CronSchedule, after: datetime) -> datetime:
    """The first fire time strictly after `after` (the controller requeues for then)."""
    return croniter(schedule.expression, _utc(after)).get_next(datetime).replace(fold=0)


def _latest_until(schedule: CronSchedule, moment: datetime) -> datetime:
    """The last fire time at or before `moment`."""
    latest = croniter(schedule.expression, _utc(moment) + _TICK).get_prev(datetime)
    return latest.replace(fold=0)  # croniter marks results fold=1, meaningless in UTC


def due_times(
    schedule: CronSchedule, last: datetime, now: datetime, limit: int = MAX_DUE
) -> list[datetime]:
    """Fire times in (last, now], oldest first; only the newest `limit` when there are more."""
    due: list[datetime] = []
    moment = _latest_until(schedule, now)
    while moment > _utc(last) and len(due) < limit:
        due.append(moment)
        moment = _latest_until(schedule, moment - _TICK)
    return due[::-1]


def run_due(schedule: CronSchedule, last: datetime, now: datetime) -> datetime | None:
    """The one time to create a run for now (the newest due time), or None if none is due."""
    latest = _latest_until(schedule, now)
    return latest if latest > _utc(last) else None


def scheduled_run_name(agent: str, scheduled_at: datetime) -> str:
    """`<agent>-sched-<unix minutes>`, at most 63 characters: a long agent name is cut and
    given a hash of the full name, so two long names sharing a prefix stay distinct."""
    suffix = f"-sched-{int(_utc(scheduled_at).timestamp()) // 60}"
    if len(agent) + len(suffix) <= NAME_LIMIT:
        return agent + suffix
    digest = hashlib.sha256(agent.encode()).hexdigest()[:8]
    keep = NAME_LIMIT - len(suffix) - len(digest) - 1
    return f"{agent[:keep].rstrip('-')}-{digest}{suffix}"


def schedule_run_manifest(agent: Agent, scheduled_at: datetime) -> dict[str, Any]:
    """The AgentRun for one fire time: source schedule, sourceRef the cron expression, prompt
    spec.schedulePrompt, owned by the Agent (deleting the Agent deletes its scheduled runs)."""
    spec = agent.spec
    if not spec.schedule or not spec.schedule_prompt:
        raise ScheduleError(f"agent {agent.name} has no schedule and schedulePrompt")
    metadata: dict[str, Any] = {"name": scheduled_run_name(agent.name, scheduled_at)}
    if agent.namespace:
        metadata["namespace"] = agent.namespace
    metadata |= {
        "labels": {names.L_AGENT: agent.name, names.L_MB: names.MANAGED_BY},
        "annotations": {names.A_SCHEDULED_AT: format_time(scheduled_at)},
        "ownerReferences": [owner_reference(agent)],
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "AgentRun",
        "metadata": metadata,
        "spec": {
            "agentRef": agent.name,
            "prompt": spec.schedule_prompt,
            "source": "schedule",
            "sourceRef": spec.schedule,
        },
    }


def schedule_anchor(agent: Agent, runs: Iterable[AgentRun], now: datetime) -> datetime:
    """Where the schedule resumes: the newest of status.lastScheduleTime and the `scheduled-at`
    of the agent's scheduled runs (either alone survives a lost status write or deleted runs),
    else the Agent's creation time, else `now` for an object not yet stored."""
    recorded = agent.status.last_schedule_time if agent.status else None
    times = [
        moment
        for run in runs
        if run.spec.agent_ref == agent.name and run.spec.source == "schedule"
        for moment in [_scheduled_at(run)]
        if moment is not None
    ]
    if recorded is not None:
        times.append(recorded)
    if times:
        return max(times)
    return agent.metadata.creation_timestamp or now


def _scheduled_at(run: AgentRun) -> datetime | None:
    """The run's `scheduled-at` annotation; None when absent or edited into nonsense."""
    text = (run.metadata.annotations or {}).get(names.A_SCHEDULED_AT)
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)
