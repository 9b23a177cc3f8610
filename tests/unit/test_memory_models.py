"""Memory API payloads: upstream's JSON and limits (in bytes), blank text refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agentops_services.api.memory import (
    ContextResponse,
    ObservationCreate,
    ObservationWriteResult,
    SessionCreate,
)


def observation(**overrides: object) -> dict[str, object]:
    return {
        "session_id": "s1",
        "type": "decision",
        "title": "Use WAL",
        "content": "Because readers.",
        "project": "infra",
    } | overrides


def test_valid_observation_round_trips() -> None:
    data = observation(tags=["sqlite", "wal"], topic_key="db/journal")
    assert ObservationCreate.model_validate(data).to_wire() == data


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 501}, "title"),
        ({"title": "é" * 251}, "title"),  # 502 bytes
        ({"tags": ["t"] * 21}, "tags"),
        ({"tags": ["x" * 101]}, "tags"),
        ({"content": "x" * 50_001}, "content"),
        ({"type": 5}, "type"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_limits_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ObservationCreate.model_validate(observation(**overrides))
    assert info.value.errors()[0]["loc"][0] == field


def test_missing_required_fields_are_all_reported() -> None:
    with pytest.raises(ValidationError) as info:
        ObservationCreate.model_validate({})
    assert {e["loc"][0] for e in info.value.errors()} == {
        "session_id",
        "type",
        "title",
        "content",
        "project",
    }


def test_session_and_results_match_upstream_json() -> None:
    assert SessionCreate.model_validate_json('{"id":"s1","project":"Infra"}').project == "Infra"
    result = ObservationWriteResult.model_validate_json(
        '{"id":3,"action":"deduplicated","revision_count":1,"duplicate_count":2}'
    )
    assert result.action == "deduplicated"
    empty = ContextResponse()
    assert empty.to_wire() == {"recent_sessions": [], "recent_observations": []}
