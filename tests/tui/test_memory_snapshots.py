"""SVG snapshots of the memory panel at 120x40 and 80x24: search with highlighted matches and a
memory's detail, an Agent's sessions, and what it sees at the start of a turn.

As in test_snapshots.py, the namespace and its Agent have fixed names; the memory service is
`agentops memory` as a process (the app under snapshot runs its own event loop) with the
sample imported, so ids and times are fixed. Update with `pytest --snapshot-update` on these
test ids and review the SVGs.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from agentops_services.kube import resources as types
from agentops_services.kube.client import api_client
from agentops_services.kube.rest import Kube
from agentops_services.testing.controlplane import ControlPlane, free_port
from agentops_tui.app import AgentOpsApp
from agentops_tui.backends.base import ServiceRef
from agentops_tui.backends.cluster import ClusterBackend
from agentops_tui.screens.memory import ContextScreen, MemoryScreen, SessionsScreen
from tests.conftest import eventually
from tests.kube.operator_harness import agent, create
from tests.runtime_process import AGENTOPS
from tests.tui.memory_sample import load_sample
from tests.tui.sample_console import cleanup, steady

pytestmark = pytest.mark.kube
NAMESPACE = "memory-snapshots"
SIZES = [(120, 40), (80, 24)]


@pytest.fixture(scope="module")
def memory_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`agentops memory` on a free loopback port, the sample loaded."""
    db = tmp_path_factory.mktemp("memory") / "memory.db"
    port = free_port()
    command = [*AGENTOPS, "memory", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    async def healthy() -> None:
        assert process.poll() is None, "the memory service exited"
        async with httpx.AsyncClient(base_url=url) as http:
            (await http.get("/health")).raise_for_status()

    try:
        asyncio.run(eventually(healthy, timeout=30))
        asyncio.run(load_sample(url))
        yield url
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture(scope="module")
def reviewer(control_plane: ControlPlane) -> Iterator[None]:
    """The namespace with one Agent whose memory is the sample's `reviewer` project."""

    async def populate() -> None:
        async with await api_client(control_plane.kubeconfig) as api:
            k = Kube(api)
            await k.create(types.NAMESPACE, None, {"metadata": {"name": NAMESPACE}})
            await create(k, NAMESPACE, agent("reviewer", memory={"serverRef": "agentops-memory"}))

    asyncio.run(populate())
    yield
    asyncio.run(cleanup(control_plane.kubeconfig, NAMESPACE))


class QuietMemoryBackend(ClusterBackend):
    """The cluster backend with the memory service at a loopback URL it does not announce:
    the port changes every run and the footer would print it (test_service_access checks
    the footer)."""

    def __init__(self, kube: Kube, memory_url: str) -> None:
        super().__init__(kube, "snapshot-context", NAMESPACE, owns_client=True)
        self.memory = httpx.AsyncClient(base_url=memory_url, timeout=10)

    async def service(self, ref: ServiceRef) -> httpx.AsyncClient:
        return self.memory if ref.role == "memory" else await super().service(ref)

    async def stop(self) -> None:
        await self.memory.aclose()
        await super().stop()


def console(kubeconfig: Path, memory_url: str) -> AgentOpsApp:
    async def connect(_context: str | None = None) -> ClusterBackend:
        return QuietMemoryBackend(Kube(await api_client(kubeconfig)), memory_url)

    return AgentOpsApp(connect)


def shown(app: AgentOpsApp, text: str) -> Callable[[], Awaitable[None]]:
    """Waits until `text` is in the widget `#about` or `#context-heading` or `#session-summary`
    of the screen on top."""

    async def there() -> None:
        widgets = app.screen.query("#about, #context-heading, #session-summary").results(Static)
        assert any(text in str(w.render()) for w in widgets), app.screen

    return there


async def search(pilot: Pilot[Any]) -> None:
    app: AgentOpsApp = pilot.app  # type: ignore[assignment]
    await pilot.press("m", "slash", *"pool import", "enter")
    await eventually(shown(app, "Pool exhaustion under load"))
    assert isinstance(app.screen, MemoryScreen)


async def sessions(pilot: Pilot[Any]) -> None:
    app: AgentOpsApp = pilot.app  # type: ignore[assignment]
    await pilot.press("m")
    await eventually(shown(app, "Review style"))
    await pilot.press("s")
    await eventually(lambda: _on(app, SessionsScreen))
    await pilot.press("down")
    await eventually(shown(app, "Started with: Why do reads stall"))


async def context(pilot: Pilot[Any]) -> None:
    app: AgentOpsApp = pilot.app  # type: ignore[assignment]
    await pilot.press("m", "slash", *"pool", "enter")
    await eventually(shown(app, "Pool exhaustion under load"))
    await pilot.press("p")
    await eventually(lambda: _on(app, ContextScreen))


async def _on(app: AgentOpsApp, screen_type: type) -> None:
    assert isinstance(app.screen, screen_type), app.screen


VIEWS = {"memory-search": search, "memory-sessions": sessions, "memory-context": context}


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("view", list(VIEWS))
def test_memory_view(
    view: str,
    size: tuple[int, int],
    snap_compare: Any,
    control_plane: ControlPlane,
    reviewer: None,
    memory_url: str,
) -> None:
    app = console(control_plane.kubeconfig, memory_url)
    assert snap_compare(app, terminal_size=size, run_before=steady(VIEWS[view]))
