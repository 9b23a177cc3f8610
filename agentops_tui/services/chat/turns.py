"""The turns of a chat whose trace can be opened (ctrl+t, `/trace N`), newest first.

A turn is known by the user message that started it, which carries the turn's trace id (live
from `agent_start`, hydrated from working memory). A runtime that does not record it in working
memory (upstream's) still has the latest turn's trace from `/status`, offered as the only turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agentops_tui.services.chat.transcript import Transcript


@dataclass(frozen=True, slots=True)
class TracedTurn:
    trace_id: str
    prompt: str
    """The first line of the prompt ("" when the prompt is not known)."""
    timestamp: str | None
    """When the turn started (RFC 3339), known for turns seen live."""
    running: bool
    """The turn is still running: its trace is followed as it grows."""


def traced_turns(transcript: Transcript) -> list[TracedTurn]:
    """The transcript's turns that have a trace, newest first."""
    running = transcript.trace_id if transcript.state != "idle" else None
    turns = [
        TracedTurn(
            message.trace_id,
            message.text.strip().partition("\n")[0],
            message.timestamp,
            message.trace_id == running,
        )
        for message in reversed(transcript.messages.values())
        if message.role == "user" and message.trace_id
    ]
    if not turns and transcript.trace_id:
        turns.append(TracedTurn(transcript.trace_id, "", None, running is not None))
    return turns


def turn_time(turn: TracedTurn) -> str:
    """The turn's start in local time (HH:MM:SS), "" when unknown or unreadable."""
    if turn.timestamp is None:
        return ""
    try:
        started = datetime.fromisoformat(turn.timestamp)
    except ValueError:
        return ""
    return started.astimezone().strftime("%H:%M:%S")
