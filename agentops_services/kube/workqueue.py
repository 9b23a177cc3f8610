"""A controller's work queue, after client-go's: keys, not events, so a burst of changes to one
object is one reconcile; a key is never processed by two workers at once (changes that arrive
meanwhile make it run once more after); failures retry with per-key exponential backoff; a
delayed add (a deadline) keeps only the earliest time asked for."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
FIRST_BACKOFF = 0.005
MAX_BACKOFF = 300.0


class WorkQueue(Generic[K]):
    def __init__(
        self, first_backoff: float = FIRST_BACKOFF, max_backoff: float = MAX_BACKOFF
    ) -> None:
        self._queue: asyncio.Queue[K] = asyncio.Queue()
        self._queued: set[K] = set()
        self._processing: set[K] = set()
        self._dirty: set[K] = set()
        """Keys added while being processed: queued again when done."""
        self._failures: dict[K, int] = {}
        self._timers: dict[K, tuple[float, asyncio.TimerHandle]] = {}
        self._shut_down = False
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff

    def __len__(self) -> int:
        return self._queue.qsize()

    @property
    def idle(self) -> bool:
        """Nothing queued, being processed or scheduled."""
        return not (self._queue.qsize() or self._processing or self._timers)

    def add(self, key: K) -> None:
        if self._shut_down:
            return
        if key in self._processing:
            self._dirty.add(key)
            return
        if key in self._queued:
            return
        self._queued.add(key)
        self._queue.put_nowait(key)

    def add_after(self, key: K, delay: float) -> None:
        """Add the key after `delay` seconds, unless an earlier add is already scheduled."""
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        scheduled = self._timers.get(key)
        if scheduled is not None:
            if scheduled[0] <= when:
                return
            scheduled[1].cancel()
        self._timers[key] = (when, loop.call_at(when, self._fire, key))

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: K) -> float:
        """Add after this key's next backoff (doubling per consecutive failure); the delay."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        delay: float = min(self.first_backoff * 2.0**failures, self.max_backoff)
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """The key succeeded: its backoff starts over."""
        self._failures.pop(key, None)

    async def get(self) -> K:
        """The next key to process (workers are cancelled to stop them)."""
        key = await self._queue.get()
        self._queued.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)

    def shut_down(self) -> None:
        """Accept no more keys and drop the scheduled ones."""
        self._shut_down = True
        for _, timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
