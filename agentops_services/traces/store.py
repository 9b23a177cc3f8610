"""The trace store: spans in one SQLite file (WAL), one writer and a small pool of readers.

Each connection runs on a thread of its own (`sqlite_pool`): an export of thousands of spans
is written, and a search scans, without holding the event loop. Every operation is one plain
sqlite3 unit (`writes`, `reads`, `search`) run on its connection's thread in one hop.

Retention keeps the file bounded: traces not written to for `max_age` are deleted, and when
the store holds more than `max_spans` spans or `max_bytes` bytes, the traces written longest
ago are deleted until it is back under nine tenths of both. Size is checked after every write
(so an export that fills the store makes room at once); age every `prune_interval` seconds.
A single trace is capped at `max_trace_bytes`, as Tempo caps it, so one runaway trace cannot
push out all the others. Time is the injected clock's, so tests move it by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from agentops_services.sqlite_pool import ConnectionPool
from agentops_services.traces import reads, schema, writes
from agentops_services.traces.otlp_records import Batch
from agentops_services.traces.reads import StoredTrace
from agentops_services.traces.search import SearchRequest, search
from agentops_services.traces.traceql import Condition, Field
from agentops_services.traces.writes import TraceSize, Written

LOG = logging.getLogger(__name__)
LOW_WATER = 0.9
"""A prune for size stops at this share of the limits, so the next write does not prune again."""


@dataclass(frozen=True)
class Retention:
    max_age: timedelta = timedelta(hours=24)
    max_spans: int = 1_000_000
    max_bytes: int = 1024**3
    max_trace_bytes: int = 50 * 1024**2
    """Tempo's default limit on one trace (its size message says 52428800 bytes)."""
    prune_interval: float = 60.0


@dataclass(frozen=True)
class Pruned:
    traces: int
    spans: int


@dataclass
class Totals:
    traces: int = 0
    spans: int = 0
    bytes: int = 0


def _now_utc() -> datetime:
    return datetime.now(UTC)


def _prepare(path: Path) -> None:
    """Create or upgrade the database file before any connection uses it."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        schema.configure(db)
        schema.migrate(db)
    finally:
        db.close()


class TraceStore:
    """Traces in one SQLite file; open with `async with` or open()/close()."""

    def __init__(
        self,
        path: Path | str,
        *,
        retention: Retention | None = None,
        clock: Callable[[], datetime] = _now_utc,
        readers: int = 2,
    ) -> None:
        self.path = Path(path)
        self.retention = retention or Retention()
        self.clock = clock
        self.totals = Totals()
        self._writer = ConnectionPool(self.path, 1, schema.configure)
        self._readers = ConnectionPool(self.path, readers, schema.configure)
        self._prune_lock = asyncio.Lock()
        self._prune_task: asyncio.Task[None] | None = None

    async def open(self) -> TraceStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_prepare, self.path)
        await self._writer.open()
        await self._readers.open()
        traces, spans, size = await self._writer.run(writes.totals)
        self.totals = Totals(traces, spans, size)
        self._prune_task = asyncio.create_task(self._prune_forever())
        return self

    async def close(self) -> None:
        if self._prune_task:
            self._prune_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prune_task
            self._prune_task = None
        await self._readers.close()
        await self._writer.close()

    async def __aenter__(self) -> TraceStore:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _now_ns(self) -> int:
        return round(self.clock().timestamp() * 1_000_000) * 1_000

    # --- writing -----------------------------------------------------------------------

    async def write(self, batch: Batch) -> Written:
        """Store the batch; then, if the store is over its size limits, make room."""
        written = await self._writer.run(
            writes.write_batch, batch, self._now_ns(), self.retention.max_trace_bytes
        )
        self.totals.traces += written.traces_added
        self.totals.spans += written.spans_added
        self.totals.bytes += written.bytes_added
        if self._over(1.0):
            await self.prune()
        return written

    def _over(self, share: float) -> tuple[int, int] | None:
        """Spans and bytes beyond `share` of the limits, or None when within both."""
        spans = self.totals.spans - int(self.retention.max_spans * share)
        size = self.totals.bytes - int(self.retention.max_bytes * share)
        return (spans, size) if spans > 0 or size > 0 else None

    async def prune(self) -> Pruned:
        """Delete expired traces, then the oldest while over the size limits."""
        async with self._prune_lock:
            expired_before = self._now_ns() - int(self.retention.max_age.total_seconds() * 1e9)
            removed: list[TraceSize] = []
            while batch := await self._writer.run(writes.delete_expired, expired_before):
                self._forget(batch, removed)
            if self._over(1.0):
                while (excess := self._over(LOW_WATER)) and (
                    batch := await self._writer.run(writes.delete_oldest, *excess)
                ):
                    self._forget(batch, removed)
            if removed:
                await self._writer.run(writes.collect_origins)
                LOG.info("pruned %d traces (%d spans)", len(removed), sum(t.spans for t in removed))
            return Pruned(len(removed), sum(trace.spans for trace in removed))

    def _forget(self, batch: list[TraceSize], removed: list[TraceSize]) -> None:
        removed.extend(batch)
        self.totals.traces -= len(batch)
        self.totals.spans -= sum(trace.spans for trace in batch)
        self.totals.bytes -= sum(trace.size for trace in batch)

    async def _prune_forever(self) -> None:
        while True:
            await asyncio.sleep(self.retention.prune_interval)
            try:
                await self.prune()
            except sqlite3.Error:
                LOG.exception("pruning the trace store failed; trying again in %gs",
                              self.retention.prune_interval)  # fmt: skip

    # --- reading -----------------------------------------------------------------------

    async def ping(self) -> None:
        """A query through the reader pool (readiness)."""
        await self._readers.run(reads.ping)

    async def trace(self, trace_id: bytes, *, protobuf: bool = False) -> StoredTrace | None:
        """The trace's spans in protobuf or OTLP JSON; None when it is not stored."""
        limit = self.retention.max_trace_bytes
        return await self._readers.run(reads.read_trace, trace_id, limit, protobuf)

    async def search(self, request: SearchRequest) -> dict[str, Any]:
        return await self._readers.run(search, request)

    async def tag_names(self, scope: Literal["span", "resource"]) -> list[str]:
        return await self._readers.run(reads.tag_names, scope)

    async def tag_values(self, field: Field, condition: Condition | None) -> list[tuple[str, str]]:
        return await self._readers.run(reads.tag_values, field, condition)
