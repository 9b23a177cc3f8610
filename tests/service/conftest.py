"""Services under test run for real: SQLite files in tmp_path, HTTP servers on loopback."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import EventSource

from agentops_services.api.script import Script
from agentops_services.httpapi.serving import serve_in_background
from agentops_services.memory.server import create_app
from agentops_services.memory.store import MemoryStore
from agentops_services.runtime.agent import Agent
from agentops_services.runtime.loop import LoopSettings
from agentops_services.runtime.server import create_app as create_runtime_app
from agentops_services.runtime.settings import RuntimeSettings, load_config
from agentops_services.runtime.tooling import Tool
from agentops_services.runtime.wiring import build_agent
from tests.fakes.llm import FakeLLM


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


@dataclass
class FakeProvider:
    """The fake LLM server; `use` loads the script the next calls answer from."""

    llm: FakeLLM
    url: str

    def use(self, script: dict[str, Any]) -> None:
        self.llm.script = Script.model_validate(script)
        self.llm.used = 0

    def entry(self, kind: str = "openaicompat", name: str = "fake") -> dict[str, Any]:
        """A config.json provider entry pointing at this server."""
        base = f"{self.url}/v1" if kind in ("openaicompat", "openai") else self.url
        return {"name": name, "type": kind, "baseURL": base}


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeProvider]:
    llm = FakeLLM(Script())
    async with serve_in_background(llm.app()) as server:
        try:
            yield FakeProvider(llm, server.url)
        finally:
            llm.release.set()


FAST_LOOP = LoopSettings(retry_delay=0.01, idle_timeout=2.0)


@dataclass
class RuntimeService:
    url: str
    client: httpx.AsyncClient
    agent: Agent
    state_dir: Path


@contextlib.asynccontextmanager
async def running_runtime(
    tmp_path: Path,
    config: dict[str, Any],
    *,
    tools: Sequence[Tool] = (),
    heartbeat: float = 15.0,
    loop: LoopSettings = FAST_LOOP,
    workspace: Path | None = None,
) -> AsyncIterator[RuntimeService]:
    """An agent runtime on a loopback port, its config.json and state in tmp_path (and its
    workspace too, unless given); fetch may reach loopback servers."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    state_dir = tmp_path / "sessions"
    settings = RuntimeSettings(
        config_path=config_path,
        agent_name="tester",
        namespace="agents",
        state_dir=state_dir,
        workspace=workspace or tmp_path,
        allow_private_fetch=True,
    )
    agent, providers = build_agent(
        load_config(config_path), settings, {}, tools=tools, loop_settings=loop
    )
    app = create_runtime_app(agent, heartbeat=heartbeat, on_close=providers.aclose)
    async with (
        serve_in_background(app) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        yield RuntimeService(server.url, client, agent, state_dir)


def agent_config(fake: FakeProvider, **extra: Any) -> dict[str, Any]:
    return {
        "providers": [fake.entry()],
        "primaryModel": "fake/gpt-fake",
        "systemPrompt": "You are a test agent.",
        "builtinTools": [],
        **extra,
    }


@dataclass(frozen=True)
class Received:
    """One SSE event as a client got it."""

    id: int | None
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data["type"])


async def collect_sse(
    response: httpx.Response, until: str | None = "session_idle"
) -> list[Received]:
    """The events of an SSE response, up to and including the first of type `until`."""
    received = []
    async for event in EventSource(response).aiter_sse():
        item = Received(int(event.id) if event.id else None, json.loads(event.data))
        received.append(item)
        if item.type == until:
            break
    return received


async def prompt_stream(client: httpx.AsyncClient, prompt: str, **body: Any) -> list[Received]:
    """POST /prompt/stream and read the turn to its session_idle."""
    async with client.stream("POST", "/prompt/stream", json={"prompt": prompt, **body}) as response:
        assert response.status_code == 200, await response.aread()
        return await collect_sse(response)


def types(events: Sequence[Received]) -> list[str]:
    return [e.type for e in events]
