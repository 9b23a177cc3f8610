"""How the console reaches a runtime from outside the cluster, on a real control plane: a
supervised port-forward through the API server and a kubelet on loopback to a real runtime
process (the detail view's Runtime section and the footer state), a configured URL, and the
API server's service proxy when port-forward cannot work."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes_asyncio import client
from rich.console import Console
from textual.widgets import Static

from agentops_services.kube.resources import POD, SERVICE, ResourceType
from agentops_services.kube.rest import Kube
from agentops_tui.backends.base import ServiceRef
from agentops_tui.backends.cluster import ClusterBackend
from agentops_tui.backends.service_access import ServiceAccess
from agentops_tui.screens.detail import DetailScreen
from agentops_tui.widgets.service_status import ServiceStatus
from tests.conftest import eventually
from tests.fakes.kubelet import KUBELET_PATH, self_signed, serve_peer
from tests.kube.operator_harness import agent, create
from tests.kube.test_portforward_pod import NODE, mark_ready, register_node
from tests.runtime_process import daemon, write_agent
from tests.tui.test_console_views import SIZE, console, listed

pytestmark = pytest.mark.kube
RUNTIME_PORT = 4096
ENDPOINTS = ResourceType("", "v1", "endpoints", "Endpoints")
LABELS = {"agents.agentops.io/agent": "reviewer", "agents.agentops.io/component": "runtime"}


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A real runtime process on loopback (scripted provider)."""
    config = write_agent(tmp_path, [{"text": "hello"}])
    async with daemon(config, tmp_path / "state", AGENT_NAME="reviewer") as (http, _process):
        yield http


def plain(widget: Static) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def service(selector: dict[str, str] | None) -> dict[str, Any]:
    """The Service the operator makes for a daemon Agent (without a selector: nothing backs
    it)."""
    spec: dict[str, Any] = {"ports": [{"name": "http", "port": RUNTIME_PORT}]}
    if selector:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviewer"}, "spec": spec}


def runtime_pod(node: str) -> dict[str, Any]:
    container = {"name": "runtime", "image": "agentops:dev", "ports": [{"containerPort": 4096}]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "reviewer-0", "labels": LABELS},
        "spec": {"nodeName": node, "containers": [container]},
    }


async def test_the_detail_view_asks_the_runtime_through_a_supervised_port_forward(
    kube: client.ApiClient, namespace: str, tmp_path: Path, runtime: httpx.AsyncClient
) -> None:
    rest = Kube(kube)
    node = f"node-{namespace}"
    async with serve_peer(
        port=RUNTIME_PORT,
        token=None,
        path=KUBELET_PATH,
        port_query="port",
        tls=self_signed(tmp_path),
    ) as kubelet:
        kubelet.pods = {"reviewer-0"}
        kubelet.echo_port = int(str(runtime.base_url).rsplit(":", 1)[1].rstrip("/"))
        await register_node(rest, node, int(kubelet.url.rsplit(":", 1)[1]))
        try:
            await create(rest, namespace, agent("reviewer"))
            await rest.create(SERVICE, namespace, service(LABELS))
            await rest.create(POD, namespace, runtime_pod(node))
            await mark_ready(rest, namespace, "reviewer-0")
            app = await console(kube, namespace)
            async with app.run_test(size=SIZE) as pilot:
                await listed(app)
                await pilot.press("enter")
                assert isinstance(app.screen, DetailScreen)
                detail = app.screen

                async def runtime_shown() -> None:
                    shown = plain(detail.query_one("#runtime", Static))
                    assert "idle" in shown and "demo/replay" in shown, shown

                await eventually(runtime_shown, timeout=30)
                footer = str(detail.query_one(ServiceStatus).render())
                assert "runtime/reviewer" in footer and "ready" in footer
                assert "reviewer-0" in footer
        finally:
            await rest.delete(NODE, None, node)
    assert kubelet.sessions and set(kubelet.sessions) == {"reviewer-0"}


async def test_a_configured_url_is_used_as_is(
    kube: client.ApiClient, namespace: str, runtime: httpx.AsyncClient
) -> None:
    template = str(runtime.base_url).rstrip("/") + "/?agent={name}&ns={namespace}"
    access = ServiceAccess(Kube(kube), namespace, env={}, config={"runtime": template})
    try:
        http = await access.client(ServiceRef.runtime("reviewer"))
        assert str(http.base_url).endswith(f"?agent=reviewer&ns={namespace}/")
        assert access.states["runtime/reviewer"].startswith("direct http://127.0.0.1:")
        env = {"AGENT_URL_OVERRIDE": str(runtime.base_url)}
        overridden = ServiceAccess(Kube(kube), namespace, env=env, config={"runtime": template})
        http = await overridden.client(ServiceRef.runtime("reviewer"))
        assert (await http.get("/status")).json()["agent"] == "reviewer"
        await overridden.close()
    finally:
        await access.close()


async def test_without_a_way_to_forward_the_service_proxy_is_used(
    kube: client.ApiClient, namespace: str
) -> None:
    """A Service without a selector (its Endpoints kept by hand, none yet) cannot be
    port-forwarded, ever: the console goes through the API server, with the kubeconfig's
    credentials."""
    rest = Kube(kube)
    await rest.create(SERVICE, namespace, service(None))
    await rest.create(ENDPOINTS, namespace, {"metadata": {"name": "reviewer"}, "subsets": []})
    backend = ClusterBackend(rest, "test-context", namespace)
    seen: list[dict[str, str]] = []
    backend.listen_services(lambda states: seen.append(dict(states)))
    try:
        http = await backend.service(ServiceRef.runtime("reviewer"))
        assert str(http.base_url).endswith(
            f"/api/v1/namespaces/{namespace}/services/reviewer:4096/proxy/"
        )
        answer = await http.get("/status")
    finally:
        await backend.stop()
    # The API server itself answers (authenticated: not 401/403): nothing serves the Service.
    assert answer.status_code == 503, answer.text
    assert "no endpoints available for service" in answer.json()["message"]
    assert "has no selector" in seen[-1]["runtime/reviewer"]
    assert seen[-1]["runtime/reviewer"].startswith("via API server proxy")
    assert seen[0] == {}, "the listener is told the current states at once"
