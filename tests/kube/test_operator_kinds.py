"""AgentTool, Channel and AgentResource against the real control plane; garbage collection of
children; leader election between two operators; an informer recovering from an expired watch."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kubernetes_asyncio import client

from agentops_services.kube import resources as types
from agentops_services.kube.informer import Informer
from agentops_services.kube.rest import Kube, KubeError
from agentops_services.operator.manager import Operator, OperatorSettings
from agentops_services.testing.controlplane import ControlPlane, free_port
from tests.conftest import REPO, eventually
from tests.kube.operator_harness import (
    API,
    agent,
    condition,
    create,
    get,
    mark_pods_ready,
    provider,
    running_operator,
    status_of,
    with_provider,
)

pytestmark = pytest.mark.kube
FAKE_MCP = REPO / "tests" / "fakes" / "mcp_server.py"


def tool(name: str, **source: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "AgentTool", "metadata": {"name": name}, "spec": source}


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    """The fake MCP server over streamable HTTP on loopback."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(FAKE_MCP), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        import asyncio  # noqa: PLC0415

        async def up() -> None:
            async with httpx.AsyncClient() as http:
                await http.get(url)

        asyncio.run(eventually(up))
        yield url
    finally:
        process.terminate()
        process.wait(10)


async def test_an_mcp_endpoint_is_probed_and_its_tools_discovered(
    kube: client.ApiClient, namespace: str, mcp_url: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        endpoint = {"url": mcp_url, "transport": "streamable-http"}
        await create(k, namespace, tool("fake", mcpEndpoint=endpoint))
        dead = {"url": f"http://127.0.0.1:{free_port()}/mcp", "healthCheck": {"intervalSeconds": 5}}
        await create(k, namespace, tool("gone", mcpEndpoint=dead))

        async def discovered() -> None:
            status = await status_of(k, types.AGENT_TOOL, namespace, "fake")
            assert status["phase"] == "Ready" and status["serviceURL"] == mcp_url
            assert status["sourceType"] == "mcpEndpoint"
            names = [t["name"] for t in status["discoveredTools"]]
            assert names[:3] == ["echo", "add", "kubectl_get"]
            assert status["discoveredTools"][0]["inputSchema"]["properties"]["text"]

        await eventually(discovered, timeout=20)

        async def unreachable() -> None:
            status = await status_of(k, types.AGENT_TOOL, namespace, "gone")
            assert status["phase"] == "Failed"
            assert condition(status, "Ready")["reason"] == "HealthCheckFailed"

        await eventually(unreachable, timeout=20)


async def test_mcp_server_and_inline_tools_get_their_children(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        server = {
            "image": "ghcr.io/example/k8s-mcp:1",
            "command": ["k8s-mcp", "--http"],
            "port": 9000,
        }
        await create(k, namespace, tool("k8s", mcpServer=server))
        await create(k, namespace, tool("date", inline={"content": "#!/bin/sh\ndate\n"}))
        deployment = await eventually(lambda: get(k, types.DEPLOYMENT, namespace, "agtool-k8s"), 20)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "ghcr.io/example/k8s-mcp:1"
        await eventually(lambda: get(k, types.SERVICE, namespace, "agtool-k8s"), timeout=20)
        cm = await eventually(lambda: get(k, types.CONFIG_MAP, namespace, "agtool-date-inline"), 20)
        assert "date" in next(iter(cm["data"].values()))
        status = await status_of(k, types.AGENT_TOOL, namespace, "k8s")
        assert status["phase"] == "Deploying"
        await eventually(lambda: mark_pods_ready(k, namespace, "app=agtool-k8s"), timeout=20)

        async def ready() -> None:
            status = await status_of(k, types.AGENT_TOOL, namespace, "k8s")
            assert status["phase"] == "Ready"
            assert status["serviceURL"] == f"http://agtool-k8s.{namespace}.svc:9000/mcp"

        await eventually(ready, timeout=20)


async def test_a_channel_gets_its_bridge_and_webhook_ingress(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        await with_provider(k, namespace)
        await create(k, namespace, agent("reviewer"))
        channel = {
            "apiVersion": API,
            "kind": "Channel",
            "metadata": {"name": "mr-hook"},
            "spec": {
                "type": "gitlab",
                "agentRef": "reviewer",
                "gitlab": {
                    "events": ["Merge Request Hook"],
                    "secret": {"name": "hook", "key": "token"},
                },
                "prompt": "Review {{ .title }}",
                "webhook": {"host": "hooks.example.com", "path": "/gitlab", "tls": {}},
                "image": "ghcr.io/agentops/channel-gitlab:0.1.0",
            },
        }
        await create(k, namespace, channel)
        ingress = await eventually(lambda: get(k, types.INGRESS, namespace, "mr-hook"), 20)
        assert ingress["spec"]["rules"][0]["host"] == "hooks.example.com"

        async def bridge() -> None:
            for kind, name in [
                (types.DEPLOYMENT, "mr-hook"),
                (types.SERVICE, "mr-hook"),
                (types.ROLE, "mr-hook-channel"),
            ]:
                await get(k, kind, namespace, name)

        await eventually(bridge, timeout=20)

        async def published() -> None:
            status = await status_of(k, types.CHANNEL, namespace, "mr-hook")
            assert status["webhookURL"] == "https://hooks.example.com/gitlab"

        await eventually(published)
        await k.patch(types.CHANNEL, namespace, "mr-hook", {"spec": {"webhook": None}})

        async def no_ingress() -> None:
            assert await k.get(types.INGRESS, namespace, "mr-hook") is None

        await eventually(no_ingress, timeout=20)


async def test_agent_resources_are_accepted_and_deleting_an_agent_collects_its_children(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        repo = {
            "apiVersion": API,
            "kind": "AgentResource",
            "metadata": {"name": "dotfiles"},
            "spec": {
                "kind": "git-repo",
                "displayName": "Team dotfiles",
                "git": {"url": "https://git.example.com/team/dotfiles.git", "branch": "main"},
            },
        }
        await create(k, namespace, repo)
        await with_provider(k, namespace)
        await create(k, namespace, agent("reviewer", resourceBindings=[{"name": "dotfiles"}]))

        async def accepted() -> None:
            status = await status_of(k, types.AGENT_RESOURCE, namespace, "dotfiles")
            assert status["phase"] == "Ready"
            assert condition(status, "Accepted")["status"] == "True"

        await eventually(accepted)
        await eventually(lambda: get(k, types.DEPLOYMENT, namespace, "reviewer"), timeout=20)
        await k.delete(types.AGENT, namespace, "reviewer")

        async def collected() -> None:  # by the real garbage collector, through ownerReferences
            for kind in (types.DEPLOYMENT, types.SERVICE, types.CONFIG_MAP, types.ROLE):
                listing = await k.list(kind, namespace, "agents.agentops.io/owner=reviewer")
                assert listing["items"] == [], kind.kind

        await eventually(collected, timeout=60)


async def test_only_the_leader_acts(kube: client.ApiClient, namespace: str) -> None:
    k = Kube(kube)
    settings: dict[str, Any] = {"leader_elect": True, "lease_namespace": namespace}
    async with (
        running_operator(kube, namespace, identity="first", **settings) as first,
        running_operator(kube, namespace, identity="second", **settings) as second,
    ):
        await eventually(_leads(first, second), timeout=20)
        leader, standby = (first, second) if first.elector.leading.is_set() else (second, first)  # type: ignore[union-attr]
        await create(k, namespace, provider())

        async def handled() -> None:
            assert (await status_of(k, types.PROVIDER, namespace, "anthropic")).get("phase")

        await eventually(handled)
        assert standby.kube.requests["patch"] == 0
        assert leader.kube.requests["patch"] >= 1
        lease = await get(k, types.LEASE, namespace, "agentops-operator")
        assert lease["spec"]["holderIdentity"] == leader.settings.identity


def _leads(*operators: Operator) -> Any:
    async def check() -> None:
        leading = [o for o in operators if o.elector and o.elector.leading.is_set()]
        assert len(leading) == 1

    return check


async def test_an_informer_lists_again_after_its_watch_expires(
    kube: client.ApiClient, namespace: str, control_plane: ControlPlane
) -> None:
    """While the informer is between list and watch, ConfigMaps change and etcd compacts its
    history past the informer's version (as a busy cluster does): the watch answers 410 Gone,
    and the informer lists again and reports what changed meanwhile."""
    k = Kube(kube)
    informer = Informer(k, types.CONFIG_MAP, [namespace])
    seen: list[tuple[str, str]] = []
    informer.add_handler(lambda kind, obj: seen.append((kind, obj["metadata"]["name"])))
    original = informer._watch
    expired: list[str] = []

    async def away_then_watch(ns: str | None, version: str) -> str:
        informer._watch = original  # type: ignore[method-assign]
        for name in ("made-meanwhile", "and-another"):
            made = await create(k, namespace, config_map(name))
        async with httpx.AsyncClient() as http:
            revision = int(made["metadata"]["resourceVersion"])
            compacted = await http.post(
                f"{control_plane.etcd_url}/v3/kv/compaction",
                json={"revision": revision, "physical": True},
            )
            compacted.raise_for_status()
        try:
            return await original(ns, version)
        except KubeError as exc:
            expired.append(exc.reason)
            raise

    informer._watch = away_then_watch  # type: ignore[method-assign,assignment]
    informer.start()
    try:

        async def relisted() -> None:
            assert expired == ["Expired"]
            assert ("ADDED", "made-meanwhile") in seen and ("ADDED", "and-another") in seen
            assert informer.get(namespace, "made-meanwhile") is not None
            assert informer.alive() and informer.failing is None

        await eventually(relisted, timeout=20)
    finally:
        await informer.stop()


def config_map(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


async def test_health_endpoints_report_sync(kube: client.ApiClient, namespace: str) -> None:
    async with running_operator(kube, namespace) as operator:
        transport = httpx.ASGITransport(app=operator.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://operator") as http:
            assert (await http.get("/readyz")).json() == {"status": "ready"}
            assert (await http.get("/healthz")).status_code == 200
            metrics = (await http.get("/metrics")).text
            assert 'agentops_api_requests{verb="list"}' in metrics


def test_operator_settings_default_to_the_whole_cluster() -> None:
    assert OperatorSettings().namespaces is None
