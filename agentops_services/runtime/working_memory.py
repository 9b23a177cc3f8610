"""The conversation the agent carries from turn to turn, and its checkpoint on disk.

Working memory is saved after every completed step (not only on a graceful shutdown, as upstream
did), atomically: written to a temporary file, fsynced, renamed over the old one and the
directory fsynced. A kill -9 at any moment leaves either the previous checkpoint or the new one,
never a torn file, and loses at most the step that was running.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentops_services.api.conversation import (
    Checkpoint,
    Message,
    ToolCallPart,
    ToolResultPart,
)
from agentops_services.runtime.budget import estimate_message, trim_start

LOG = logging.getLogger(__name__)
CHECKPOINT_FILE = "checkpoint.json"


class WorkingMemory:
    """Messages in order, the turn counter, the memory-service session and tool card metadata.

    Each message's token estimate and JSON are computed once, when it is added: a long
    conversation is then budgeted, trimmed and checkpointed without serialising it all again
    at every step.
    """

    def __init__(
        self,
        messages: list[Message] | None = None,
        turns: int = 0,
        session_id: str | None = None,
        tool_meta: dict[str, str] | None = None,
    ) -> None:
        self.messages: list[Message] = []
        self._sizes: list[int] = []
        self._json: list[bytes] = []
        self.turns = turns
        self.session_id = session_id
        self.tool_meta: dict[str, str] = dict(tool_meta or {})
        """Tool call id -> metadata JSON string (kept so restored chats render their cards)."""
        self.append(*(messages or ()))

    @property
    def tokens(self) -> int:
        """Estimated tokens of the whole conversation."""
        return sum(self._sizes)

    def append(self, *messages: Message) -> None:
        for message in messages:
            for part in message.content:
                if isinstance(part, ToolResultPart):
                    if part.metadata:
                        self.tool_meta[part.tool_call_id] = part.metadata
                    elif part.tool_call_id in self.tool_meta:  # an upstream checkpoint
                        part.metadata = self.tool_meta[part.tool_call_id]
            self.messages.append(message)
            self._sizes.append(estimate_message(message))
            self._json.append(message.model_dump_json(exclude_none=True).encode())

    def trim(self, budget: int) -> int:
        """Drop the oldest messages until the rest fit `budget`; returns how many went."""
        dropped = trim_start(self.messages, self._sizes, budget)
        if dropped:
            del self.messages[:dropped], self._sizes[:dropped], self._json[:dropped]
            live = {
                part.tool_call_id
                for message in self.messages
                for part in message.content
                if isinstance(part, ToolCallPart | ToolResultPart)
            }
            self.tool_meta = {k: v for k, v in self.tool_meta.items() if k in live}
        return dropped

    def wire_json(self) -> bytes:
        """`GET /working-memory`: the messages as a JSON array."""
        return b"[" + b",".join(self._json) + b"]"

    def checkpoint_json(self) -> bytes:
        """The checkpoint file's content (upstream's keys)."""
        head: dict[str, Any] = {"turnNum": self.turns}
        if self.session_id:
            head["sessionID"] = self.session_id
        if self.tool_meta:
            head["toolMeta"] = self.tool_meta
        rest = json.dumps(head, separators=(",", ":")).encode()
        return b'{"messages":' + self.wire_json() + b"," + rest[1:]

    @classmethod
    def from_checkpoint(cls, saved: Checkpoint) -> WorkingMemory:
        return cls(saved.messages, saved.turn_num, saved.session_id, saved.tool_meta)


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

    async def save(self, memory: WorkingMemory) -> None:
        """Write atomically; saves never interleave, the newest wins."""
        data = memory.checkpoint_json()
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
