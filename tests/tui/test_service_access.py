"""How the console reaches a runtime from outside the cluster, on a real control plane: a
supervised port-forward through the API server and a kubelet on loopback to a real runtime
process (the detail view's Runtime section and the footer state), a configured URL, and the
API server's service proxy when port-forward cannot work. And Tempo where the namespace's
`agentops-platform` ConfigMap says, in another namespace (forwarded or proxied there), or in
the console's own without it, as before."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from kubernetes_asyncio import client
from rich.console import Console
from textual.widgets import Static

from agentops_services.kube.resources import CONFIG_MAP, POD, SERVICE, ResourceType
from agentops_services.kube.rest import Kube
from agentops_tui.backends.base import PlatformServices, ServiceRef
from agentops_tui.backends.cluster import ClusterBackend
from agentops_tui.backends.platform_discovery import CONFIG_MAP_NAME, PART_OF
from agentops_tui.backends.service_access import ServiceAccess
from agentops_tui.screens.detail import DetailScreen
from agentops_tui.widgets.service_status import ServiceStatus
from tests.conftest import eventually, fresh_namespace
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


def service(
    selector: dict[str, str] | None, name: str = "reviewer", port: int = RUNTIME_PORT
) -> dict[str, Any]:
    """The Service the operator makes for a daemon Agent (without a selector: nothing backs
    it), or another of that shape."""
    spec: dict[str, Any] = {"ports": [{"name": "http", "port": port}]}
    if selector:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def runtime_pod(
    node: str,
    name: str = "reviewer-0",
    labels: dict[str, str] = LABELS,
    port: int = RUNTIME_PORT,
) -> dict[str, Any]:
    container = {"name": "runtime", "image": "agentops:dev", "ports": [{"containerPort": port}]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
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


async def _get_through(
    backend: ClusterBackend, ref: Callable[[], ServiceRef], path: str = "/status"
) -> tuple[str, httpx.Response, list[dict[str, str]]]:
    """GET `path` from the service by whatever route the backend picks, then stop the
    backend: the route's base URL, the answer and every service state the footer was told."""
    seen: list[dict[str, str]] = []
    backend.listen_services(lambda states: seen.append(dict(states)))
    try:
        http = await backend.service(ref())
        return str(http.base_url), await http.get(path), seen
    finally:
        await backend.stop()


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
    base_url, answer, seen = await _get_through(backend, lambda: ServiceRef.runtime("reviewer"))
    assert base_url.endswith(f"/api/v1/namespaces/{namespace}/services/reviewer:4096/proxy/")
    # The API server itself answers (authenticated: not 401/403): nothing serves the Service.
    assert answer.status_code == 503, answer.text
    assert "no endpoints available for service" in answer.json()["message"]
    assert "has no selector" in seen[-1]["runtime/reviewer"]
    assert seen[-1]["runtime/reviewer"].startswith("via API server proxy")
    assert seen[0] == {}, "the listener is told the current states at once"


# --- the platform's services where its ConfigMap says ---------------------------------------

TEMPO_PORT = 3200
TEMPO_LABELS = {"app.kubernetes.io/name": "tempo"}


@pytest.fixture
async def elsewhere(kube: client.ApiClient) -> AsyncIterator[str]:
    """Another fresh namespace (the platform's release namespace, say)."""
    async with fresh_namespace(kube, "t-release-") as name:
        yield name


