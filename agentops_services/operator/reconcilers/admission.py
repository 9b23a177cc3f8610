"""Which AgentRuns of an Agent may start now, given spec.concurrency.

Race-free where upstream was not: the decision is made under a per-Agent lock, from the runs the
cache shows Running plus the runs this process admitted and whose status write the cache has
not shown yet. Two runs created at the same instant are ordered by (creationTimestamp, name),
so `queue` is FIFO and never admits both when maxRuns is 1. Only the leader admits, and it
writes `Running` before it starts anything, so a new leader sees every admitted run.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from agentops_services.api.v1alpha1 import AgentRun

TERMINAL = ("Succeeded", "Failed")
Slot = tuple[str, str]
"""(namespace, agent)."""


def run_order(run: AgentRun) -> tuple[str, str]:
    """Oldest first, by (creationTimestamp, name): the order runs are admitted in."""
    created = run.metadata.creation_timestamp
    return (created.isoformat() if created else "", run.name)


@dataclass(frozen=True)
class Decision:
    admit: bool
    active: list[AgentRun]
    """Runs holding a slot (Running, or admitted), oldest first."""
    ahead: int
    """Runs waiting in front of this one (queue policy)."""


@dataclass
class Admission:
    _locks: defaultdict[Slot, asyncio.Lock] = field(
        default_factory=lambda: defaultdict(asyncio.Lock)
    )
    _admitted: defaultdict[Slot, set[str]] = field(default_factory=lambda: defaultdict(set))

    def lock(self, slot: Slot) -> asyncio.Lock:
        return self._locks[slot]

    def decide(self, slot: Slot, run: AgentRun, runs: Iterable[AgentRun], limit: int) -> Decision:
        """Call with the slot's lock held; `runs` are the Agent's runs from the cache."""
        admitted = self._admitted[slot]
        current = [r for r in runs if (r.status.phase if r.status else None) not in TERMINAL]
        live = {r.name for r in current}
        admitted &= live  # finished or deleted runs give their slot back
        active = sorted(
            (
                r
                for r in current
                if r.name != run.name
                and ((r.status and r.status.phase == "Running") or r.name in admitted)
            ),
            key=run_order,
        )
        waiting = sorted(
            (r for r in current if r.name != run.name and r.name not in {a.name for a in active}),
            key=run_order,
        )
        ahead = sum(1 for r in waiting if run_order(r) < run_order(run))
        return Decision(admit=len(active) + ahead < limit, active=active, ahead=ahead)

    def admit(self, slot: Slot, run: str) -> None:
        self._admitted[slot].add(run)

    def release(self, slot: Slot, run: str) -> None:
        self._admitted[slot].discard(run)
