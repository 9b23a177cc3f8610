"""`l`: the logs of an object's pod in Pilot, through the cluster backend and the real API
server, with the fake kubelet behind a registered Node writing the container's lines."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubernetes_asyncio import client
from textual.widgets import DataTable

from agentops_services.kube import resources as types
from agentops_services.kube.rest import Kube
from agentops_tui.app import AgentOpsApp
from agentops_tui.backends.catalog import by_kind
from agentops_tui.backends.cluster import ClusterBackend
from agentops_tui.backends.pods import AGENT_LABEL, COMPONENT_LABEL
from agentops_tui.screens.detail import DetailScreen
from agentops_tui.screens.logs import LogScreen, LogView
from agentops_tui.screens.resource_list import ResourceListScreen
from agentops_tui.widgets.location_bar import LocationBar
from tests.conftest import eventually
from tests.kube.kubelet_node import Node, kubelet_node, pod_on
from tests.kube.operator_harness import agent, agent_run, create

pytestmark = pytest.mark.kube
SIZE = (120, 30)
POD = "reviewer-6f7c9-x2x9q"
RUNTIME = "agent-runtime"
RUNTIME_LABELS = {AGENT_LABEL: "reviewer", COMPONENT_LABEL: "runtime"}


@pytest.fixture
async def node(kube: client.ApiClient, namespace: str, tmp_path: Path) -> AsyncIterator[Node]:
    async with kubelet_node(Kube(kube), namespace, tmp_path) as node:
        yield node


@pytest.fixture
async def rest(kube: client.ApiClient, namespace: str, node: Node) -> Kube:
    """A daemon Agent `reviewer` with its runtime pod (a gateway sidecar beside the runtime),
    and a task Agent `auditor` that has not run yet."""
    k = Kube(kube)
    await create(k, namespace, agent("reviewer", mode="daemon"))
    await create(k, namespace, agent("auditor", mode="task"))
    body = pod_on(node.name, POD, (RUNTIME,), RUNTIME_LABELS, init_containers=("gateway",))
    await k.create(types.POD, namespace, body)
    return k


def console(kube: client.ApiClient, namespace: str) -> AgentOpsApp:
    backend = ClusterBackend(Kube(kube), "test-context", namespace)

    async def connect(_context: str | None = None) -> ClusterBackend:
        return backend

    return AgentOpsApp(connect)


async def listed(app: AgentOpsApp) -> ResourceListScreen:
    async def shown() -> ResourceListScreen:
        screen = app.screen
        assert isinstance(screen, ResourceListScreen)
        assert screen.query_one(DataTable).row_count > 0
        return screen

    return await eventually(shown, timeout=30)


async def log_screen(app: AgentOpsApp) -> LogScreen:
    async def shown() -> LogScreen:
        assert isinstance(app.screen, LogScreen)
        return app.screen

    return await eventually(shown, timeout=30)


async def showing(screen: LogScreen, texts: list[str]) -> None:
    async def check() -> None:
        assert [line.text for line in screen.shown] == texts, screen.state_text

    await eventually(check, timeout=20)


async def test_l_on_a_daemon_agent_follows_its_runtime_pod_with_filter_and_pause(
    kube: client.ApiClient, namespace: str, node: Node, rest: Kube
) -> None:
    kubelet = node.kubelet
    history = [f"step {i}" for i in range(60)]
    kubelet.write(namespace, POD, RUNTIME, *history[:30], "ERROR tool failed", *history[30:])
    kubelet.write(namespace, POD, "gateway", "gateway listening")
    app = console(kube, namespace)
    async with app.run_test(size=SIZE) as pilot:
        await listed(app)
        app.screen.select("reviewer")  # type: ignore[attr-defined]
        await pilot.press("l")
        screen = await log_screen(app)
        everything = [*history[:30], "ERROR tool failed", *history[30:]]
        await showing(screen, everything)
        crumbs = screen.query_one(LocationBar).render().plain
        assert f"Agents › reviewer › logs › {POD}/{RUNTIME}" in crumbs
        assert screen.state_text == "following"

        await pilot.press("slash", *"error")
        await showing(screen, ["ERROR tool failed"])
        assert screen.state_text == "following · filter error"
        kubelet.write(namespace, POD, RUNTIME, "later", "another error")
        await showing(screen, ["ERROR tool failed", "another error"])
        await pilot.press("escape")
        await showing(screen, [*everything, "later", "another error"])
        await pilot.press("slash", "!", *"step", "enter")
        await showing(screen, ["ERROR tool failed", "later", "another error"])
        await pilot.press("slash", "escape")  # enter kept the filter; escape in the bar clears it
        await showing(screen, [*everything, "later", "another error"])

        view = screen.query_one(LogView)
        await pilot.pause()
        assert view.max_scroll_y > 0 and view.scroll_y == view.max_scroll_y
        await pilot.press("k")
        assert screen.state_text == "paused"
        paused_at = view.scroll_y
        kubelet.write(namespace, POD, RUNTIME, "while paused")
        await showing(screen, [*everything, "later", "another error", "while paused"])
        await pilot.pause()
        assert view.scroll_y == paused_at < view.max_scroll_y, "paused: the view stays put"
        await pilot.press("f")
        await pilot.pause()
        assert screen.state_text == "following"
        assert view.scroll_y == view.max_scroll_y

        await pilot.press("c")
        assert app.clipboard.endswith("another error\nwhile paused")
        assert app.clipboard.count("\n") == len(everything) + 2

        await pilot.press("o")
        await showing(screen, ["gateway listening"])
        assert f"{POD}/gateway" in screen.query_one(LocationBar).render().plain


async def test_l_on_a_run_shows_its_job_pod_and_says_why_when_there_is_none(
    kube: client.ApiClient, namespace: str, node: Node, rest: Kube
) -> None:
    await create(rest, namespace, agent_run("audit-1", "auditor"))
    await rest.patch(types.AGENT_RUN, namespace, "audit-1", {"status": {"jobName": "audit-1"}},
                     subresource="status")  # fmt: skip
    job_pod = pod_on(node.name, "audit-1-k8s7q", (RUNTIME,), {"job-name": "audit-1"})
    await rest.create(types.POD, namespace, job_pod)
    node.kubelet.write(namespace, "audit-1-k8s7q", RUNTIME, "audit done")
    node.kubelet.finish(namespace, "audit-1-k8s7q", RUNTIME)
    await create(rest, namespace, agent("idle", mode="daemon"))
    app = console(kube, namespace)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await listed(app)

        async def run_listed() -> None:
            assert any(r["metadata"]["name"] == "audit-1" for r in screen.backend.items("AgentRun"))
            assert "idle" in screen.query_one(DataTable).rows

        await eventually(run_listed)
        screen.select("idle")
        await pilot.press("l")

        async def notified(text: str) -> None:
            assert any(text in n.message for n in app._notifications), list(app._notifications)

        await eventually(lambda: notified("Agent idle has no pod yet"))
        assert app.screen is screen
        screen.select("auditor")  # a task Agent: its newest run's Job pod
        await pilot.press("l")
        logs = await log_screen(app)
        await showing(logs, ["audit done"])
        assert "AgentRuns" not in logs.query_one(LocationBar).render().plain
        await pilot.press("escape", "colon", *"ar", "enter")
        runs = await listed(app)
        assert runs.kind.kind == "AgentRun"
        await pilot.press("l")
        logs = await log_screen(app)
        await showing(logs, ["audit done"])
        assert "AgentRuns › audit-1 › logs › audit-1-k8s7q" in (
            logs.query_one(LocationBar).render().plain
        )
        await pilot.press("escape", "enter")

        async def detail() -> None:
            assert isinstance(app.screen, DetailScreen)

        await eventually(detail)
        await pilot.press("l")
        await showing(await log_screen(app), ["audit done"])


async def test_the_buffer_keeps_the_newest_lines_only(
    kube: client.ApiClient, namespace: str, node: Node, rest: Kube
) -> None:
    node.kubelet.write(namespace, POD, RUNTIME, *(f"line {i}" for i in range(120)))
    app = console(kube, namespace)
    async with app.run_test(size=SIZE) as pilot:
        screen = await listed(app)
        backend = screen.backend
        target = await backend.log_target("Pod", POD)
        assert target.containers == (RUNTIME, "gateway")
        logs = LogScreen(backend, by_kind("Pod"), POD, target, capacity=50)
        await app.push_screen(logs)
        await showing(logs, [f"line {i}" for i in range(70, 120)])
        assert len(logs.buffer) == 50 and logs.buffer.received == 120
        view = logs.query_one(LogView)
        assert len(view.lines) == 50
        assert view.lines[0] == "line 70"
        await pilot.press("t", "w")

        async def redrawn() -> None:
            assert re.fullmatch(r"\S+Z line 70", view.lines[0])
            assert logs.state_text == "following · wrap"

        await eventually(redrawn)
