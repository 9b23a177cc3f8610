"""A scripted model: what the `scripted` provider replays, turn by turn.

For demos (no API key needed) and for users' own agent tests: each model call takes the next turn
(or the first whose `match` fits the latest user message) and streams its reasoning, text and
tool calls. Turns can also fail the way real providers fail (an HTTP error with Retry-After, a
stream that stalls, an unreadable chunk), so an agent's resilience can be tested too.

    turns:
      - reasoning: The user wants the pods.
        text: Let me look.
        toolCalls:
          - {name: bash, input: {command: kubectl get pods}}
      - text: Three pods are running.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from agentops_services.api.model import ApiModel


class ScriptToolCall(ApiModel):
    """A tool call the scripted model makes."""

    name: str = Field(min_length=1)
    """Tool name."""
    input: dict[str, Any] = Field(default_factory=dict)
    """Arguments."""
    id: str | None = None
    """Tool call id; generated when omitted."""


class ScriptError(ApiModel):
    """A failure the scripted model reports instead of answering."""

    status: int = Field(500, ge=400, le=599)
    """HTTP status (429 and 5xx are retryable)."""
    message: str = "scripted failure"
    """Error message."""
    retry_after: float | None = Field(None, ge=0)
    """Seconds the provider asks the client to wait."""


class ScriptUsage(ApiModel):
    """Token usage reported for the turn (estimated from the text when omitted)."""

    input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)


class ScriptTurn(ApiModel):
    """One model call's answer."""

    match: str | None = None
    """Regular expression; the turn answers only a latest user message it matches."""
    reasoning: str | None = None
    """Thinking streamed before the answer."""
    text: str | None = None
    """The answer."""
    tool_calls: list[ScriptToolCall] = Field(default_factory=list)
    """Tool calls, in order (several make a parallel call)."""
    error: ScriptError | None = None
    """Fail this call instead of answering."""
    stall: bool = False
    """Stop sending midway and never finish (the client's idle timeout must fire)."""
    malformed: bool = False
    """Send an unreadable chunk before the answer."""
    chunk_chars: int = Field(12, ge=1)
    """Characters per streamed delta."""
    delay_ms: int = Field(0, ge=0)
    """Pause between deltas (for demos)."""
    usage: ScriptUsage | None = None
    """Reported token usage."""

    @field_validator("match")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value


class Script(ApiModel):
    """The scripted model's turns."""

    turns: list[ScriptTurn] = Field(default_factory=list)
    """Answers, used in order; a turn whose `match` does not fit is passed over."""
    when_exhausted: str = (
        "This is the scripted demo model: it replays a script and has no more to say. "
        "Configure a real provider to talk to a real model."
    )
    """Answer once every turn is used."""

    def pick(self, used: int, latest_user_text: str) -> tuple[ScriptTurn, int]:
        """The turn for this call and how many turns are used after it."""
        for index in range(used, len(self.turns)):
            turn = self.turns[index]
            if turn.match is None or re.search(turn.match, latest_user_text):
                return turn, index + 1
        return ScriptTurn(text=self.when_exhausted), len(self.turns)
