"""Table cells from printer columns: the JSONPath subset `additionalPrinterColumns` use
(`.a.b`, `[0]`, `[?(@.key=="value")]`) and kubectl's rendering of ages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_STEP = re.compile(r'\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_]+)=="([^"]*)"\)\]')


def steps(path: str) -> list[tuple[str, Any]]:
    """The path as (kind, argument) steps: ("key", name), ("index", n), ("match", (k, v))."""
    found: list[tuple[str, Any]] = []
    position = 0
    while position < len(path):
        match = _STEP.match(path, position)
        if match is None:
            raise ValueError(f"unsupported JSONPath {path!r} at {position}")
        key, index, field, value = match.groups()
        if key is not None:
            found.append(("key", key))
        elif index is not None:
            found.append(("index", int(index)))
        else:
            found.append(("match", (field, value)))
        position = match.end()
    return found


def evaluate(obj: Any, path: str) -> Any:
    """The value at `path`, or None where the object has nothing there."""
    current = obj
    for kind, argument in steps(path):
        if kind == "key":
            current = current.get(argument) if isinstance(current, dict) else None
        elif kind == "index":
            current = (
                current[argument] if isinstance(current, list) and len(current) > argument else None
            )
        else:
            field, value = argument
            matches = [
                item
                for item in current or []
                if isinstance(item, dict) and str(item.get(field)) == value
            ]
            current = matches[0] if matches else None
        if current is None:
            return None
    return current


def age(timestamp: str | None, now: datetime) -> str:
    """kubectl's short age: 45s, 12m, 3h, 5d, 2y."""
    if not timestamp:
        return ""
    created = _time(timestamp)
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def duration(status: dict[str, Any], now: datetime) -> str:
    """A run's time from start to completion (to now while it runs): 42s, 3m05s, 1h02m."""
    start = status.get("startTime")
    if not start:
        return ""
    end = status.get("completionTime")
    seconds = max(0, int(((_time(end) if end else now) - _time(start)).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def cell(obj: Any, path: str, kind: str, now: datetime | None = None) -> str:
    """What a column shows for `obj`."""
    value = evaluate(obj, path)
    if kind == "date":
        return age(value, now or datetime.now(UTC))
    if kind == "duration":
        return duration(value or {}, now or datetime.now(UTC))
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
