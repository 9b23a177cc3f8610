"""The AgentRun status of a run that has ended: from a task runtime's result JSON, or from a
failure the platform itself decides (timeout, rejection, a missing Agent).

Pure, so the operator (Job-based runs) and the embedded platform (local processes) write the
very same fields and conditions for the same outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentops_services.api.model import format_time
from agentops_services.api.runtime_api import TaskResult
from agentops_services.operator.builders.conditions import READY, DesiredCondition, condition

COMPLETE = "Complete"
MAX_OUTPUT = 32 * 1024
"""status.output is cut here: the full text is in the trace and the runtime's log."""
NO_OUTPUT = "(no output captured)"

RunEnd = tuple[dict[str, Any], list[DesiredCondition]]
"""Status fields (camelCase) and the conditions to merge."""


def finished_conditions(message: str, succeeded: bool, reason: str) -> list[DesiredCondition]:
    """Complete, and Ready (True only for a run that succeeded)."""
    text = "Run finished" if succeeded else message[:1024]
    return [
        condition(COMPLETE, "True", reason, text),
        condition(READY, "True" if succeeded else "False", reason, text),
    ]


def task_run_end(
    result: TaskResult | None,
    raw: str | None,
    *,
    succeeded: bool,
    failure: str | None,
    now: datetime,
) -> RunEnd:
    """A finished task run: `result` is the runtime's result JSON (or None, with `raw` the
    unreadable text, if any); `succeeded` whether the process ended well; `failure` what the
    platform knows of a bad end (a Job condition, an exit code) for when the result says
    nothing."""
    if succeeded:
        output = (result.output if result else raw) or NO_OUTPUT
        ok = result.success if result else True
    else:
        output = (result.error or result.output if result else raw) or failure or "Run failed"
        ok = False
    fields: dict[str, Any] = {
        "phase": "Succeeded" if ok else "Failed",
        "completionTime": format_time(now),
        "output": output[:MAX_OUTPUT],
    }
    if result is not None:
        fields |= {
            "toolCalls": result.steps,
            "tokensUsed": result.input_tokens + result.output_tokens,
            "model": result.model or None,
            "traceID": result.trace_id,
        }
    reason = "Succeeded" if ok else "Failed"
    return fields, finished_conditions(output, ok, reason)


def run_failed(message: str, reason: str, now: datetime) -> RunEnd:
    """A run the platform ends as Failed for `reason` (Timeout, Rejected, AgentNotFound...)."""
    fields = {"phase": "Failed", "completionTime": format_time(now), "output": message}
    conditions = [
        condition(COMPLETE, "True", reason, message),
        condition(READY, "False", reason, message),
    ]
    return fields, conditions
