"""AgentRuns executed by a daemon: accepted at once (`POST /runs`), run in the background, their
status kept for `GET /runs/{name}` and handed to listeners (the AgentRun status writer).

Submitting the same run name again is answered with that run's status and starts nothing, so
the operator may retry a submission freely.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from agentops_services.api.fep import fep_timestamp
from agentops_services.api.runtime_api import RunStatus

MAX_RUNS = 256


@dataclass
class RunBook:
    """The most recent runs by name (bounded; the oldest finished ones are forgotten)."""

    limit: int = MAX_RUNS
    _runs: OrderedDict[str, RunStatus] = field(default_factory=OrderedDict)
    _listeners: list[Callable[[RunStatus], None]] = field(default_factory=list)

    def get(self, name: str) -> RunStatus | None:
        return self._runs.get(name)

    def listen(self, listener: Callable[[RunStatus], None]) -> None:
        self._listeners.append(listener)

    def started(self, name: str) -> RunStatus:
        status = RunStatus(run_name=name, phase="Running", started_at=fep_timestamp())
        self._runs[name] = status
        while len(self._runs) > self.limit:
            self._runs.popitem(last=False)
        self._notify(status)
        return status

    def finished(self, status: RunStatus) -> None:
        status.completed_at = fep_timestamp()
        self._runs[status.run_name] = status
        self._notify(status)

    def _notify(self, status: RunStatus) -> None:
        for listener in self._listeners:
            listener(status)
