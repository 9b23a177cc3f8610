"""Go-style durations ("90s", "10m", "1h30m", "1.5h"), as Agent.spec.timeout is written.

The CRD pattern already refuses most bad values; this parser still answers None for anything it
cannot read so a caller picks its own fallback instead of crashing a reconcile.
"""

from __future__ import annotations

import re

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str | None) -> float | None:
    """Seconds in a Go duration string, or None if it is empty or malformed.

    Like Go's time.ParseDuration: an optional sign, then one or more number+unit parts;
    a bare "0" is zero.
    """
    if not text:
        return None
    body = text.strip()
    sign = -1.0 if body.startswith("-") else 1.0
    body = body.lstrip("+-")
    if body == "0":
        return 0.0
    total, position = 0.0, 0
    for match in _PART.finditer(body):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position == 0 or position != len(body):
        return None
    return sign * total
