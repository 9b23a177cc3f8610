"""A real memory service for the memory panel's tests (loopback, SQLite in a temp dir) and the
memories it starts with: imported with fixed ids and times, so rows and pictures are stable."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from agentops_services.httpapi.serving import serve_in_background
from agentops_services.memory.server import create_app

SUMMARY = ("Session: 6 messages (3 user, 3 assistant). Started with: Why do reads stall during "
           "the nightly import? Ended with: [STEER] keep WAL on, raise the pool.")  # fmt: skip


def _observation(number: int, project: str, type_: str, title: str, content: str,
                 **extra: Any) -> dict[str, Any]:  # fmt: skip
    moment = f"2025-01-09T08:0{number}:00Z"
    return {"id": number, "session_id": f"{project}-s1", "type": type_, "title": title,
            "content": content, "project": project, "created_at": moment, "updated_at": moment,
            **extra}  # fmt: skip


SESSIONS = [
    {"id": "billing-s1", "project": "billing", "started_at": "2025-01-08T12:00:00Z",
     "ended_at": "2025-01-08T12:05:00Z", "summary": "Session: 2 messages (1 user, 1 assistant). "
     "Started with: How often do we retry payments?", "message_count": 2},
    {"id": "reviewer-s1", "project": "reviewer", "started_at": "2025-01-09T07:00:00Z",
     "ended_at": "2025-01-09T07:20:00Z", "summary": SUMMARY, "message_count": 6},
    {"id": "reviewer-s2", "project": "reviewer", "started_at": "2025-01-09T09:00:00Z"},
]  # fmt: skip
OBSERVATIONS = [
    _observation(1, "reviewer", "decision", "Use WAL journal mode",
                 "Readers proceed while a writer commits; the WAL keeps them apart. Checkpoint "
                 "after the nightly import.", tags=["sqlite", "storage"], topic_key="db/journal"),
    _observation(2, "reviewer", "bugfix", "Pool exhaustion under load",
                 "Requests waited on the connection pool during the import. Raised the pool size "
                 "to 20 and added a 5 s acquire timeout.", tags=["db"]),
    _observation(3, "reviewer", "preference", "Review style",
                 "Prefer small pull requests with one concern each; ask before reformatting."),
    _observation(4, "billing", "config", "[WIP] Payment retries [/b]",
                 "Retries use exponential backoff from 2 s, at most 5 attempts."),
]  # fmt: skip
"""Ids 1 to 4 once imported into an empty store."""


def sample_export() -> bytes:
    """The sample as the service exports it (JSON lines)."""
    records: list[dict[str, Any]] = [{"exported_at": "2025-01-09T10:00:00Z"}]
    records += [{"session": s} for s in SESSIONS] + [{"observation": o} for o in OBSERVATIONS]
    return "".join(json.dumps(r) + "\n" for r in records).encode()


async def load_sample(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        answer = await http.post(
            "/import", content=sample_export(), headers={"content-type": "application/x-ndjson"}
        )
        answer.raise_for_status()


@contextlib.asynccontextmanager
async def memory_service(db: Path) -> AsyncIterator[str]:
    """The memory service on a free loopback port with the sample loaded; its base URL."""
    async with serve_in_background(create_app(db)) as server:
        await load_sample(server.url)
        yield server.url
