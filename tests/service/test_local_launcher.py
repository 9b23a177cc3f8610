"""The console's way to the embedded platform (local/launcher.py), with real `agentops serve`
processes: a platform started for a console is private to its data dir, found again by a second
console, stopped with its console, and taken along when the console is killed; one that cannot
start is a message quoting its log."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agentops_services.local.launcher import LaunchError, attach_or_start, platform_log
from agentops_services.local.paths import DataDir
from agentops_services.local.platform_record import running_platform
from tests.conftest import eventually
from tests.service.served_platform import offline

CONSOLE = """
import asyncio, sys
from pathlib import Path
from agentops_services.local.launcher import attach_or_start
from agentops_services.local.paths import DataDir
attached = asyncio.run(attach_or_start(DataDir.locate(Path(sys.argv[1]))))
print(attached.url, flush=True)
sys.stdin.read()
"""
"""A console that starts the platform and waits (for its stdin, which never ends)."""


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataDir]:
    """A data dir that does not exist yet, on the offline demo, under a permissive umask (so a
    private directory is private because the code made it so)."""
    offline(monkeypatch)
    previous = os.umask(0o022)
    try:
        yield DataDir.locate(tmp_path / "data")
    finally:
        os.umask(previous)


async def _answers(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=5, trust_env=False) as http:
        assert (await http.get("/api/v1/services")).status_code == 200


async def test_a_console_starts_a_private_platform_a_second_one_attaches_and_it_stops(
    data: DataDir,
) -> None:
    attached = await attach_or_start(data)
    try:
        assert attached.started
        await _answers(attached.url)
        for directory in (data.root, data.logs_dir):
            assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
        assert platform_log(data).is_file()

        second = await attach_or_start(data)
        assert not second.started and second.url == attached.url
        second.stop()  # found, not started: left running
        await _answers(attached.url)
    finally:
        attached.stop()
    assert attached.process is not None and attached.process.returncode is not None
    assert await running_platform(data.platform_file) is None


async def test_a_platform_that_cannot_start_is_a_message_quoting_its_log(data: DataDir) -> None:
    data.create()
    data.state_db.write_text("not a database\n")

    with pytest.raises(LaunchError) as refused:
        await attach_or_start(data, timeout=60)

    message = str(refused.value)
    assert "the embedded platform exited" in message
    assert str(platform_log(data)) in message
    assert str(data.state_db) in message  # the log's last lines say which file is wrong


async def test_a_killed_console_takes_the_platform_it_started_along(data: DataDir) -> None:
    console = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CONSOLE, str(data.root),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert console.stdout is not None
        async with asyncio.timeout(90):
            url = (await console.stdout.readline()).decode().strip()
        assert url.startswith("http://127.0.0.1:"), url
        await _answers(url)
    finally:
        console.send_signal(signal.SIGKILL)
        async with asyncio.timeout(10):
            await console.wait()

    async def gone() -> None:
        try:
            await _answers(url)
        except httpx.ConnectError:
            return
        raise AssertionError(f"the platform at {url} still answers")

    await eventually(gone, timeout=30)
