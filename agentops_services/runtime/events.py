"""The agent's event log: every FEP event, numbered, kept in a bounded ring, followed by any number
of clients.

Each event is serialised once, as the SSE frame `id: <seq>\\ndata: <json>\\n\\n`, and every
follower reads the same frames from the ring: a client attaches or resumes at any sequence number
(`GET /events?after=N`, `Last-Event-ID`), many clients cost one serialisation, and a follower
that wakes up late sends everything it missed in one write. A follower asking for events that
have left the ring first gets an explicit `events_gap`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from itertools import islice
from typing import NamedTuple

from agentops_services.api.fep import EventsGap, FepEventBase

RING_CAPACITY = 10_000
HEARTBEAT_SECONDS = 15.0
HEARTBEAT = b": heartbeat\n\n"


class Frame(NamedTuple):
    type: str
    data: bytes
    """The whole SSE frame, `id:` line included."""


class EventLog:
    """Numbered FEP events, the newest `capacity` of them."""

    def __init__(self, capacity: int = RING_CAPACITY) -> None:
        self._frames: deque[Frame] = deque(maxlen=capacity)
        self._next = 1
        self._wakeup = asyncio.Event()
        self._listeners: list[Callable[[FepEventBase], None]] = []
        self._closed = False
        self.followers = 0
        """Clients following the log right now."""

    @property
    def last_seq(self) -> int:
        """Sequence number of the newest event (0 before the first)."""
        return self._next - 1

    @property
    def first_seq(self) -> int:
        """Sequence number of the oldest event still in the ring."""
        return self._next - len(self._frames)

    def listen(self, listener: Callable[[FepEventBase], None]) -> None:
        """Call `listener` with every event appended from now on (in the appending task)."""
        self._listeners.append(listener)

    def append(self, event: FepEventBase) -> int:
        seq = self._next
        self._next += 1
        self._frames.append(
            Frame(event.type, b"id: %d\ndata: %s\n\n" % (seq, event.to_json().encode()))
        )
        self._wakeup.set()
        self._wakeup = asyncio.Event()
        for listener in self._listeners:
            listener(event)
        return seq

    def close(self) -> None:
        """End every follower once it has sent what is in the ring (the process stops)."""
        self._closed = True
        self._wakeup.set()

    def since(self, after: int) -> list[Frame]:
        """The frames still in the ring after sequence number `after`."""
        start = max(0, after + 1 - self.first_seq)
        return list(islice(self._frames, start, None)) if start < len(self._frames) else []

    async def follow(
        self,
        after: int,
        *,
        stop_at: str | None = None,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> AsyncGenerator[bytes, None]:
        """SSE bytes of every event after `after`, as they come; ends after the first event of
        type `stop_at` (when given). Idle streams get a comment line every `heartbeat` seconds."""
        self.followers += 1
        try:
            async for chunk in self._follow(max(0, after), stop_at, heartbeat):
                yield chunk
        finally:
            self.followers -= 1

    async def _follow(
        self, cursor: int, stop_at: str | None, heartbeat: float
    ) -> AsyncIterator[bytes]:
        while True:
            wake = self._wakeup
            if cursor + 1 < self.first_seq:
                gap = EventsGap(after=cursor, first_available=self.first_seq)
                yield b"data: %s\n\n" % gap.to_json().encode()
                cursor = self.first_seq - 1
            frames = self.since(cursor)
            if frames:
                if stop_at is not None:
                    end = next((i for i, f in enumerate(frames) if f.type == stop_at), None)
                    if end is not None:
                        yield b"".join(f.data for f in frames[: end + 1])
                        return
                yield b"".join(f.data for f in frames)
                cursor += len(frames)
                continue
            if self._closed:
                return
            try:
                async with asyncio.timeout(heartbeat):
                    await wake.wait()
            except TimeoutError:
                yield HEARTBEAT
