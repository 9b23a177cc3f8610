"""The Fantasy Event Protocol: the runtime's event stream, as JSON objects over SSE.

Wire names and fields are upstream's, so a client written for the upstream runtime keeps
working: snake_case everywhere except the delegation events (camelCase), `tool_result.metadata`
a JSON-encoded *string*, `warnings` a list of strings. Events are lenient on input (unknown
fields are kept, unknown types parse as `UnknownEvent`) because clients must ignore what they do
not understand; they are exact on output.

Beyond upstream: `permission_replied`, `question_replied` and `session_status` (declared by the
upstream console, never emitted there) are emitted, and `events_gap` tells a resuming client
that events it asked for were evicted from the runtime's ring.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter
from pydantic.alias_generators import to_camel


def fep_timestamp() -> str:
    """RFC 3339 UTC with milliseconds (upstream sends seconds; both parse as RFC 3339)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FepModel(BaseModel):
    """Base of FEP payloads: snake_case wire names, unknown fields kept."""

    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_json(self) -> str:
        """Compact JSON, one SSE `data:` line."""
        return self.model_dump_json(by_alias=True, exclude_none=True)


class Usage(FepModel):
    """Token usage of a step or a whole run."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cache_creation_tokens=self.cache_creation_tokens + other.cache_creation_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
        )


class ContextBudgetSnapshot(FepModel):
    """How the context window is spent, as estimated before the call and measured after."""

    context_window: int = 0
    budget_tokens: int = 0
    system_prompt_tokens: int = 0
    tool_tokens: int = 0
    memory_context_tokens: int = 0
    conversation_tokens: int = 0
    prompt_tokens: int = 0
    actual_input_tokens: int = 0
    actual_output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


FINISH_REASONS = ("stop", "length", "content-filter", "tool-calls", "error", "other", "unknown")
"""Values of `finish_reason` (kept a plain string on input so a new value never breaks a client)."""


class FepEventBase(FepModel):
    """Fields of every event."""

    type: str
    timestamp: str = Field(default_factory=fep_timestamp)


class AgentStart(FepEventBase):
    """A run began (after memory lookup and trimming, before the first model call)."""

    type: Literal["agent_start"] = "agent_start"
    session_id: str
    prompt: str | None = None
    """The user prompt; absent for internal runs (delegation callbacks)."""
    trace_id: str | None = None
    context_budget: ContextBudgetSnapshot | None = None
    internal: bool | None = None
    source: str | None = None
    """For internal runs: what started them, e.g. delegation_callback."""
    run_name: str | None = None
    """The AgentRun this turn executes, when it was started through POST /runs."""


class AgentFinish(FepEventBase):
    """A run ended successfully."""

    type: Literal["agent_finish"] = "agent_finish"
    session_id: str
    total_usage: Usage = Field(default_factory=Usage)
    step_count: int
    """Number of steps the run took (upstream reported one less)."""
    model: str


class AgentError(FepEventBase):
    """A run failed (emitted exactly once per failure)."""

    type: Literal["agent_error"] = "agent_error"
    session_id: str
    error: str
    retryable: bool = False


class StepStart(FepEventBase):
    """A model call of the loop is about to start; step_number is 0-based."""

    type: Literal["step_start"] = "step_start"
    step_number: int
    session_id: str


class StepFinish(FepEventBase):
    """A step ended after its tools ran."""

    type: Literal["step_finish"] = "step_finish"
    step_number: int
    session_id: str
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str
    tool_call_count: int = 0
    context_budget: ContextBudgetSnapshot | None = None


class TextStart(FepEventBase):
    type: Literal["text_start"] = "text_start"
    id: str


class TextDelta(FepEventBase):
    type: Literal["text_delta"] = "text_delta"
    id: str
    delta: str


class TextEnd(FepEventBase):
    type: Literal["text_end"] = "text_end"
    id: str


class ReasoningStart(FepEventBase):
    type: Literal["reasoning_start"] = "reasoning_start"
    id: str


class ReasoningDelta(FepEventBase):
    type: Literal["reasoning_delta"] = "reasoning_delta"
    id: str
    delta: str


class ReasoningEnd(FepEventBase):
    type: Literal["reasoning_end"] = "reasoning_end"
    id: str


class ToolInputStart(FepEventBase):
    """The model began streaming a tool call's arguments; id is the tool call id."""

    type: Literal["tool_input_start"] = "tool_input_start"
    id: str
    tool_name: str


class ToolInputDelta(FepEventBase):
    """A raw fragment of the tool call's JSON arguments."""

    type: Literal["tool_input_delta"] = "tool_input_delta"
    id: str
    delta: str


