"""Where the embedded platform's runtimes report to, and how a status is kept whole.

`StatusSink` is all the runtimes know of the outside: the local object store implements it
(it stores the status and tells the watching consoles). Each status handed over is complete
(the whole `status` of the object, as a cluster's API server would hold it after the
operator's patch), so the sink stores it as it is.

`StatusBook` merges like the operator's `publish`: fields replace fields (None removes one),
conditions follow metav1 semantics (the transition time moves only when the status flips),
each carries the generation it was computed from, and an unchanged status is not sent again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from agentops_services.api.v1alpha1.meta import Resource
from agentops_services.operator.builders.conditions import DesiredCondition, desired_status

Clock = Callable[[], datetime]
Status = dict[str, Any]


def utc_now() -> datetime:
    return datetime.now(UTC)


class StatusSink(Protocol):
    """What the local runtimes report; implemented by the local object store."""

    async def agent_status(self, name: str, status: Mapping[str, Any]) -> None:
        """The whole status of Agent `name` (camelCase keys, as in the CRD)."""

    async def run_status(self, name: str, status: Mapping[str, Any]) -> None:
        """The whole status of AgentRun `name`."""

    async def create_run(self, manifest: Mapping[str, Any]) -> None:
        """Create an AgentRun (a schedule fired). An AgentRun of that name that exists already
        is left as it is: the name stands for the fire time, so it was made before."""


class StatusBook:
    """The latest status of each object of one kind, merged and handed to `send`."""

    def __init__(
        self, send: Callable[[str, Mapping[str, Any]], Awaitable[None]], clock: Clock = utc_now
    ) -> None:
        self._send = send
        self._clock = clock
        self._statuses: dict[str, Status] = {}

    def get(self, name: str) -> Status | None:
        return self._statuses.get(name)

    def phase(self, name: str) -> str | None:
        status = self._statuses.get(name)
        return None if status is None else status.get("phase")

    def names(self) -> list[str]:
        return list(self._statuses)

    def forget(self, name: str) -> None:
        self._statuses.pop(name, None)

    async def publish(
        self, obj: Resource, conditions: Sequence[DesiredCondition], **fields: Any
    ) -> Status:
        """Merge `fields` and `conditions` into `obj`'s status (the one sent last, else the
        one `obj` carries) and send it if it changed; the status now."""
        current = self._statuses.get(obj.name)
        if current is None:
            status = getattr(obj, "status", None)
            current = (
                status.model_dump(by_alias=True, mode="json", exclude_none=True) if status else {}
            )
        generation = obj.metadata.generation
        desired = desired_status(current, conditions, generation, self._clock(), fields)
        merged = {k: v for k, v in {**current, **desired}.items() if v is not None}
        self._statuses[obj.name] = merged
        if merged != current:
            await self._send(obj.name, merged)
        return merged