def platform_config_map(data: dict[str, str]) -> dict[str, Any]:
    """The ConfigMap the chart writes in each agents namespace."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIG_MAP_NAME, "labels": dict([PART_OF])},
        "data": data,
    }


@asynccontextmanager
async def tempo_query_api() -> AsyncIterator[int]:
    """Tempo's /api/echo on loopback (what the pod behind the Service serves); its port."""

    async def echo(_request: web.Request) -> web.Response:
        return web.Response(text="echo")

    app = web.Application()
    app.router.add_get("/api/echo", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def test_tempo_in_another_namespace_is_port_forwarded_there(
    kube: client.ApiClient, namespace: str, elsewhere: str, tmp_path: Path
) -> None:
    rest = Kube(kube)
    node = f"node-{elsewhere}"
    async with (
        tempo_query_api() as tempo_port,
        serve_peer(
            port=TEMPO_PORT,
            token=None,
            path=KUBELET_PATH,
            port_query="port",
            tls=self_signed(tmp_path),
        ) as kubelet,
    ):
        kubelet.pods = {"agentops-tempo-0"}
        kubelet.echo_port = tempo_port
        await register_node(rest, node, int(kubelet.url.rsplit(":", 1)[1]))
        try:
            tempo_service = service(TEMPO_LABELS, "agentops-tempo", TEMPO_PORT)
            await rest.create(SERVICE, elsewhere, tempo_service)
            pod = runtime_pod(node, "agentops-tempo-0", TEMPO_LABELS, TEMPO_PORT)
            await rest.create(POD, elsewhere, pod)
            await mark_ready(rest, elsewhere, "agentops-tempo-0")
            data = {"tempoService": f"{elsewhere}/agentops-tempo:{TEMPO_PORT}"}
            await rest.create(CONFIG_MAP, namespace, platform_config_map(data))
            backend = ClusterBackend(rest, "test-context", namespace)
            await backend.start()
            services, problems = backend.platform_services, backend.problems()
            base_url, answer, seen = await _get_through(
                backend, lambda: services.tempo, "/api/echo"
            )
        finally:
            await rest.delete(NODE, None, node)
    assert services.tempo == ServiceRef("tempo", "agentops-tempo", TEMPO_PORT, elsewhere)
    assert services.memory == ServiceRef.memory()
    assert problems == []
    assert base_url.startswith("http://127.0.0.1:")
    assert answer.text == "echo"
    assert kubelet.sessions and set(kubelet.sessions) == {"agentops-tempo-0"}
    shown = next(states["tempo"] for states in reversed(seen) if "tempo" in states)
    assert "ready" in shown and "agentops-tempo-0" in shown, shown


async def test_tempo_in_another_namespace_is_proxied_there(
    kube: client.ApiClient, namespace: str, elsewhere: str
) -> None:
    """Port-forward cannot work (no selector): the API server's proxy of the Service in the
    namespace the ConfigMap names (it answers: the Service is there, nothing serves it)."""
    rest = Kube(kube)
    await rest.create(SERVICE, elsewhere, service(None, "agentops-tempo", TEMPO_PORT))
    endpoints = {"metadata": {"name": "agentops-tempo"}, "subsets": []}
    await rest.create(ENDPOINTS, elsewhere, endpoints)
    data = {
        "memoryService": "agentops-memory:7437",
        "tempoService": f"{elsewhere}/agentops-tempo:{TEMPO_PORT}",
    }
    await rest.create(CONFIG_MAP, namespace, platform_config_map(data))
    backend = ClusterBackend(rest, "test-context", namespace)
    await backend.start()
    base_url, answer, seen = await _get_through(
        backend, lambda: backend.platform_services.tempo, "/api/echo"
    )
    assert base_url.endswith(
        f"/api/v1/namespaces/{elsewhere}/services/agentops-tempo:{TEMPO_PORT}/proxy/"
    )
    assert answer.status_code == 503, answer.text
    assert 'no endpoints available for service "agentops-tempo"' in answer.json()["message"]
    assert "has no selector" in seen[-1]["tempo"]


async def test_without_the_config_map_tempo_is_the_namespaces_own_as_before(
    kube: client.ApiClient, namespace: str
) -> None:
    rest = Kube(kube)
    await rest.create(SERVICE, namespace, service(None, "tempo", TEMPO_PORT))
    await rest.create(ENDPOINTS, namespace, {"metadata": {"name": "tempo"}, "subsets": []})
    backend = ClusterBackend(rest, "test-context", namespace)
    await backend.start()
    try:
        assert backend.platform_services == PlatformServices()
        assert backend.problems() == []
        http = await backend.service(backend.platform_services.tempo)
        assert str(http.base_url).endswith(
            f"/api/v1/namespaces/{namespace}/services/tempo:{TEMPO_PORT}/proxy/"
        )
    finally:
        await backend.stop()


async def test_a_malformed_config_map_is_told_and_the_defaults_are_used(
    kube: client.ApiClient, namespace: str
) -> None:
    rest = Kube(kube)
    data = {"tempoService": "agent-system/agentops-tempo", "tempoURL": "https://tempo.example"}
    await rest.create(CONFIG_MAP, namespace, platform_config_map(data))
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE, notifications=True):

        async def told() -> None:
            assert any("tempoService" in n.message for n in app._notifications)

        await eventually(told)
        services = app.backend.platform_services
        assert services.tempo == ServiceRef("tempo", "tempo", 3200, url="https://tempo.example")
        (notification,) = list(app._notifications)
        assert notification.title == "Platform configuration"
        assert notification.message == (
            f"ConfigMap {namespace}/agentops-platform tempoService: "
            "'agent-system/agentops-tempo': expected NAME:PORT or NAMESPACE/NAME:PORT: the port "
            "is missing; using tempo:3200"
        )
        assert "1 resource problem" in app.warning
