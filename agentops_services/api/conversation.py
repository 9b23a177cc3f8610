"""A conversation as the runtime keeps it: the messages of `GET /working-memory` and of the
checkpoint file, in upstream's serialized form (parts omit empty fields).

Beyond upstream, reasoning parts keep the provider's signature, so a conversation restored from a
checkpoint can be replayed to Anthropic (whose API rejects thinking without its signature).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

Role = Literal["system", "user", "assistant", "tool"]


class PartModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(PartModel):
    type: Literal["text"] = "text"
    text: str


class ReasoningPart(PartModel):
    type: Literal["reasoning"] = "reasoning"
    text: str = ""
    signature: str | None = None
    """Provider signature of the thinking block (Anthropic), needed to send it back."""


class FilePart(PartModel):
    type: Literal["file"] = "file"
    filename: str = ""
    data: str = ""
    media_type: str = ""


class ToolCallPart(PartModel):
    type: Literal["tool-call"] = "tool-call"
    tool_call_id: str
    tool_name: str
    input: str
    """Arguments as a JSON string."""
    provider_executed: bool = False
    signature: str | None = None
    """Provider signature of the call (Gemini's thoughtSignature), needed to send it back."""


class ToolOutput(PartModel):
    type: Literal["text", "error", "media"] = "text"
    text: str | None = None
    error: str | None = None
    data: str | None = None
    media_type: str | None = None


class ToolResultPart(PartModel):
    type: Literal["tool-result"] = "tool-result"
    tool_call_id: str
    tool_name: str = ""
    output: ToolOutput
    metadata: str | None = None
    """The tool's metadata as a JSON string (what the console renders a card from)."""

    @property
    def text(self) -> str:
        return self.output.text or self.output.error or ""

    @property
    def is_error(self) -> bool:
        return self.output.type == "error"


class UnknownPart(PartModel):
    model_config = ConfigDict(extra="allow")
    type: str


def _part_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _PART_TYPES else "unknown"


_PART_TYPES = {"text", "reasoning", "file", "tool-call", "tool-result"}

Part = Annotated[
    Annotated[TextPart, Tag("text")]
    | Annotated[ReasoningPart, Tag("reasoning")]
    | Annotated[FilePart, Tag("file")]
    | Annotated[ToolCallPart, Tag("tool-call")]
    | Annotated[ToolResultPart, Tag("tool-result")]
    | Annotated[UnknownPart, Tag("unknown")],
    Discriminator(_part_tag),
]


class Message(BaseModel):
    """One message of the conversation."""

    model_config = ConfigDict(extra="ignore")

    role: Role
    content: list[Part] = Field(default_factory=list)
    trace_id: str | None = None
    """On the user message that started a turn: the turn's trace (32 hex digits), so a console
    loading the history can open the trace of any turn, not only the latest. Bookkeeping of
    ours, beyond upstream: providers build their requests from `content` alone and token
    estimates count only the parts, so it never reaches a model nor costs budget."""

    @classmethod
    def user(cls, text: str, *, trace_id: str | None = None) -> Message:
        return cls(role="user", content=[TextPart(text=text)], trace_id=trace_id)

    @property
    def text(self) -> str:
        """The message's text parts, joined."""
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    def tool_calls(self) -> list[ToolCallPart]:
        return [p for p in self.content if isinstance(p, ToolCallPart)]

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)


class Checkpoint(BaseModel):
    """The conversation saved after every completed step (`<state-dir>/checkpoint.json`)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    turn_num: int = Field(0, alias="turnNum")
    session_id: str | None = Field(None, alias="sessionID")
    messages: list[Message] = Field(default_factory=list)
    tool_meta: dict[str, str] | None = Field(None, alias="toolMeta")
