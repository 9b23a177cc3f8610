"""A daemon writes the status of the AgentRuns it executes (`POST /runs`) to the AgentRun
objects itself, so the operator never polls the runtime: it learns of the end from its watch.

Only the end of a run is written (the operator writes `Running` when it hands the run over),
and never over an end the operator already recorded (a timeout or a replacement aborts the turn,
and "aborted" would hide why).
Writes go through the runtime's StatusWriter; a run whose status cannot be written is still
visible at `GET /runs/{name}`, and the operator's deadline ends it at the latest.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from agentops_services.api.model import format_time
from agentops_services.api.runtime_api import RunStatus
from agentops_services.kube.resources import AGENT_RUN
from agentops_services.kube.rest import Kube
from agentops_services.runtime.status_writer import FIELD_MANAGER, StatusWriter

MAX_OUTPUT = 32 * 1024


def status_patch(status: RunStatus) -> dict[str, Any]:
    """The AgentRun status a finished run becomes (same fields the operator writes for task
    runs)."""
    ok = status.phase == "Succeeded"
    output = status.output if ok or status.output else (status.error or "Run failed")
    started = _time(status.started_at)
    completed = _time(status.completed_at or status.started_at)
    message = "Run finished" if ok else output[:1024]
    return {
        "phase": status.phase,
        # also what the operator writes when it hands the run over: a fast run can end before
        # that write, which then does not happen (it would set the run back to Running)
        "mode": "daemon",
        "startTime": format_time(started),
        "completionTime": format_time(completed),
        "output": output[:MAX_OUTPUT],
        "toolCalls": status.tool_calls,
        "tokensUsed": status.input_tokens + status.output_tokens,
        "model": status.model or None,
        "traceID": status.trace_id,
        "conditions": [
            {
                "type": type_,
                "status": status_,
                "reason": "Succeeded" if ok else "Failed",
                "message": message,
                "lastTransitionTime": format_time(completed),
            }
            for type_, status_ in (
                ("Accepted", "True"),
                ("Complete", "True"),
                ("Ready", "True" if ok else "False"),
            )
        ],
    }


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class RunStatusPublisher:
    """Listens to the RunBook; hands finished runs to the writer for their AgentRun in
    `namespace`."""

    def __init__(self, writer: StatusWriter, namespace: str) -> None:
        self.writer = writer
        self.namespace = namespace

    def __call__(self, status: RunStatus) -> None:
        if status.phase == "Running":
            return
        self.writer.put(AGENT_RUN, status.run_name, partial(self._write, status))

    async def _write(self, status: RunStatus, kube: Kube) -> None:
        name = status.run_name
        current = await kube.get(AGENT_RUN, self.namespace, name)
        phase = ((current or {}).get("status") or {}).get("phase")
        if current is None or phase in ("Succeeded", "Failed"):
            return  # deleted, or ended by the operator (timeout, replaced): keep that
        await kube.patch(
            AGENT_RUN,
            self.namespace,
            name,
            {"status": status_patch(status)},
            subresource="status",
            field_manager=FIELD_MANAGER,
        )
