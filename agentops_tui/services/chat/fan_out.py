"""A delegation group as the chat shows it while its child runs work: which runs, their agent,
phase and duration, how many are done, and how the group ended.

Folded from `delegation.fan_out` (or `delegation.single`, a group of one), then
`delegation.run_completed` per child, then `delegation.all_completed` or `delegation.timeout`.
A console may attach mid-way or see the events out of order, so any of them can start the
group, a child never announced is added, and counts only grow: what the events say last never
makes the card forget what an earlier one said. A group that ended (completed or timed out)
stays ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from agentops_services.api import fep

RUNNING = "Running"
TIMED_OUT = "TimedOut"
GroupState = Literal["running", "completed", "timed_out"]
DelegationEvent: TypeAlias = (
    fep.DelegationFanOut
    | fep.DelegationSingle
    | fep.DelegationRunCompleted
    | fep.DelegationAllCompleted
    | fep.DelegationTimeout
)


@dataclass(slots=True)
class ChildRun:
    agent: str = ""
    phase: str = RUNNING
    """Running until `delegation.run_completed` gives its end phase; TimedOut if the group
    timed out first."""
    duration: str = ""

    @property
    def done(self) -> bool:
        return self.phase not in (RUNNING, TIMED_OUT)


@dataclass(slots=True)
class FanOutBlock:
    group_id: str
    runs: dict[str, ChildRun] = field(default_factory=dict)
    """By AgentRun name, in the order the group announced them."""
    expected: int = 0
    """How many children the events say the group has."""
    single: bool = False
    state: GroupState = "running"
    succeeded: int = 0
    failed: int = 0
    reported_done: int = 0
    """Children done by the group's own count (all_completed, timeout)."""
    total_duration: str = ""

    @property
    def total(self) -> int:
        return max(self.expected, len(self.runs))

    @property
    def done(self) -> int:
        return max(self.reported_done, sum(run.done for run in self.runs.values()))

    def status(self) -> str:
        """Running, n/N, All Completed, "x ok / y failed" or Timed Out."""
        if self.state == "timed_out":
            return "Timed Out"
        if self.state == "completed":
            return f"{self.succeeded} ok / {self.failed} failed" if self.failed else "All Completed"
        return f"{self.done}/{self.total}" if self.done else RUNNING

    def apply(self, event: DelegationEvent) -> None:
        if isinstance(event, fep.DelegationFanOut):
            self._announce(event.run_names, event.count)
        elif isinstance(event, fep.DelegationSingle):
            self.single = True
            self._announce([event.run_name], 1)
        elif isinstance(event, fep.DelegationRunCompleted):
            run = self.runs.setdefault(event.run_name, ChildRun())
            run.agent, run.phase, run.duration = event.child_agent, event.phase, event.duration
            self.expected = max(self.expected, self.done + event.remaining)
        elif isinstance(event, fep.DelegationAllCompleted):
            self.single = self.single or event.single
            if self.state == "running":
                self.succeeded, self.failed = event.succeeded, event.failed
                self.total_duration = event.total_duration
            self._end("completed", event.succeeded + event.failed, 0)
        else:
            if self.state == "running":
                for run in self.runs.values():
                    if not run.done:
                        run.phase = TIMED_OUT
            self._end("timed_out", event.completed, event.timed_out)

    def _announce(self, names: list[str], count: int) -> None:
        """The group's children in announced order, keeping what is known of any already
        reported (their completion came first)."""
        announced = {name: self.runs.get(name) or ChildRun() for name in names}
        self.runs = announced | {n: r for n, r in self.runs.items() if n not in announced}
        self.expected = max(self.expected, count, len(names))

    def _end(self, state: GroupState, done: int, unfinished: int) -> None:
        if self.state == "running":
            self.state = state
        self.reported_done = max(self.reported_done, done)
        self.expected = max(self.expected, done + unfinished)
