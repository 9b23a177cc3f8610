"""Requests and responses of the agent runtime's HTTP API (port 4096).

Routes and JSON are upstream's (snake_case) where upstream has them, so its console and
operator keep working. New here: `/runs` (the asynchronous AgentRun contract, camelCase like the
AgentRun status it feeds) and the task-mode result, whose keys upstream already wrote in
camelCase. Requests ignore unknown keys (an older or newer client must not be refused for an
extra field); required text must not be blank.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from agentops_services.api.fep import ContextBudgetSnapshot, Usage

MAX_PROMPT_BYTES = 512 * 1024
MAX_CONTEXT_ITEMS = 100


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "is required")
    if len(value.encode(errors="replace")) > MAX_PROMPT_BYTES:
        raise PydanticCustomError(
            "too_long_bytes", "must be at most {limit} bytes", {"limit": MAX_PROMPT_BYTES}
        )
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
"""Required, non-blank text of bounded size."""


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)


ItemType = Literal["file", "commit", "branch", "issue", "merge_request", "other"]


class ResourceContext(RequestModel):
    """An item the user picked from an AgentResource to go with the prompt."""

    resource_name: str
    kind: str = ""
    item_type: ItemType | str = "other"
    path: str | None = None
    ref: str | None = None
    title: str | None = None
    number: int | None = None
    sha: str | None = None
    url: str | None = None
    description: str | None = None


class PromptRequest(RequestModel):
    """Body of `POST /prompt` and `POST /prompt/stream`."""

    prompt: Text
    context: list[ResourceContext] | None = Field(None, max_length=MAX_CONTEXT_ITEMS)
    """Resource items shown to the model with this prompt only (the first 20 are used)."""


class PromptResponse(ResponseModel):
    """Answer of `POST /prompt`: upstream's `output` and `model`, plus what the run cost."""

    output: str
    model: str
    steps: int
    usage: Usage
    trace_id: str | None = None


class SteerRequest(RequestModel):
    """Body of `POST /steer`: guidance for the running turn's next step."""

    message: Text


class PermissionReply(RequestModel):
    """Body of `POST /permission/{id}/reply`."""

    response: Literal["once", "always", "deny"]


class QuestionReply(RequestModel):
    """Body of `POST /question/{id}/reply`: the chosen labels (or free text) per question."""

    answers: list[list[str]] = Field(max_length=32)


class Ok(ResponseModel):
    ok: bool = True


class Health(ResponseModel):
    status: str


AgentState = Literal["idle", "busy", "waiting"]


class StatusResponse(ResponseModel):
    """`GET /status`: upstream's keys, plus the agent's state and event log position."""

    model: str
    """The model last used (a fallback model when the primary failed)."""
    total_steps: int
    busy: bool
    messages: int
    turns: int
    memory_enabled: bool
    context_budget: ContextBudgetSnapshot
    trace_id: str | None = None
    """Trace of the running turn, else of the last finished one."""
    agent: str
    state: AgentState
    """idle, busy (a turn runs) or waiting (a turn waits for a permission or question reply)."""
    last_event_id: int
    """Sequence number of the newest event (resume with GET /events?after=N)."""
    run_name: str | None = None
    """The AgentRun the running turn executes, if any."""
    followers: int = 0
    """Clients following the event stream right now."""


class CamelModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
    )


class RunRequest(CamelModel):
    """Body of `POST /runs`: execute an AgentRun on this daemon, asynchronously."""

    model_config = ConfigDict(extra="ignore")

    run_name: str = Field(min_length=1, max_length=253)
    prompt: Text
    traceparent: str | None = Field(None, max_length=128)
    """W3C traceparent of the caller; the run joins that trace."""


RunPhase = Literal["Running", "Succeeded", "Failed"]


class RunStatus(CamelModel):
    """An AgentRun as this daemon executes it (`POST /runs`, `GET /runs/{name}`); the keys are
    those of the AgentRun status the operator writes."""

    run_name: str
    phase: RunPhase
    output: str = ""
    tool_calls: int = 0
    steps: int = 0
    model: str = ""
    trace_id: str | None = Field(None, alias="traceID")
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    started_at: str
    completed_at: str | None = None


class TaskResult(CamelModel):
    """What a task-mode run writes to stdout and to the termination log."""

    output: str
    steps: int
    model: str
    success: bool
    error: str | None = None
    trace_id: str | None = Field(None, alias="traceID")
    input_tokens: int = 0
    output_tokens: int = 0


class ExtractRequest(RequestModel):
    """Body of `POST /memory/extract`."""

    focus: str | None = Field(None, max_length=2000)
    """What to concentrate on."""
    type: str | None = Field(None, max_length=50)
    """Preferred observation type (used when the model gives none)."""


class ExtractedObservation(ResponseModel):
    """Answer of `POST /memory/extract`: a memory for a person to review; nothing is saved."""

    type: str
    title: str
    content: str
    tags: list[str]