class ToolInputEnd(FepEventBase):
    type: Literal["tool_input_end"] = "tool_input_end"
    id: str


class ToolCall(FepEventBase):
    """A tool call is complete and validated; it runs next."""

    type: Literal["tool_call"] = "tool_call"
    id: str
    tool_name: str
    input: str
    """The complete arguments as a JSON string."""
    provider_executed: bool = False


class ToolResult(FepEventBase):
    """A tool finished."""

    type: Literal["tool_result"] = "tool_result"
    id: str
    tool_name: str
    output: str
    is_error: bool = False
    metadata: str | None = None
    """JSON-encoded string (upstream contract), e.g. {"ui": "terminal", "duration": 12}."""
    media_type: str | None = None
    data: str | None = None
    """Base64 media content."""

    def ui_metadata(self) -> dict[str, Any]:
        """`metadata` decoded; empty when absent or malformed."""
        if not self.metadata:
            return {}
        try:
            decoded = json.loads(self.metadata)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}


class Source(FepEventBase):
    """A citation returned by the provider."""

    type: Literal["source"] = "source"
    id: str
    source_type: str
    """url or document."""
    url: str = ""
    title: str = ""


class Warnings(FepEventBase):
    """Warnings from a provider call, or from the runtime (e.g. memory unreachable)."""

    type: Literal["warnings"] = "warnings"
    warnings: list[str]


class StreamFinish(FepEventBase):
    """The provider finished streaming this step (before its tools run)."""

    type: Literal["stream_finish"] = "stream_finish"
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str


class PermissionAsked(FepEventBase):
    """A permission-gated tool waits for a reply on POST /permission/{id}/reply."""

    type: Literal["permission_asked"] = "permission_asked"
    id: str
    session_id: str
    tool_name: str
    input: str
    description: str


class PermissionReplied(FepEventBase):
    """A permission request was answered (by any console) or timed out."""

    type: Literal["permission_replied"] = "permission_replied"
    id: str
    session_id: str
    response: str
    """once, always or deny."""


class QuestionOption(FepModel):
    label: str
    description: str = ""


class Question(FepModel):
    header: str = ""
    question: str
    options: list[QuestionOption] | None = None
    multiple: bool | None = None


class QuestionAsked(FepEventBase):
    """The agent asks the person questions; answers go to POST /question/{id}/reply."""

    type: Literal["question_asked"] = "question_asked"
    id: str
    session_id: str
    questions: list[Question]


class QuestionReplied(FepEventBase):
    """A question was answered (by any console) or timed out."""

    type: Literal["question_replied"] = "question_replied"
    id: str
    session_id: str
    answers: list[list[str]] | None = None
    """The chosen labels per question; absent when it timed out."""


class SessionStatus(FepEventBase):
    """The conversation's state changed."""

    type: Literal["session_status"] = "session_status"
    session_id: str
    status: Literal["idle", "busy", "waiting"]


class SessionIdle(FepEventBase):
    """Always the last event of a run."""

    type: Literal["session_idle"] = "session_idle"
    session_id: str


class EventsGap(FepEventBase):
    """Events after `after` up to `first_available - 1` were evicted; the stream resumes there."""

    type: Literal["events_gap"] = "events_gap"
    after: int
    first_available: int


_CAMEL_CASE = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)


class DelegationModel(FepEventBase):
    """Delegation events use camelCase keys upstream."""

    model_config = _CAMEL_CASE


class DelegationSingle(DelegationModel):
    type: Literal["delegation.single"] = "delegation.single"
    group_id: str
    run_name: str
    timeout: str
    parent_agent: str


class DelegationFanOut(DelegationModel):
    type: Literal["delegation.fan_out"] = "delegation.fan_out"
    group_id: str
    count: int
    timeout: str
    run_names: list[str]
    parent_agent: str


class DelegationRunCompleted(DelegationModel):
    type: Literal["delegation.run_completed"] = "delegation.run_completed"
    group_id: str
    run_name: str
    child_agent: str
    phase: str
    duration: str
    remaining: int
    parent_agent: str


class DelegationAllCompleted(DelegationModel):
    type: Literal["delegation.all_completed"] = "delegation.all_completed"
    group_id: str
    single: bool
    succeeded: int
    failed: int
    total_duration: str
    parent_agent: str


class DelegationTimeout(DelegationModel):
    type: Literal["delegation.timeout"] = "delegation.timeout"
    group_id: str
    completed: int
    timed_out: int
    parent_agent: str


