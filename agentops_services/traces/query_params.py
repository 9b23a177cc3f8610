"""The query API's parameters, read as Tempo reads them, refused with one line naming them.

`/api/search` takes `q` (TraceQL) or `tags` (logfmt `key=value` pairs, the search before
TraceQL: each pair must hold on one span, `name` is the span name, `status.code` its status,
`error=true` an error status, and a number matches as text or as a number), plus
`minDuration`/`maxDuration` (Go durations, on the whole trace), `limit` (default 20, at most
1000), `spss` (matched spans per trace, default 3, at most 100) and `start`/`end` (unix
seconds; a trace matches when it overlaps the window).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from agentops_services.operator.builders.durations import parse_duration
from agentops_services.traces.search import SearchRequest
from agentops_services.traces.traceql import (
    STATUS_CODES,
    Attribute,
    Comparison,
    Condition,
    Intrinsic,
    Logical,
    Query,
    SpansetFilter,
    Value,
    parse,
)

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
DEFAULT_SPANS_PER_SET = 3
MAX_SPANS_PER_SET = 100
MAX_SECONDS = 2**33
"""Unix seconds beyond the year 2200 are a mistake, not a time."""
_TRACE_ID = re.compile(r"[0-9a-fA-F]{1,32}")
_LOGFMT = re.compile(r'\s*([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)')


class ParamError(ValueError):
    """A parameter Tempo would refuse too; the message names it."""


def trace_id(text: str) -> bytes:
    """A trace id of up to 32 hex digits, zero-padded on the left as Tempo pads it."""
    if not _TRACE_ID.fullmatch(text):
        raise ParamError(f"invalid trace id {text[:64]!r}: up to 32 hex digits")
    return bytes.fromhex(text.rjust(32, "0"))


def _number(params: Mapping[str, str], name: str, expected: str) -> int | None:
    """An integer parameter, None when absent; ParamError saying what was `expected`."""
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ParamError(f"invalid {name} {text[:40]!r}: {expected}") from None


def integer(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer parameter; absent or 0 means the default, as Tempo reads limits."""
    value = _number(params, name, "not an integer")
    if not value:
        return default
    if not low <= value <= high:
        raise ParamError(f"invalid {name} {value}: must be {low} to {high}")
    return value


def duration_ns(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    seconds = parse_duration(text)
    if seconds is None or seconds < 0:
        raise ParamError(f"invalid {name} {text[:40]!r}: a duration such as 100ms, 2s or 1h")
    return round(seconds * 1e9)


def _seconds(params: Mapping[str, str], name: str) -> int | None:
    value = _number(params, name, "unix seconds expected")
    if value is not None and not 0 <= value <= MAX_SECONDS:
        raise ParamError(f"invalid {name} {value}: unix seconds expected")
    return value


def search_request(params: Mapping[str, str], timeout: float) -> SearchRequest:
    """`/api/search`'s parameters as a search; ParamError, or traceql.QueryError, naming the
    problem."""
    text, tags = params.get("q", ""), params.get("tags", "")
    if text.strip() and tags.strip():
        raise ParamError("invalid tags: give q (TraceQL) or tags, not both")
    query = tags_query(tags) if tags.strip() else parse(text)
    start, end = _seconds(params, "start"), _seconds(params, "end")
    if start is not None and end is not None and start > end:
        raise ParamError(f"invalid start {start}: after end {end}")
    least, most = duration_ns(params, "minDuration"), duration_ns(params, "maxDuration")
    if least is not None and most is not None and most < least:
        raise ParamError("invalid maxDuration: less than minDuration")
    return SearchRequest(
        query=query,
        start_ns=None if start is None else start * 1_000_000_000,
        end_ns=None if end is None else end * 1_000_000_000 + 999_999_999,
        min_duration_ns=least,
        max_duration_ns=most,
        limit=integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        spans_per_set=integer(params, "spss", DEFAULT_SPANS_PER_SET, 1, MAX_SPANS_PER_SET),
        timeout=timeout,
    )


def tags_query(text: str) -> Query:
    """Tempo's tag search (`service.name=api http.status_code=500`) as one spanset filter."""
    pairs, at = [], 0
    while at < len(text.rstrip()):
        match = _LOGFMT.match(text, at)
        if match is None:
            raise ParamError(f"invalid tags at {at + 1}: expected key=value pairs (logfmt)")
        value = match.group(2)
        if value.startswith('"'):
            try:
                value = json.loads(value)
            except ValueError:
                raise ParamError(f"invalid tags: bad quoted value {value[:40]}") from None
        pairs.append((match.group(1), value))
        at = match.end()
    condition: Condition | None = None
    for key, value in pairs:
        term = _tag_condition(key, value)
        condition = term if condition is None else Logical("&&", condition, term)
    return Query(SpansetFilter(condition))


def _tag_condition(key: str, value: str) -> Condition:
    if key == "name":
        return Comparison(Intrinsic("name"), "=", Value("string", value))
    if key in ("status.code", "error"):
        status = "error" if key == "error" and value == "true" else value
        if status not in STATUS_CODES:
            raise ParamError(f"invalid tags: {key}={value}: use error, ok or unset")
        return Comparison(Intrinsic("status"), "=", Value("status", status))
    attribute = Attribute("any", key)
    as_text = Comparison(attribute, "=", Value("string", value))
    try:
        number: int | float = int(value)
    except ValueError:
        try:
            number = float(value)
        except ValueError:
            return as_text
    as_number = Value("int" if isinstance(number, int) else "float", number)
    return Logical("||", as_text, Comparison(attribute, "=", as_number))
