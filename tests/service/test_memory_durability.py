"""Nothing acknowledged is ever lost: concurrent writers, and a kill -9 in the middle of a load."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agentops_services.testing.controlplane import free_port
from tests.conftest import REPO, eventually
from tests.service.conftest import MemoryService


def payload(writer: int, n: int) -> dict[str, object]:
    return {
        "session_id": f"w{writer}",
        "type": "discovery",
        "title": f"writer {writer} note {n}",
        "content": f"observation {n} from writer {writer}",
        "project": "load",
    }


async def test_eight_concurrent_writers_lose_nothing(memory: MemoryService) -> None:
    async def writer(index: int) -> list[int]:
        ids = []
        for n in range(500):
            response = await memory.client.post("/observations", json=payload(index, n))
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        return ids

    results = await asyncio.gather(*(writer(i) for i in range(8)))
    ids = [i for batch in results for i in batch]
    assert len(set(ids)) == 4000
    assert (await memory.client.get("/stats", params={"project": "load"})).json()[
        "total_observations"
    ] == 4000
    exported = (await memory.client.get("/export", params={"project": "load"})).json()
    assert {o["id"] for o in exported["observations"]} == set(ids)


class Service:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agentops_services.cli.main",
                "memory",
                "--db",
                str(self.db),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            await eventually(lambda: client.get("/readyz"), timeout=30)

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    running = Service(tmp_path / "memory.db")
    yield running
    running.stop()


async def test_acknowledged_writes_survive_kill_9(service: Service) -> None:
    service.start()
    await service.ready()
    acknowledged: list[int] = []
    stop = asyncio.Event()
    enough = asyncio.Event()

    async def writer(index: int, client: httpx.AsyncClient) -> None:
        n = 0
        while not stop.is_set():
            try:
                response = await client.post("/observations", json=payload(index, n))
            except httpx.HTTPError:
                return  # the server died under us: this write was never acknowledged
            if response.status_code == 201:
                acknowledged.append(response.json()["id"])
                if len(acknowledged) >= 400:
                    enough.set()
            n += 1

    async with httpx.AsyncClient(base_url=service.url, timeout=5) as client:
        writers = [asyncio.create_task(writer(i, client)) for i in range(4)]
        async with asyncio.timeout(30):
            await enough.wait()
        service.kill()  # mid-load, with requests in flight
        stop.set()
        await asyncio.gather(*writers)

    assert sqlite3.connect(service.db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    service.start()
    await service.ready()
    async with httpx.AsyncClient(base_url=service.url, timeout=5) as client:
        exported = (await client.get("/export", params={"project": "load"})).json()
    stored = {o["id"] for o in exported["observations"]}
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged writes lost"
