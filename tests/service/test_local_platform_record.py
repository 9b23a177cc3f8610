"""platform.json: a console finds the platform that runs, and ignores the file one that died
left behind."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from agentops_services.httpapi.serving import serve_in_background
from agentops_services.local.platform_record import (
    PlatformRecord,
    pid_alive,
    read_record,
    remove_record,
    running_platform,
    write_record,
)


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(process.stdout)


def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def platform_url() -> AsyncIterator[str]:
    """A server that answers like the platform's API (any route: 404 is still an answer)."""
    app = Starlette(routes=[Route("/healthz", lambda _: PlainTextResponse("ok"))])
    async with serve_in_background(app) as server:
        yield server.url


def test_a_record_round_trips_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "platform.json"
    record = PlatformRecord.now("http://127.0.0.1:4100")

    write_record(path, record)

    assert read_record(path) == record
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "text", ["", "{", "[]", '{"url": "http://x"}', '{"url": "u", "pid": "x", "started_at": ""}']
)
def test_a_damaged_record_is_no_record(tmp_path: Path, text: str) -> None:
    path = tmp_path / "platform.json"
    path.write_text(text)

    assert read_record(path) is None


async def test_a_live_platform_is_found(tmp_path: Path, platform_url: str) -> None:
    path = tmp_path / "platform.json"
    write_record(path, PlatformRecord.now(platform_url))

    found = await running_platform(path)

    assert found is not None
    assert found.url == platform_url


async def test_a_record_whose_process_died_is_stale(tmp_path: Path, platform_url: str) -> None:
    path = tmp_path / "platform.json"
    pid = dead_pid()
    assert not pid_alive(pid)
    write_record(path, PlatformRecord.now(platform_url, pid))

    assert await running_platform(path) is None


async def test_a_record_whose_url_does_not_answer_is_stale(tmp_path: Path) -> None:
    path = tmp_path / "platform.json"
    write_record(path, PlatformRecord.now(closed_port_url()))  # our pid: alive

    assert await running_platform(path) is None


async def test_no_file_is_no_platform(tmp_path: Path) -> None:
    assert await running_platform(tmp_path / "platform.json") is None


def test_a_platform_removes_only_its_own_record(tmp_path: Path) -> None:
    path = tmp_path / "platform.json"
    write_record(path, PlatformRecord.now("http://127.0.0.1:4100", pid=dead_pid()))

    remove_record(path)  # not ours: another platform took over
    assert path.exists()

    write_record(path, PlatformRecord.now("http://127.0.0.1:4100"))
    remove_record(path)
    assert not path.exists()
