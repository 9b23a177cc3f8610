"""Services under test run for real: SQLite files in tmp_path, HTTP servers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from agentops_services.httpapi.serving import serve_in_background
from agentops_services.memory.server import create_app
from agentops_services.memory.store import MemoryStore


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = datetime(2026, 4, 9, 10, 0, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(tmp_path: Path, clock: Clock) -> AsyncIterator[MemoryStore]:
    async with MemoryStore(tmp_path / "memory.db", clock=clock) as opened:
        yield opened


@dataclass
class MemoryService:
    url: str
    client: httpx.AsyncClient
    db: Path


@pytest.fixture
async def memory(tmp_path: Path, clock: Clock) -> AsyncIterator[MemoryService]:
    """The memory service on a loopback port, with its database in tmp_path."""
    db = tmp_path / "memory.db"
    app = create_app(db, store=MemoryStore(db, clock=clock))
    async with (
        serve_in_background(app) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        yield MemoryService(server.url, client, db)


ObservationFactory = Callable[..., dict[str, object]]


@pytest.fixture
def observation() -> ObservationFactory:
    def make(**overrides: object) -> dict[str, object]:
        return {
            "session_id": "s1",
            "type": "decision",
            "title": "Use WAL",
            "content": "Readers proceed during writes.",
            "project": "infra",
        } | overrides

    return make
