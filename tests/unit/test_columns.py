"""Table cells from printer columns: the JSONPath subset, kubectl's ages and run durations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentops_tui.backends.columns import age, cell, duration, evaluate

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_jsonpath_subset_reads_keys_indexes_and_matches() -> None:
    obj = {"status": {"conditions": [{"type": "Accepted", "status": "True"},
                                     {"type": "Ready", "status": "False"}]},
           "spec": {"tools": [{"name": "grep"}]}}  # fmt: skip
    assert evaluate(obj, '.status.conditions[?(@.type=="Ready")].status') == "False"
    assert evaluate(obj, ".spec.tools[0].name") == "grep"
    assert evaluate(obj, ".spec.tools[3].name") is None
    with pytest.raises(ValueError, match="unsupported JSONPath"):
        evaluate(obj, ".spec..tools")


@pytest.mark.parametrize(
    ("created", "shown"),
    [("2026-01-01T11:59:15Z", "45s"), ("2026-01-01T11:48:00Z", "12m"),
     ("2026-01-01T09:00:00Z", "3h"), ("2025-12-27T12:00:00Z", "5d"), (None, "")],
)  # fmt: skip
def test_ages_read_like_kubectl(created: str | None, shown: str) -> None:
    assert age(created, NOW) == shown


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        ({"startTime": "2026-01-01T11:59:18Z", "completionTime": "2026-01-01T11:59:58Z"}, "40s"),
        ({"startTime": "2026-01-01T10:00:00Z", "completionTime": "2026-01-01T11:02:30Z"}, "1h02m"),
        ({"startTime": "2026-01-01T11:57:00Z"}, "3m00s"),  # still running: up to now
        ({}, ""),  # not started
    ],
)
def test_run_durations(status: dict[str, str], shown: str) -> None:
    assert duration(status, NOW) == shown
    assert cell({"status": status}, ".status", "duration", NOW) == shown
