"""The memory store: SQLite (WAL) with FTS5, one writer connection and a small reader pool.

Every write goes through the single writer connection, inside IMMEDIATE transactions, so a write
is all or nothing and two writers can never race past the dedup checks. Reads run on a pool of
aiosqlite connections, each on its own thread, so they proceed in parallel and never wait for a
write (WAL).

Durability: `synchronous=NORMAL` in WAL mode. A committed transaction is in the WAL file, in the
operating system's cache, before `commit` returns, so it survives the process being killed
(kill -9, OOM); only a power loss or kernel crash can lose the last transactions. FULL would add
an fsync per write for that case, which a memory of agent observations does not warrant.

Each operation is one unit of plain sqlite3 code (`queries.py`). A read runs on a reader's
thread in one hop: aiosqlite hops once per statement, and a hop costs about 150 µs here against a
few µs for a statement, while a search may take milliseconds in C with the GIL released.

Writes that arrive together are committed together (group commit): the writer takes every queued
write, runs them in one transaction and commits once, so the commit (a few hundred µs of WAL
writes) is paid per batch. No write is acknowledged before its batch has committed, and a failing
write fails alone. The writer runs on the event loop's own thread: a write is ~150 µs of SQL, but
on a thread of its own it must win the GIL back from the busy loop after every statement, and
measured under load that tripled its cost (1,300 against 1,800 writes/s end to end). A batch is
capped so the loop is never held for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from opentelemetry import trace

from agentops_services.api.memory import (
    ContextObservation,
    ContextResponse,
    ExportData,
    ImportResult,
    Observation,
    ObservationCreate,
    ObservationPatch,
    ObservationWriteResult,
    SearchHit,
    Session,
    SessionEndResult,
    SessionSummary,
    Stats,
    TimelineEntry,
    TranscriptMessage,
)
from agentops_services.memory import queries, schema
from agentops_services.memory.queries import ConflictError, NotFoundError
from agentops_services.memory.relevance import TermStatistics
from agentops_services.memory.text import (
    estimate_tokens,
    normalized_hash,
    now_utc,
    session_summary,
    timestamp,
    truncate_runes,
)
from agentops_services.telemetry import span

TRACER = trace.get_tracer("agentops.memory.store")

BUSY_TIMEOUT_MS = 5000
CONTEXT_CONTENT_CHARS = 300
ACCESS_FLUSH_SECONDS = 1.0
MAX_PENDING_ACCESSES = 10_000
MAX_BATCH = 48
"""Writes per transaction: at ~150 µs each the loop is held for under 10 ms."""
MAX_KNOWN_SESSIONS = 10_000
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    "PRAGMA cache_size=-16000",
    "PRAGMA temp_store=MEMORY",
    # Reads map the file instead of copying each page through read(): ranking a query visits
    # hundreds of rows, and with mmap a visit is a memory access. Capped at 256 MiB of address
    # space per connection; the pages are the operating system's shared cache.
    "PRAGMA mmap_size=268435456",
)

T = TypeVar("T")


def migrate_file(path: Path) -> int:
    """Create or upgrade the database file; returns the schema version it had."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            db.execute(pragma)
        return schema.migrate(db)
    finally:
        db.close()


@dataclass
class _PendingWrite:
    unit: Callable[..., Any]
    args: tuple[Any, ...]
    done: asyncio.Future[Any]
    outcome: Any = None
    failed: bool = False


def _commit_batch(db: sqlite3.Connection, batch: list[_PendingWrite]) -> None:
    """The whole batch in one IMMEDIATE transaction. Should any write fail, the transaction is
    rolled back and each write runs in a transaction of its own, so only the failing one fails
    (rare: the units check what they can before writing)."""
    if len(batch) > 1:
        db.execute("BEGIN IMMEDIATE")
        try:
            outcomes = [write.unit(db, *write.args) for write in batch]
        except Exception:
            db.execute("ROLLBACK")
        else:
            db.execute("COMMIT")
            for write, outcome in zip(batch, outcomes, strict=True):
                write.outcome = outcome
            return
    for write in batch:
        db.execute("BEGIN IMMEDIATE")
        try:
            write.outcome = write.unit(db, *write.args)
        except Exception as exc:
            db.execute("ROLLBACK")
            write.outcome, write.failed = exc, True
        else:
            db.execute("COMMIT")


async def _on_thread(
    connection: aiosqlite.Connection,
    unit: Callable[..., T],
    *args: Any,
) -> T:
    """Run `unit(sqlite3_connection, *args)` on the aiosqlite connection's thread, in one hop.

    aiosqlite's own methods hop once per statement; its `_execute` is the primitive they share.
    """
    result: T = await connection._execute(unit, connection._conn, *args)  # type: ignore[no-untyped-call]
    return result


