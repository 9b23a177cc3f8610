"""`platform.json`: how consoles and `agentops serve` find the platform already running on
this machine instead of starting a second one on the same data dir.

The platform writes its URL and pid when it is serving and removes the file when it stops. A
platform that crashed leaves the file behind, so a record counts only while its process is
alive and its URL answers: a dead pid (or a pid reused by another program, which does not
answer HTTP on that port) makes it stale and it is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from agentops_services.local.atomic import replace_file

PROBE_TIMEOUT = 0.5
"""Seconds a console waits for a recorded platform to answer before starting its own: the
platform is on loopback, where anything alive answers in milliseconds."""


@dataclass(frozen=True)
class PlatformRecord:
    """A running platform: where it serves and which process it is."""

    url: str
    pid: int
    started_at: str
    """ISO 8601 time the platform started serving, for `agentops status`-style displays."""

    @classmethod
    def now(cls, url: str, pid: int | None = None) -> PlatformRecord:
        """The record of this process serving at `url`."""
        return cls(url, os.getpid() if pid is None else pid, datetime.now(UTC).isoformat())


def write_record(path: Path, record: PlatformRecord) -> None:
    """Publish `record` atomically: a console reading at the same moment sees the old file
    or the new one, never half of it."""
    replace_file(path, json.dumps(asdict(record), indent=2).encode() + b"\n")


def read_record(path: Path) -> PlatformRecord | None:
    """The record at `path`; None when there is none or it is not one (a stale or damaged
    file must not stop a console from starting its own platform)."""
    try:
        data: Any = json.loads(path.read_bytes())
        record = PlatformRecord(str(data["url"]), int(data["pid"]), str(data["started_at"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return record if record.pid > 0 else None


def remove_record(path: Path) -> None:
    """Remove the record if it is this process's: a platform that stops never removes the
    record of another that has taken over meanwhile."""
    record = read_record(path)
    if record is not None and record.pid == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def pid_alive(pid: int) -> bool:
    """Whether a process `pid` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is another user's
    return True


async def answers(url: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether an HTTP server answers at `url` (any status: it is there). Proxy settings are
    ignored: the platform is on loopback, a proxy would answer for it."""
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            await client.get(url)
    except httpx.HTTPError:
        return False
    return True


async def running_platform(path: Path, timeout: float = PROBE_TIMEOUT) -> PlatformRecord | None:
    """The platform recorded at `path` if it is really running: its pid alive and its URL
    answering. None otherwise (no file, a stale file)."""
    record = read_record(path)
    if record is None or not pid_alive(record.pid):
        return None
    return record if await answers(record.url, timeout) else None
