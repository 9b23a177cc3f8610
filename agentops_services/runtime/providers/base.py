"""What the loop asks of a provider, and what a provider's stream is made of.

Every provider turns its wire format into the same `ModelEvent`s, which map one to one onto FEP
events (text, reasoning and tool-input blocks, complete tool calls, citations, the step's finish),
so the loop and everything after it never see a vendor's format.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentops_services.api.conversation import Message
from agentops_services.api.fep import Usage
from agentops_services.api.v1alpha1.provider import ProviderCallDefaults


@dataclass(frozen=True)
class SystemPart:
    """A part of the system prompt; `cache` marks an Anthropic cache breakpoint after it."""

    text: str
    cache: bool = False


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model sees it."""

    name: str
    description: str
    parameters: dict[str, Any]
    """JSON Schema of the arguments (an object)."""


@dataclass
class ModelRequest:
    """One model call of the loop."""

    model: str
    """Model id as the provider names it (the part after `provider/`)."""
    system: list[SystemPart]
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    temperature: float | None = None
    max_output_tokens: int | None = None
    call_defaults: ProviderCallDefaults | None = None
    cache_prompt: bool = False
    """Mark prompt-cache breakpoints (tools, system prompt, conversation history)."""


@dataclass(frozen=True)
class TextStart:
    id: str


@dataclass(frozen=True)
class TextDelta:
    id: str
    delta: str


@dataclass(frozen=True)
class TextEnd:
    id: str


@dataclass(frozen=True)
class ReasoningStart:
    id: str


@dataclass(frozen=True)
class ReasoningDelta:
    id: str
    delta: str


@dataclass(frozen=True)
class ReasoningEnd:
    id: str
    signature: str | None = None


@dataclass(frozen=True)
class ToolInputStart:
    id: str
    name: str


@dataclass(frozen=True)
class ToolInputDelta:
    id: str
    delta: str


@dataclass(frozen=True)
class ToolInputEnd:
    id: str


@dataclass(frozen=True)
class ToolCallReady:
    """A complete tool call: its arguments as a JSON string."""

    id: str
    name: str
    input: str
    signature: str | None = None


@dataclass(frozen=True)
class Citation:
    id: str
    source_type: str
    url: str = ""
    title: str = ""


@dataclass(frozen=True)
class ProviderWarning:
    text: str


@dataclass(frozen=True)
class StepFinish:
    """The provider finished streaming this step."""

    usage: Usage
    finish_reason: str
    """stop, length, content-filter, tool-calls, error, other or unknown."""
    response_id: str | None = None
    model: str | None = None


ModelEvent = (
    TextStart
    | TextDelta
    | TextEnd
    | ReasoningStart
    | ReasoningDelta
    | ReasoningEnd
    | ToolInputStart
    | ToolInputDelta
    | ToolInputEnd
    | ToolCallReady
    | Citation
    | ProviderWarning
    | StepFinish
)


class ProviderError(Exception):
    """A failed model call; `retryable` errors (429, 5xx, overloaded, stalled) are retried."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        """Seconds the provider asked us to wait (Retry-After / retry-after-ms)."""


class Provider(Protocol):
    """A configured LLM backend."""

    name: str
    type: str

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """The model's answer as it streams; raises ProviderError."""
        ...


GENAI_PROVIDER_NAMES = {
    "anthropic": "anthropic",
    "openai": "openai",
    "openaicompat": "openai",
    "azure": "azure.ai.openai",
    "openrouter": "openrouter",
    "google": "gcp.gemini",
    "bedrock": "aws.bedrock",
    "scripted": "scripted",
}


def genai_provider_name(provider_type: str) -> str:
    """`gen_ai.provider.name` of a provider type (OpenTelemetry GenAI conventions)."""
    return GENAI_PROVIDER_NAMES.get(provider_type, provider_type or "unknown")
