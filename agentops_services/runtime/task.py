"""Task mode: one prompt, one run, a result for whoever started it.

The result JSON goes to stdout (whole) and to the termination log, which Kubernetes caps at
4 KiB: there the output is shortened so the message stays valid JSON the operator can parse.
"""

from __future__ import annotations

import logging
from pathlib import Path

from agentops_services.api.runtime_api import TaskResult
from agentops_services.runtime.agent import Agent, TurnRequest
from agentops_services.telemetry import extract_context

LOG = logging.getLogger(__name__)
TERMINATION_LOG_LIMIT = 4096


async def run_task(agent: Agent, prompt: str, traceparent: str | None = None) -> TaskResult:
    parent = extract_context({"traceparent": traceparent}) if traceparent else None
    await agent.start()
    try:
        result = await agent.begin(TurnRequest(prompt, parent=parent)).task
    finally:
        await agent.close()
    return TaskResult(
        output=result.output,
        steps=result.steps,
        model=result.model,
        success=result.success,
        error=result.error,
        trace_id=result.trace_id,
        input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens,
    )


def termination_message(result: TaskResult, limit: int = TERMINATION_LOG_LIMIT) -> str:
    """The result as JSON of at most `limit` bytes, shortening `output` (then `error`)."""
    text = result.model_dump_json(by_alias=True, exclude_none=True)
    for field in ("output", "error"):
        excess = len(text.encode()) - limit
        value = getattr(result, field)
        if excess <= 0 or not value:
            continue
        marker = " [truncated]"
        keep = max(0, len(value.encode()) - excess - len(marker) - 16)
        shortened = value.encode()[:keep].decode(errors="ignore") + marker
        result = result.model_copy(update={field: shortened})
        text = result.model_dump_json(by_alias=True, exclude_none=True)
    return text


def failure(message: str) -> TaskResult:
    return TaskResult(output="", steps=0, model="", success=False, error=message)


def write_result(result: TaskResult, termination_log: Path) -> None:
    print(result.model_dump_json(by_alias=True, exclude_none=True), flush=True)
    try:
        termination_log.write_text(termination_message(result))
    except OSError as exc:
        LOG.warning("cannot write the termination log %s: %s", termination_log, exc)