class DelegatedRun(FepModel):
    """Result of one child run; only `phase` is present (TimedOut) when it did not finish."""

    model_config = _CAMEL_CASE

    phase: str
    agent_name: str | None = None
    output: str | None = None
    tool_calls: int | None = None
    model: str | None = None
    trace_id: str | None = Field(None, alias="traceID")
    duration: str | None = None
    outcome: dict[str, Any] | None = None
    failure_reason: str | None = None


class DelegationResult(DelegationModel):
    type: Literal["delegation.result"] = "delegation.result"
    group_id: str
    single: bool
    timed_out: bool
    total_duration: str
    succeeded: int
    failed: int
    runs: dict[str, DelegatedRun]
    parent_agent: str


class UnknownEvent(FepEventBase):
    """An event type this client does not know; kept whole so it can be shown or forwarded."""


KNOWN_EVENTS: tuple[type[FepEventBase], ...] = (
    AgentStart,
    AgentFinish,
    AgentError,
    StepStart,
    StepFinish,
    TextStart,
    TextDelta,
    TextEnd,
    ReasoningStart,
    ReasoningDelta,
    ReasoningEnd,
    ToolInputStart,
    ToolInputDelta,
    ToolInputEnd,
    ToolCall,
    ToolResult,
    Source,
    Warnings,
    StreamFinish,
    PermissionAsked,
    PermissionReplied,
    QuestionAsked,
    QuestionReplied,
    SessionStatus,
    SessionIdle,
    EventsGap,
    DelegationSingle,
    DelegationFanOut,
    DelegationRunCompleted,
    DelegationAllCompleted,
    DelegationTimeout,
    DelegationResult,
)
EVENT_TYPES: dict[str, type[FepEventBase]] = {
    cls.model_fields["type"].default: cls for cls in KNOWN_EVENTS
}


def _event_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in EVENT_TYPES else "unknown"


FepEvent = Annotated[
    Annotated[AgentStart, Tag("agent_start")]
    | Annotated[AgentFinish, Tag("agent_finish")]
    | Annotated[AgentError, Tag("agent_error")]
    | Annotated[StepStart, Tag("step_start")]
    | Annotated[StepFinish, Tag("step_finish")]
    | Annotated[TextStart, Tag("text_start")]
    | Annotated[TextDelta, Tag("text_delta")]
    | Annotated[TextEnd, Tag("text_end")]
    | Annotated[ReasoningStart, Tag("reasoning_start")]
    | Annotated[ReasoningDelta, Tag("reasoning_delta")]
    | Annotated[ReasoningEnd, Tag("reasoning_end")]
    | Annotated[ToolInputStart, Tag("tool_input_start")]
    | Annotated[ToolInputDelta, Tag("tool_input_delta")]
    | Annotated[ToolInputEnd, Tag("tool_input_end")]
    | Annotated[ToolCall, Tag("tool_call")]
    | Annotated[ToolResult, Tag("tool_result")]
    | Annotated[Source, Tag("source")]
    | Annotated[Warnings, Tag("warnings")]
    | Annotated[StreamFinish, Tag("stream_finish")]
    | Annotated[PermissionAsked, Tag("permission_asked")]
    | Annotated[PermissionReplied, Tag("permission_replied")]
    | Annotated[QuestionAsked, Tag("question_asked")]
    | Annotated[QuestionReplied, Tag("question_replied")]
    | Annotated[SessionStatus, Tag("session_status")]
    | Annotated[SessionIdle, Tag("session_idle")]
    | Annotated[EventsGap, Tag("events_gap")]
    | Annotated[DelegationSingle, Tag("delegation.single")]
    | Annotated[DelegationFanOut, Tag("delegation.fan_out")]
    | Annotated[DelegationRunCompleted, Tag("delegation.run_completed")]
    | Annotated[DelegationAllCompleted, Tag("delegation.all_completed")]
    | Annotated[DelegationTimeout, Tag("delegation.timeout")]
    | Annotated[DelegationResult, Tag("delegation.result")]
    | Annotated[UnknownEvent, Tag("unknown")],
    Discriminator(_event_tag),
]
"""Any FEP event; validate with `parse_event`."""

_ADAPTER: TypeAdapter[FepEvent] = TypeAdapter(FepEvent)


def parse_event(data: str | bytes | dict[str, Any]) -> FepEvent:
    """One event from its JSON text or decoded object (raises pydantic.ValidationError)."""
    if isinstance(data, dict):
        return _ADAPTER.validate_python(data)
    return _ADAPTER.validate_json(data)
