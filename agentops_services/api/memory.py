"""Requests and responses of the memory service's REST API (port 7437).

Paths and JSON are upstream's (snake_case), so the upstream runtime's client works unchanged.
Length limits are counted in UTF-8 bytes as upstream counts them; required text must not be
blank.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError


def _encodable(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(_encodable(item) for item in value)
    return True


class MemoryModel(BaseModel):
    """Base of memory API payloads: snake_case, strict types, unknown fields refused, text that
    is valid UTF-8 (JSON may carry lone surrogates, which no database can store)."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

    @field_validator("*", mode="after")
    @classmethod
    def _valid_unicode(cls, value: Any, info: ValidationInfo) -> Any:
        if not _encodable(value):
            raise PydanticCustomError("unicode", "must be valid Unicode text (no lone surrogates)")
        return value

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


RecordId = Annotated[int, Field(ge=1, le=2**63 - 1)]
"""A database id (a positive signed 64-bit integer)."""
Count = Annotated[int, Field(ge=0, le=2**63 - 1)]

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
    message_count: Count = 0


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
    supersedes: RecordId | None = None
    """Id of an observation this one replaces; the old one is retired from context."""


class ObservationWriteResult(MemoryModel):
    """What a write did: created a row, updated one by topic_key, or found a duplicate."""

    id: int
    action: ObservationAction
    revision_count: int
    duplicate_count: int


class Observation(MemoryModel):
    """A stored observation."""

    id: RecordId
    session_id: str
    type: str
    title: str
    content: str
    tags: list[str] | None = None
    project: str
    scope: str = "project"
    topic_key: str | None = None
    normalized_hash: str | None = None
    revision_count: Count = 1
    duplicate_count: Count = 1
    last_seen_at: str | None = None
    promoted_to: str | None = None
    created_at: str
    updated_at: str
    supersedes: RecordId | None = None
    """Id of the observation this one replaced."""
    superseded_by: RecordId | None = None
    """Id of the observation that replaced this one (it is no longer injected or searched)."""


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
    """BM25 rank: lower is better (-1000 for a topic_key match)."""
    topic_key: str | None = None
    snippet: str | None = None
    """Best-matching fragment with the matched terms wrapped in <mark>...</mark>."""


class SessionSummary(MemoryModel):
    summary: str


class ContextObservation(MemoryModel):
    type: str
    title: str
    content: str
    """At most 300 characters."""
    id: int | None = None
    method: Literal["topic_key", "fts5_bm25", "recency"] | None = None
    """How it was chosen: exact topic_key, BM25 relevance, or recency."""


class ContextResponse(MemoryModel):
    """GET /context: what is injected into the agent's prompt."""

    recent_sessions: list[SessionSummary] = Field(default_factory=list)
    recent_observations: list[ContextObservation] = Field(default_factory=list)
    tokens: int | None = None
    """Estimated tokens of the whole context (bytes / 4)."""


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