class MemoryStore:
    """Sessions and observations of every project, in one SQLite file."""

    def __init__(
        self,
        path: Path | str,
        *,
        dedup_window: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = now_utc,
        readers: int = 3,
    ) -> None:
        self.path = Path(path)
        self.dedup_window = dedup_window
        self.clock = clock
        self._reader_count = readers
        self._writer: sqlite3.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._accessed: set[int] = set()
        self._access_task: asyncio.Task[None] | None = None
        self._writes: asyncio.Queue[_PendingWrite] = asyncio.Queue()
        self._terms = TermStatistics()
        self._known_sessions: set[str] = set()
        self._writer_task: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def open(self) -> MemoryStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(migrate_file, self.path)
        self._writer = sqlite3.connect(self.path, isolation_level=None)
        self._writer.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            self._writer.execute(pragma)
        self._writer_task = asyncio.create_task(self._write_batches(self._writer))
        for _ in range(self._reader_count):
            reader = await self._connect()
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)
        self._access_task = asyncio.create_task(self._flush_accesses_forever())
        return self

    async def close(self) -> None:
        if self._access_task:
            self._access_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._access_task
            await self._flush_accesses()
        if self._writer_task:
            self._writer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer_task
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()
        if self._writer:
            self._writer.close()
            self._writer = None

    async def __aenter__(self) -> MemoryStore:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _connect(self) -> aiosqlite.Connection:
        db = await aiosqlite.connect(self.path, isolation_level=None)
        db.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            await db.execute(pragma)
        return db

    async def _read(self, unit: Callable[..., T], *args: Any) -> T:
        """`unit` on a reader connection (waiting for a free one)."""
        reader = await self._readers.get()
        try:
            return await _on_thread(reader, unit, *args)
        finally:
            self._readers.put_nowait(reader)

    async def _write(self, unit: Callable[..., T], *args: Any) -> T:
        """`unit` on the writer, committed (with whatever else is queued) before this returns."""
        assert self._writer_task is not None, "store is not open"
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._writes.put_nowait(_PendingWrite(unit, args, done))
        return await done

    async def _write_batches(self, writer: sqlite3.Connection) -> None:
        while True:
            batch = [await self._writes.get()]
            while len(batch) < MAX_BATCH and not self._writes.empty():
                batch.append(self._writes.get_nowait())
            try:
                _commit_batch(writer, batch)
            except Exception as exc:  # the commit itself failed: nothing in the batch is kept
                for write in batch:
                    write.outcome, write.failed = exc, True
            for write in batch:
                if write.done.done():
                    continue
                if write.failed:
                    write.done.set_exception(write.outcome)
                else:
                    write.done.set_result(write.outcome)

    def _now(self) -> str:
        return timestamp(self.clock())

    # --- sessions ----------------------------------------------------------------------

    async def create_session(self, session_id: str, project: str) -> Session:
        return await self._write(queries.create_session, session_id, project, self._now())

    async def end_session(
        self, session_id: str, messages: Sequence[TranscriptMessage]
    ) -> SessionEndResult:
        summary = session_summary(messages)
        return await self._write(
            queries.end_session, session_id, summary, len(messages), self._now()
        )

    async def recent_sessions(self, project: str | None, limit: int) -> list[Session]:
        return await self._read(queries.recent_sessions, project, limit)

    # --- observations ------------------------------------------------------------------

    async def add_observation(self, request: ObservationCreate) -> ObservationWriteResult:
        project = request.project.lower()
        with span(
            TRACER,
            "store.add_observation",
            attributes={"memory.operation": "add_observation", "memory.project": project},
        ) as current:
            new = queries.NewObservation(
                request=request,
                project=project,
                scope=request.scope or "project",
                digest=normalized_hash(request.content),
                tags=json.dumps(request.tags) if request.tags else None,
                now=self._now(),
                dedup_since=timestamp(self.clock() - self.dedup_window),
                session_known=request.session_id in self._known_sessions,
            )
            result = await self._write(queries.add_observation, new)
            if len(self._known_sessions) >= MAX_KNOWN_SESSIONS:
                self._known_sessions.clear()
            self._known_sessions.add(request.session_id)
            current.set_attributes(
                {"memory.observation.action": result.action, "memory.observation.id": result.id}
            )
            return result

    async def update_observation(self, observation_id: int, patch: ObservationPatch) -> Observation:
        return await self._write(queries.update_observation, observation_id, patch, self._now())

    async def delete_observation(self, observation_id: int, hard: bool) -> None:
        await self._write(queries.delete_observation, observation_id, hard, self._now())

    async def get_observation(self, observation_id: int) -> Observation:
        return await self._read(queries.get_observation, observation_id)

    async def recent_observations(
        self, project: str | None, type_: str | None, scope: str | None, limit: int
    ) -> list[Observation]:
        return await self._read(queries.recent_observations, project, type_, scope, limit)

    async def search(
        self, query: str, project: str | None, type_: str | None, scope: str | None, limit: int
    ) -> list[SearchHit]:
        attributes = {"memory.operation": "search", "memory.query": query[:200]}
        with span(TRACER, "store.search", attributes=attributes) as current:
            hits = await self._read(
                queries.search, self._terms, query, project, type_, scope, limit
            )
            current.set_attribute("memory.search.result_count", len(hits))
            for hit in hits:
                current.add_event(
                    "search.result",
                    {
                        "memory.injected.observation_id": hit.id,
                        "memory.injected.type": hit.type,
                        "memory.injected.title": hit.title[:100],
                        "memory.injected.rank": hit.rank,
                    },
                )
            return hits

    async def context(
        self,
        project: str,
        scope: str | None,
        query: str | None,
        limit: int,
        budget_tokens: int | None = None,
    ) -> ContextResponse:
        """What to inject into a turn, trimmed to `budget_tokens` when given."""
        project = project.lower()
        attributes = {
            "memory.operation": "fetch_context",
            "memory.project": project,
            "memory.query": (query or "")[:500],
            "gen_ai.operation.name": "retrieval",
        }
        with span(TRACER, "store.fetch_context", attributes=attributes) as current:
            rows = await self._read(
                queries.context_rows, self._terms, project, scope, query or "", limit
            )
            response = _budgeted(rows, budget_tokens)
            for item in response.recent_observations:
                current.add_event(
                    "context.injected",
                    {
                        "memory.injected.observation_id": item.id or 0,
                        "memory.injected.type": item.type,
                        "memory.injected.title": item.title[:100],
                        "memory.injected.method": item.method or "",
                    },
                )
            current.set_attribute("memory.context.result_count", len(response.recent_observations))
            self._note_access(item.id for item in response.recent_observations if item.id)
            return response

    async def timeline(self, observation_id: int, before: int, after: int) -> list[TimelineEntry]:
        return await self._read(queries.timeline, observation_id, before, after)

    async def stats(self, project: str | None) -> Stats:
        return await self._read(queries.stats, project)

    async def export(self, project: str | None) -> ExportData:
        return await self._read(queries.export, project, self._now())

    async def import_data(self, data: ExportData) -> ImportResult:
        """All or nothing."""
        return await self._write(queries.import_data, data)

    # --- access counting ---------------------------------------------------------------

    def _note_access(self, ids: Iterable[int]) -> None:
        """Count that memories were used; written in batches off the request path."""
        if len(self._accessed) < MAX_PENDING_ACCESSES:
            self._accessed.update(ids)

    async def _flush_accesses_forever(self) -> None:
        while True:
            await asyncio.sleep(ACCESS_FLUSH_SECONDS)
            await self._flush_accesses()

    async def _flush_accesses(self) -> None:
        if not self._accessed or self._writer is None:
            return
        ids, self._accessed = sorted(self._accessed), set()
        await self._write(queries.count_accesses, ids, self._now())


def _budgeted(rows: queries.ContextRows, budget_tokens: int | None) -> ContextResponse:
    """Sessions then memories, in order, until the token budget is spent."""
    used = 0
    sessions: list[SessionSummary] = []
    memories: list[ContextObservation] = []
    for summary in rows.summaries:
        cost = estimate_tokens(summary) + 2
        if budget_tokens is not None and used + cost > budget_tokens:
            break
        used += cost
        sessions.append(SessionSummary(summary=summary))
    for row, method in rows.picked:
        item = ContextObservation(
            id=row["id"],
            type=row["type"],
            title=row["title"],
            content=truncate_runes(row["content"], CONTEXT_CONTENT_CHARS),
            method=method,  # type: ignore[arg-type]
        )
        cost = estimate_tokens(f"- [{item.type}] {item.title}: {item.content}")
        if budget_tokens is not None and used + cost > budget_tokens:
            break
        used += cost
        memories.append(item)
    return ContextResponse(recent_sessions=sessions, recent_observations=memories, tokens=used)


__all__ = ["ConflictError", "MemoryStore", "NotFoundError", "migrate_file"]
