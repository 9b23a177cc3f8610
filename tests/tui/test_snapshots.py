"""SVG snapshots of the console's views at 120x40 and 80x24, against a real control plane.

The namespace has a fixed name and the objects fixed names and specs, and the console's clock
is set 90 s after the first object was created (every age reads "1m"), so the pictures do not
depend on when the test runs. Update with `pytest --snapshot-update` and review the SVGs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from agentops_services.kube import resources as types
from agentops_services.kube.client import api_client
from agentops_services.kube.rest import Kube
from agentops_services.testing.controlplane import ControlPlane
from agentops_tui.app import AgentOpsApp
from agentops_tui.backends.cluster import ClusterBackend
from tests.kube.operator_harness import agent, agent_run, create

pytestmark = pytest.mark.kube
NAMESPACE = "console-snapshots"
SIZES = [(120, 40), (80, 24)]


async def _populate(kubeconfig: str) -> datetime:
    async with await api_client(kubeconfig) as api:
        k = Kube(api)
        await k.create(types.NAMESPACE, None, {"metadata": {"name": NAMESPACE}})
        first = await create(k, NAMESPACE, agent("reviewer"))
        await create(k, NAMESPACE, agent("nightly-audit", mode="task"))
        await create(k, NAMESPACE, agent("triage"))
        for name, phase in (("reviewer", "Running"), ("nightly-audit", "Ready")):
            status = {"phase": phase, "conditions": [
                {"type": "Ready", "status": "True", "reason": phase, "message": "",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"}]}  # fmt: skip
            await k.patch(types.AGENT, NAMESPACE, name, {"status": status}, subresource="status")
        await create(k, NAMESPACE, agent_run("audit-1", "nightly-audit"))
        await k.patch(types.AGENT, NAMESPACE, "triage", {"status": {"phase": "Failed"}},
                      subresource="status")  # fmt: skip
    created = first["metadata"]["creationTimestamp"]
    return datetime.fromisoformat(created.replace("Z", "+00:00"))


async def _cleanup(kubeconfig: str) -> None:
    async with await api_client(kubeconfig) as api:
        await Kube(api).delete(types.NAMESPACE, None, NAMESPACE)


@pytest.fixture(scope="module")
def frozen_now(control_plane: ControlPlane) -> Iterator[datetime]:
    created = asyncio.run(_populate(str(control_plane.kubeconfig)))
    yield created + timedelta(seconds=90)
    asyncio.run(_cleanup(str(control_plane.kubeconfig)))


def console(control_plane: ControlPlane, now: datetime) -> AgentOpsApp:
    async def connect() -> ClusterBackend:
        api = await api_client(control_plane.kubeconfig)
        return ClusterBackend(Kube(api), "snapshot-context", NAMESPACE, owns_client=True)

    return AgentOpsApp(connect, clock=lambda: now)


def steady(then: Callable[[Pilot[Any]], Awaitable[None]] | None = None) -> Any:
    """Before the picture: no blinking cursors, the view settled, then `then`."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.wait_for_scheduled_animations()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if then is not None:
            await then(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return run_before


def keys(*pressed: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def press(pilot: Pilot[Any]) -> None:
        await pilot.press(*pressed)
        await pilot.pause()

    return press


VIEWS: dict[str, Callable[[Pilot[Any]], Awaitable[None]] | None] = {
    "agents": None,
    "agentruns": keys("colon", "a", "r", "enter"),
    "filter": keys("slash", "r", "e", "v"),
    "command-line": keys("colon", "p", "r"),
    "help": keys("question_mark"),
    "confirm-delete": keys("ctrl+d"),
}


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("view", list(VIEWS))
def test_view(
    view: str,
    size: tuple[int, int],
    snap_compare: Any,
    control_plane: ControlPlane,
    frozen_now: datetime,
) -> None:
    app = console(control_plane, frozen_now)
    assert snap_compare(app, terminal_size=size, run_before=steady(VIEWS[view]))
