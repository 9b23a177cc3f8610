"""TraceQL for the trace list's filters, and the durations its parameters are written in.

Our runtime names its Agent in the resource attribute `agent.name` (with `agent.namespace` and
`agent.mode`), which the web console queried too, so `{ resource.agent.name =~ ".+" }` is "the
traces agents made" and leaves out the operator's and the memory service's own. A failure is an
error status or `error.type` (the runtime's failed tool calls set only the latter), and the
duration filter is on the whole trace (`traceDuration`), not on any one span.
"""

from __future__ import annotations

import re
from datetime import timedelta

AGENT = "resource.agent.name"
SELECT = f"select({AGENT}, resource.agent.mode)"
"""Brings the agent's name into each result's matched spans, for the list's Agent column."""
_UNITS_NS = (("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000),
             ("ms", 1_000_000), ("us", 1_000), ("ns", 1))  # fmt: skip
_PARSE_NS = {"d": 86_400_000_000_000, "µs": 1_000, **dict(_UNITS_NS)}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")


def quote(value: str) -> str:
    """A TraceQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def duration_literal(delta: timedelta) -> str:
    """A TraceQL (Go) duration in the largest unit that is exact: 1s, 250ms, 90s -> 90s."""
    ns = round(delta.total_seconds() * 1e9)
    if ns <= 0:
        return "0s"
    unit, size = next((u, size) for u, size in _UNITS_NS if ns % size == 0)
    return f"{ns // size}{unit}"


def parse_duration(text: str) -> timedelta:
    """`1h30m`, `90s`, `1.5s`, `250ms`, `2d` as a timedelta; ValueError saying what is accepted."""
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a duration: {text!r} (e.g. 500ms, 30s, 15m, 1h30m, 2d)")
    return timedelta(microseconds=sum(float(n) * _PARSE_NS[u] for n, u in parts) / 1_000)


def build_query(
    *, agent: str | None = None, errors_only: bool = False, min_duration: timedelta | None = None
) -> str:
    """One spanset filter from the list's filters: a trace matches when one span of it does."""
    conditions = [f"{AGENT} = {quote(agent)}" if agent else f'{AGENT} =~ ".+"']
    if errors_only:
        conditions.append('(status = error || span.error.type =~ ".+")')
    if min_duration is not None:
        conditions.append(f"traceDuration >= {duration_literal(min_duration)}")
    return "{ " + " && ".join(conditions) + " } | " + SELECT
