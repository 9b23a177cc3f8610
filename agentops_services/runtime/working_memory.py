"""The conversation the agent carries from turn to turn, and its checkpoint on disk.

Working memory is saved after every completed step (not only on a graceful shutdown, as upstream
did), atomically: written to a temporary file, fsynced, renamed over the old one and the
directory fsynced. A kill -9 at any moment leaves either the previous checkpoint or the new one,
never a torn file, and loses at most the step that was running.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from agentops_services.api.conversation import (
    Checkpoint,
    Message,
    ToolCallPart,
    ToolResultPart,
)
from agentops_services.runtime.budget import trim_to_budget

LOG = logging.getLogger(__name__)
CHECKPOINT_FILE = "checkpoint.json"


@dataclass
class WorkingMemory:
    """Messages in order, the turn counter, the memory-service session and tool card metadata."""

    messages: list[Message] = field(default_factory=list)
    turns: int = 0
    session_id: str | None = None
    tool_meta: dict[str, str] = field(default_factory=dict)
    """Tool call id -> metadata JSON string (kept so restored chats render their cards)."""

    def append(self, *messages: Message) -> None:
        self.messages.extend(messages)

    def trim(self, budget: int) -> int:
        """Drop the oldest messages until the rest fit `budget`; returns how many went."""
        kept = trim_to_budget(self.messages, budget)
        dropped = len(self.messages) - len(kept)
        if dropped:
            self.messages = kept
            live = {
                part.tool_call_id
                for message in kept
                for part in message.content
                if isinstance(part, ToolCallPart | ToolResultPart)
            }
            self.tool_meta = {k: v for k, v in self.tool_meta.items() if k in live}
        return dropped

    def wire(self) -> list[dict[str, object]]:
        """`GET /working-memory`: messages with each tool result's card metadata attached."""
        out = []
        for message in self.messages:
            wire = message.to_wire()
            for part in wire["content"]:
                if part.get("type") == "tool-result" and part["tool_call_id"] in self.tool_meta:
                    part["metadata"] = self.tool_meta[part["tool_call_id"]]
            out.append(wire)
        return out

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(
            turn_num=self.turns,
            session_id=self.session_id,
            messages=list(self.messages),
            tool_meta=dict(self.tool_meta) or None,
        )

    @classmethod
    def from_checkpoint(cls, saved: Checkpoint) -> WorkingMemory:
        return cls(
            messages=list(saved.messages),
            turns=saved.turn_num,
            session_id=saved.session_id,
            tool_meta=dict(saved.tool_meta or {}),
        )


@dataclass
class CheckpointFile:
    """`<state-dir>/checkpoint.json`."""

    directory: Path
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def path(self) -> Path:
        return self.directory / CHECKPOINT_FILE

    def load(self) -> Checkpoint | None:
        """The saved conversation; a file that does not parse is set aside, not lost."""
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return Checkpoint.model_validate_json(text)
        except ValidationError as exc:
            aside = self.path.with_suffix(".corrupt")
            os.replace(self.path, aside)
            LOG.warning("checkpoint %s is unreadable (%s); moved to %s", self.path, exc, aside)
            return None

    async def save(self, checkpoint: Checkpoint) -> None:
        """Write atomically; saves never interleave, the newest wins."""
        data = checkpoint.model_dump_json(by_alias=True, exclude_none=True).encode()
        async with self._lock:
            await asyncio.to_thread(self._write, data)

    def _write(self, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".json.tmp")
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
