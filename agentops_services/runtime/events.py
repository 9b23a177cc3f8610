"""The agent's event log: every FEP event, numbered, kept in a bounded ring, followed by any number
of clients.

Each event is serialised once, as the SSE frame `id: <seq>\\ndata: <json>\\n\\n`, and every
follower reads the same frames from the ring: a client attaches or resumes at any sequence number
(`GET /events?after=N`, `Last-Event-ID`), many clients cost one serialisation, and a follower
that wakes up late sends everything it missed in one write. A follower asking for events that
have left the ring first gets an explicit `events_gap`.

The stream that started a turn (`POST /prompt/stream`) is *pinned*: it must not lose events, so
when it falls more than half a ring behind, the turn waits for it (`wait_for_room`) the way a
socket write waits for a slow reader. Other followers never slow the turn down; if they fall a
whole ring behind they get the gap.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from itertools import islice
from typing import NamedTuple

from agentops_services.api.fep import EventsGap, FepEventBase

RING_CAPACITY = 10_000
PINNED_PATIENCE = 30.0
"""How long appending waits for a pinned follower that does not move before unpinning it."""
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
        self._pinned_lag = capacity // 2
        """How far a pinned follower may fall behind before appending waits for it."""
        self._next = 1
        self._wakeup = asyncio.Event()
        self._listeners: list[Callable[[FepEventBase], None]] = []
        self._closed = False
        self.followers = 0
        """Clients following the log right now."""
        self._pinned: dict[object, int] = {}
        """Pinned follower -> the last sequence number it has taken."""
        self._moved = asyncio.Event()

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

    def lagging(self) -> bool:
        """Whether a pinned follower is too far behind for another event (cheap: call often)."""
        return bool(self._pinned) and self._next - 1 - min(self._pinned.values()) > self._pinned_lag

    async def wait_for_room(self) -> None:
        """Wait until every pinned follower is close enough; one that does not move for
        PINNED_PATIENCE seconds is unpinned (it may then meet a gap, like any follower)."""
        while self.lagging():
            self._moved.clear()
            try:
                async with asyncio.timeout(PINNED_PATIENCE):
                    await self._moved.wait()
            except TimeoutError:
                self._pinned.clear()

    def close(self) -> None:
        """End every follower once it has sent what is in the ring (the process stops)."""
        self._closed = True
        self._wakeup.set()

    def since(self, after: int) -> list[Frame]:
        """The frames still in the ring after sequence number `after`."""
        start = max(0, after + 1 - self.first_seq)
        count = len(self._frames) - start
        if count <= 0:
            return []
        if count < start:  # a follower near the head: walk from the newest end
            return list(islice(reversed(self._frames), count))[::-1]
        return list(islice(self._frames, start, None))

    def follow(
        self,
        after: int,
        *,
        stop_at: str | None = None,
        heartbeat: float = HEARTBEAT_SECONDS,
        pinned: bool = False,
    ) -> AsyncGenerator[bytes, None]:
        """SSE bytes of every event after `after`, as they come; ends after the first event of
        type `stop_at` (when given). Idle streams get a comment line every `heartbeat` seconds.
        A `pinned` follower holds the appending side back instead of falling off the ring; it
        is pinned from this call on, before the first byte is asked for."""
        token = object()
        cursor = max(0, after)
        if pinned:
            self._pinned[token] = cursor
        return self._stream(token, cursor, stop_at, heartbeat)

    async def _stream(
        self, token: object, cursor: int, stop_at: str | None, heartbeat: float
    ) -> AsyncGenerator[bytes, None]:
        self.followers += 1
        try:
            async for cursor_after, chunk in self._follow(cursor, stop_at, heartbeat):
                yield chunk
                if token in self._pinned:
                    self._pinned[token] = cursor_after
                    self._moved.set()
        finally:
            self.followers -= 1
            if self._pinned.pop(token, None) is not None:
                self._moved.set()

    async def _follow(
        self, cursor: int, stop_at: str | None, heartbeat: float
    ) -> AsyncIterator[tuple[int, bytes]]:
        """(sequence number of the last event in the chunk, chunk) pairs."""
        while True:
            wake = self._wakeup
            if cursor + 1 < self.first_seq:
                gap = EventsGap(after=cursor, first_available=self.first_seq)
                cursor = self.first_seq - 1
                yield cursor, b"data: %s\n\n" % gap.to_json().encode()
            frames = self.since(cursor)
            if frames:
                if stop_at is not None:
                    end = next((i for i, f in enumerate(frames) if f.type == stop_at), None)
                    if end is not None:
                        yield cursor + end + 1, b"".join(f.data for f in frames[: end + 1])
                        return
                cursor += len(frames)
                yield cursor, b"".join(f.data for f in frames)
                continue
            if self._closed:
                return
            try:
                async with asyncio.timeout(heartbeat):
                    await wake.wait()
            except TimeoutError:
                yield cursor, HEARTBEAT
