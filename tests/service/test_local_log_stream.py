"""A runtime's log over the platform API: a real log file written by `ProcessLog` (rotating
at a small size) while the route streams it; the backlog is bounded, rotation loses and
repeats nothing, a resume starts after its line, a finished run ends the stream, and the
client's `follow_log` resumes a cut connection without losing or repeating a line."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse
from starlette.applications import Starlette
from starlette.middleware import Middleware

from agentops_services.httpapi.serving import serve_in_background
from agentops_services.kube.podlogs import LogEvent, LogLine, LogStatus
from agentops_services.local.client import PlatformClient
from agentops_services.local.guard import LoopbackGuard
from agentops_services.local.log_stream import BACKLOG_LINES, LogStreams
from agentops_services.local.paths import DataDir
from agentops_services.local.process_log import ProcessLog
from tests.conftest import eventually
from tests.service.local_platform import Platform, running_platform
from tests.tcp_proxy import Breakage, tcp_proxy

ROTATE_AT = 20_000
"""Bytes per log file: a few thousand short lines rotate it several times."""


@dataclass
class Logs:
    platform: Platform
    data: DataDir
    url: str


@pytest.fixture
async def logs(tmp_path: Path) -> AsyncIterator[Logs]:
    """The platform's resources (Agent `helper`) and the log route on its own port, polling
    fast and beating often."""
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "helper.yaml").write_text(
        "apiVersion: agents.agentops.io/v1alpha1\nkind: Agent\nmetadata:\n  name: helper\n"
        "spec:\n  mode: daemon\n  model: anthropic/claude-sonnet-4-5\n"
        "  providerRefs:\n    - name: anthropic\n"
    )
    data = DataDir.locate(tmp_path / "data").create()
    async with running_platform(tmp_path) as platform:
        streams = LogStreams(platform.store, data, poll=0.02, heartbeat=0.2)
        app = Starlette(routes=[streams.route()], middleware=[Middleware(LoopbackGuard)])
        async with serve_in_background(app) as server:
            try:
                yield Logs(platform, data, server.url)
            finally:
                streams.close()


@contextlib.asynccontextmanager
async def reading(url: str, path: str, **params: Any) -> AsyncIterator[list[dict[str, Any]]]:
    """The stream's events (`{"event", **data}`), collected as they come while the block runs."""
    events: list[dict[str, Any]] = []

    async def read() -> None:
        async with (
            httpx.AsyncClient(base_url=url, timeout=10) as http,
            aconnect_sse(http, "GET", path, params=params) as source,
        ):
            async for sse in source.aiter_sse():
                events.append({"event": sse.event, **json.loads(sse.data or "{}")})

    task = asyncio.create_task(read())
    try:
        yield events
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def texts(events: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in events if e["event"] == "line"]


def shown(events: list[dict[str, Any]], expected: list[str]) -> Callable[[], Awaitable[None]]:
    """A check for `eventually`: the stream has delivered exactly `expected`."""

    async def check() -> None:
        assert texts(events) == expected

    return check


def numbered(first: int, last: int) -> list[str]:
    return [f"line {i:05d}" for i in range(first, last + 1)]


def write_lines(log: ProcessLog, first: int, last: int) -> None:
    for text in numbered(first, last):
        log.write(f"{text}\n".encode())


async def test_backlog_then_appended_lines_across_rotations(logs: Logs) -> None:
    log = ProcessLog(logs.data.agent("helper").create().log, limit=ROTATE_AT)
    try:
        write_lines(log, 1, 1200)  # 14,400 bytes: one file, more lines than the backlog
        async with reading(logs.url, "/api/v1/logs/agents/helper") as events:

            async def backlog() -> None:
                assert texts(events) == numbered(1200 - BACKLOG_LINES + 1, 1200)

            await eventually(backlog)
            write_lines(log, 1201, 4000)  # rotates the file several times

            async def followed() -> None:
                assert texts(events) == numbered(1200 - BACKLOG_LINES + 1, 4000)

            await eventually(followed)
            assert log.previous.exists()
    finally:
        log.close()


async def test_a_resume_starts_after_its_line_in_its_file(logs: Logs) -> None:
    log = ProcessLog(logs.data.agent("helper").create().log, limit=ROTATE_AT)
    try:
        write_lines(log, 1, 50)
        async with reading(logs.url, "/api/v1/logs/agents/helper") as first:
            await eventually(shown(first, numbered(1, 50)))
        line_10 = next(e for e in first if e["text"] == "line 00010")
        path = "/api/v1/logs/agents/helper"
        async with reading(logs.url, path, since_line=10, file=line_10["file"]) as resumed:
            await eventually(shown(resumed, numbered(11, 50)))
        async with reading(logs.url, path, since_line=10, file="0:0") as elsewhere:
            await eventually(shown(elsewhere, numbered(1, 50)))
    finally:
        log.close()


async def test_a_finished_run_ends_its_stream_and_unknown_names_are_404(logs: Logs) -> None:
    store = logs.platform.store
    run = await logs.platform.client.create_run("helper", "Summarise")
    name = run["metadata"]["name"]
    log = ProcessLog(logs.data.run(name).create().log)
    try:
        async with reading(logs.url, f"/api/v1/logs/agentruns/{name}") as events:
            write_lines(log, 1, 3)
            await eventually(shown(events, numbered(1, 3)))
            log.write(b"the last words")
            await store.patch_status("AgentRun", name, {"phase": "Succeeded"})

            async def ended() -> None:
                assert events[-1] == {"event": "end", "reason": f"AgentRun {name} succeeded"}

            await eventually(ended)
            assert texts(events) == [*numbered(1, 3), "the last words"]
    finally:
        log.close()
    async with httpx.AsyncClient(base_url=logs.url, timeout=10) as http:
        missing = await http.get("/api/v1/logs/agents/nobody")
        assert missing.status_code == 404
        assert missing.json() == {"error": "Agent nobody not found", "field": "name"}
        wrong = await http.get("/api/v1/logs/providers/helper")
        assert (wrong.status_code, wrong.json()["field"]) == (404, "kind")


async def test_the_client_resumes_a_cut_stream_without_losing_or_repeating(logs: Logs) -> None:
    log = ProcessLog(logs.data.agent("helper").create().log, limit=ROTATE_AT)
    port = int(logs.url.rsplit(":", 1)[1])
    try:
        write_lines(log, 1, 300)
        async with tcp_proxy(port) as proxy, PlatformClient(proxy.url) as client:
            proxy.plan = [Breakage(after_bytes=9000, how="cut"), Breakage(30000, "cut")]
            seen: list[LogEvent] = []

            async def follow() -> None:
                async for event in client.follow_log("Agent", "helper"):
                    seen.append(event)

            task = asyncio.create_task(follow())
            try:

                async def lines(last: int) -> None:
                    assert [e.text for e in seen if isinstance(e, LogLine)] == numbered(1, last)

                await eventually(lambda: lines(300))
                write_lines(log, 301, 2500)  # rotates while the connection is cut
                await eventually(lambda: lines(2500), timeout=20)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        assert proxy.broken == ["cut", "cut"]
        assert any(isinstance(e, LogStatus) and e.phase == "reconnecting" for e in seen)
    finally:
        log.close()
