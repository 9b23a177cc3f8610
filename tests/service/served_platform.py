"""The whole embedded platform started in-process (`serve` on port 0, on a data dir in
tmp_path, on the offline demo model), for the tests of `agentops serve` and of the console
on it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agentops_services.local.client import PlatformClient
from agentops_services.local.first_run import FirstRunReport
from agentops_services.local.paths import DataDir
from agentops_services.local.platform import serve
from agentops_services.local.platform_record import read_record
from tests.conftest import eventually

PROVIDER_VARIABLES = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "OPENAI_BASE_URL")
STARTUP = 90.0


@dataclass
class Served:
    url: str
    data: DataDir
    report: FirstRunReport
    client: PlatformClient

    async def phase(self, kind: str, name: str) -> str | None:
        found = await self.client.get(kind, name)
        return (found.get("status") or {}).get("phase")

    async def services(self) -> dict[str, object]:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            answer: dict[str, object] = (await http.get("/api/v1/services")).json()
            return answer


def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No provider key in the environment: the first run picks the offline demo."""
    for variable in PROVIDER_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@contextlib.asynccontextmanager
async def served_platform(data: DataDir) -> AsyncIterator[Served]:
    """The platform on `data`, answering; stopped (and its record gone) afterwards."""
    ready: asyncio.Future[tuple[str, FirstRunReport]] = asyncio.get_running_loop().create_future()
    platform = asyncio.create_task(
        serve(data, port=0, started=lambda url, report: ready.set_result((url, report)))
    )
    try:
        url, report = await asyncio.wait_for(asyncio.shield(ready), STARTUP)
        async with PlatformClient(url) as client:
            yield Served(url, data, report, client)
    finally:
        platform.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await platform
    assert read_record(data.platform_file) is None  # a stopped platform leaves no record


@pytest.fixture
async def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Served]:
    offline(monkeypatch)
    async with served_platform(DataDir.locate(tmp_path / "data")) as platform:
        yield platform


async def running(served: Served, agent: str) -> None:
    """Wait until the daemon Agent's runtime serves."""

    async def check() -> None:
        assert await served.phase("Agent", agent) == "Running"

    await eventually(check, timeout=60)
