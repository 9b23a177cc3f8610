"""A daemon Agent's live state, asked of its runtime (`GET /status`) for the detail view.

One agent at a time, while its detail is open: the console never polls every agent (the
list's attention marks come from the Agent objects it already watches).
"""

from __future__ import annotations

from agentops_services.api.runtime_api import StatusResponse

STATE_STYLES = {"idle": "green", "busy": "yellow", "waiting": "bold magenta"}


def status_lines(status: StatusResponse) -> list[tuple[str, str]]:
    """(label, value) rows: what an operator checks first."""
    budget = status.context_budget
    used = budget.actual_input_tokens or budget.prompt_tokens
    window = budget.context_window
    context = f"{used:,} of {window:,} tokens ({used * 100 // window}%)" if window else "unknown"
    rows = [
        ("State", status.state),
        ("Model", status.model),
        ("Turns", f"{status.turns} ({status.messages} messages, {status.total_steps} steps)"),
        ("Context", context),
        ("Memory", "on" if status.memory_enabled else "off"),
        ("Following", str(status.followers)),
    ]
    if status.run_name:
        rows.append(("Run", status.run_name))
    if status.trace_id:
        rows.append(("Trace", status.trace_id))
    return rows
