"""The Agent's status.pendingInput: whether the daemon waits for a person, written by the runtime
so every console marks the agent from the Agent watch it already holds (upstream, each client
polled each daemon's GET /status every 5 s).

The oldest waiting request is shown (its kind, when it was made, its id and a summary with no
tool arguments); the field is removed once nothing waits: answered, timed out or aborted.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from agentops_services.api.v1alpha1.agent import PendingInput
from agentops_services.kube.resources import AGENT
from agentops_services.kube.rest import Kube
from agentops_services.runtime.status_writer import FIELD_MANAGER, StatusWriter


def pending_input_patch(pending: PendingInput | None) -> dict[str, Any]:
    """The merge patch of the Agent's status subresource (null removes the field)."""
    return {"status": {"pendingInput": None if pending is None else pending.to_wire()}}


class PendingInputPublisher:
    """Listens to the Gates; hands the oldest waiting request to the writer for the Agent
    `name` in `namespace`."""

    def __init__(self, writer: StatusWriter, namespace: str, name: str) -> None:
        self.writer = writer
        self.namespace = namespace
        self.name = name

    def __call__(self, pending: PendingInput | None) -> None:
        self.writer.put(AGENT, self.name, partial(self._write, pending_input_patch(pending)))

    async def _write(self, patch: dict[str, Any], kube: Kube) -> None:
        await kube.patch(
            AGENT,
            self.namespace,
            self.name,
            patch,
            subresource="status",
            field_manager=FIELD_MANAGER,
        )
