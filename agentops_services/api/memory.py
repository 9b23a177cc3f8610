"""Requests and responses of the memory service's REST API (port 7437).

Paths and JSON are upstream's (snake_case), so the upstream runtime's client works unchanged.
Length limits are counted in UTF-8 bytes as upstream counts them; required text must not be
blank.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError


class MemoryModel(BaseModel):
    """Base of memory API payloads: snake_case, strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def _bytes_at_most(limit: int, required: bool) -> AfterValidator:
    def check(value: str) -> str:
        if required and not value.strip():
            raise PydanticCustomError("blank", "is required")
        if len(value.encode()) > limit:
            raise PydanticCustomError(
                "too_long_bytes", "must be at most {limit} bytes", {"limit": limit}
            )
        return value

    return AfterValidator(check)


SessionId = Annotated[str, _bytes_at_most(200, required=True)]
Project = Annotated[str, _bytes_at_most(200, required=True)]
"""Project names are compared case-insensitively and stored lower-cased."""
ObservationType = Annotated[str, _bytes_at_most(50, required=True)]
Title = Annotated[str, _bytes_at_most(500, required=True)]
Content = Annotated[str, _bytes_at_most(50_000, required=True)]
Tag = Annotated[str, _bytes_at_most(100, required=True)]
Scope = Annotated[str, _bytes_at_most(50, required=False)]
TopicKey = Annotated[str, _bytes_at_most(200, required=False)]


ObservationAction = Literal["created", "updated", "deduplicated"]
Role = Literal["system", "user", "assistant", "tool"]


class SessionCreate(MemoryModel):
    """POST /sessions (idempotent by id)."""

    id: SessionId
    project: Project


class Session(MemoryModel):
    """A conversation whose summary feeds later context."""

    id: str
    project: str
    started_at: str
    ended_at: str | None = None
    summary: str | None = None
    message_count: int = 0


class TranscriptMessage(MemoryModel):
    """One message of the transcript sent when a session ends."""

    role: str
    content: str


class SessionEnd(MemoryModel):
    """POST /sessions/{id}/end."""

    messages: list[TranscriptMessage] | None = Field(None, max_length=10_000)


class SessionEndResult(MemoryModel):
    session_id: str
    summary: str
    message_count: int


class ObservationCreate(MemoryModel):
    """POST /observations: a fact, decision or lesson to remember."""

    session_id: SessionId
    type: ObservationType
    title: Title
    content: Content
    project: Project
    tags: list[Tag] | None = Field(None, max_length=20)
    scope: Scope | None = None
    topic_key: TopicKey | None = None
    """Stable key of an evolving fact: a write with the same key updates it in place."""
    supersedes: int | None = Field(None, ge=1)
    """Id of an observation this one replaces; the old one is retired from context."""


class ObservationWriteResult(MemoryModel):
    """What a write did: created a row, updated one by topic_key, or found a duplicate."""

    id: int
    action: ObservationAction
    revision_count: int
    duplicate_count: int


class Observation(MemoryModel):
    """A stored observation."""

    id: int
    session_id: str
    type: str
    title: str
    content: str
    tags: list[str] | None = None
    project: str
    scope: str = "project"
    topic_key: str | None = None
    normalized_hash: str | None = None
    revision_count: int = 1
    duplicate_count: int = 1
    last_seen_at: str | None = None
    promoted_to: str | None = None
    created_at: str
    updated_at: str
    superseded_by: int | None = None
    """Id of the observation that replaced this one."""


class ObservationPatch(MemoryModel):
    """PATCH /observations/{id}: change some fields."""

    type: ObservationType | None = None
    title: Title | None = None
    content: Content | None = None
    tags: list[Tag] | None = Field(None, max_length=20)


class SearchHit(MemoryModel):
    """GET /search result."""

    id: int
    type: str
    title: str
    content: str
    rank: float
    topic_key: str | None = None


class SessionSummary(MemoryModel):
    summary: str


class ContextObservation(MemoryModel):
    type: str
    title: str
    content: str


class ContextResponse(MemoryModel):
    """GET /context: what is injected into the agent's prompt."""

    recent_sessions: list[SessionSummary] = Field(default_factory=list)
    recent_observations: list[ContextObservation] = Field(default_factory=list)


class TimelineEntry(MemoryModel):
    id: int
    type: str
    title: str
    content: str
    created_at: str


class Stats(MemoryModel):
    total_sessions: int
    total_observations: int
    projects: list[str]


class ExportData(MemoryModel):
    """GET /export and POST /import."""

    exported_at: str
    sessions: list[Session]
    observations: list[Observation]


class ImportResult(MemoryModel):
    imported_sessions: int
    imported_observations: int


class ErrorResponse(MemoryModel):
    """Every 4xx answer: what went wrong and, when one field is at fault, which."""

    error: str
    field: str | None = None
