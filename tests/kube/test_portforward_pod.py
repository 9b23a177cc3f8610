"""Port-forward through the real API server.

No kubelet runs in the test control plane, so no pod really runs: pods are made "Running and
Ready" by writing their status, which is all the pod resolution reads. For the data path a Node
is registered whose kubelet endpoint is tests/fakes/kubelet.py on loopback (TLS, the
kubelet's own path and query), so bytes do make the whole trip: client, API server (token,
TLS, upgrade proxy), the fake kubelet, a TCP echo server, and back.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client

from agentops_services.kube.forwarding import Backoff, ForwardState, ForwardSupervisor
from agentops_services.kube.podresolver import KubePodResolver, ResolveError, ServiceTarget
from agentops_services.kube.portforward import PodEndpoint, PortForward, PortForwardError
from agentops_services.kube.resources import POD, SERVICE, ResourceType
from agentops_services.kube.rest import Kube
from tests.conftest import eventually
from tests.fakes.kubelet import KUBELET_PATH, self_signed, serve_peer

pytestmark = pytest.mark.kube

LABELS = {"app": "web"}
NODE = ResourceType("", "v1", "nodes", "Node", namespaced=False)


def pod(name: str, node: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {"name": "web", "image": "web:1", "ports": [{"name": "http", "containerPort": 8080}]}
        ]
    }
    if node is not None:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": LABELS},
        "spec": spec,
    }


SERVICE_BODY = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": LABELS, "ports": [{"name": "api", "port": 80, "targetPort": "http"}]},
}


async def mark_ready(kube: Kube, namespace: str, name: str) -> None:
    """What the kubelet would report once the pod's containers pass their readiness probe."""
    status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    await kube.patch(POD, namespace, name, {"status": status}, subresource="status")


@pytest.fixture
def rest(kube: client.ApiClient) -> Kube:
    return Kube(kube)


async def test_a_service_resolves_to_its_ready_pod_and_follows_a_replacement(
    rest: Kube, namespace: str
) -> None:
    await rest.create(SERVICE, namespace, SERVICE_BODY)
    await rest.create(POD, namespace, pod("web-a"))
    resolver = KubePodResolver(rest, namespace, ServiceTarget("web", "api"))
    with pytest.raises(ResolveError, match=r"no ready pod for service web port api \(1 match"):
        await resolver.resolve()

    await mark_ready(rest, namespace, "web-a")
    first = await resolver.resolve()
    assert (first.pod, first.port) == ("web-a", 8080)

    gone = asyncio.create_task(resolver.gone(first))
    await rest.create(POD, namespace, pod("web-b"))
    await mark_ready(rest, namespace, "web-b")
    assert not gone.done()
    await rest.delete(POD, namespace, "web-a")
    # Deletion is graceful: the pod stays, terminating, until its kubelet (none here) confirms.
    assert await asyncio.wait_for(gone, 30) == "pod web-a is terminating"
    assert (await resolver.resolve()).pod == "web-b"


async def test_supervisor_reresolves_through_the_api_server(
    kube: client.ApiClient, rest: Kube, namespace: str
) -> None:
    await rest.create(SERVICE, namespace, SERVICE_BODY)
    await rest.create(POD, namespace, pod("web-a"))
    await mark_ready(rest, namespace, "web-a")
    resolver = KubePodResolver(rest, namespace, ServiceTarget("web", 80))
    states: list[ForwardState] = []
    backoff = Backoff(initial=0.05, cap=0.5)
    async with ForwardSupervisor(kube, resolver, backoff=backoff, on_state=states.append) as sup:
        await eventually(lambda: _on_pod(sup, "web-a"), timeout=30)
        await rest.delete(POD, namespace, "web-a")
        await eventually(lambda: _reconnecting(sup), timeout=30)
        await rest.create(POD, namespace, pod("web-b"))
        await mark_ready(rest, namespace, "web-b")
        await eventually(lambda: _on_pod(sup, "web-b"), timeout=30)
    assert states[0] == ForwardState.ready(sup.local_url, "web-a")
    assert any(s.reason == "pod web-a is terminating" for s in states)


async def test_the_api_server_answers_the_upgrade_with_a_clear_error(
    kube: client.ApiClient, rest: Kube, namespace: str
) -> None:
    """A missing pod is a 404; an unscheduled pod has no kubelet to hand the stream to; a pod
    bound to a node that does not exist says which node."""
    await rest.create(POD, namespace, pod("pending"))
    await rest.create(POD, namespace, pod("bound", node="node-without-kubelet"))
    errors: list[PortForwardError] = []
    async with PortForward(kube, None, on_error=errors.append, connect_timeout=20) as forward:
        for name in ("missing", "pending", "bound"):
            forward.endpoint = PodEndpoint(namespace, name, 8080)
            reader, writer = await asyncio.open_connection("127.0.0.1", forward.local_port)
            await asyncio.wait_for(reader.read(), 30)
            writer.close()
    missing, pending, bound = (str(error) for error in errors)
    assert all(error.connect for error in errors)
    assert f"pod {namespace}/missing port 8080" in missing and "HTTP 404" in missing
    assert 'pods "missing" not found' in missing
    assert "pending" in pending and "host" in pending
    assert "node-without-kubelet" in bound


async def register_node(kube: Kube, name: str, kubelet_port: int) -> None:
    """A Node whose kubelet the API server reaches at 127.0.0.1:kubelet_port."""
    await kube.create(NODE, None, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    status = {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
    }
    await kube.patch(NODE, None, name, {"status": status}, subresource="status")


async def test_bytes_round_trip_through_the_api_server_to_a_kubelet(
    kube: client.ApiClient, rest: Kube, namespace: str, tmp_path: Path
) -> None:
    node = f"node-{namespace}"
    tls = self_signed(tmp_path)
    async with serve_peer(
        port=8080, token=None, path=KUBELET_PATH, port_query="port", tls=tls
    ) as kubelet:
        kubelet.pods = {"web-a"}
        await register_node(rest, node, int(kubelet.url.rsplit(":", 1)[1]))
        try:
            await rest.create(POD, namespace, pod("web-a", node=node))
            payload = b"through the API server " * 5000
            async with PortForward(kube, PodEndpoint(namespace, "web-a", 8080)) as forward:
                reader, writer = await asyncio.open_connection("127.0.0.1", forward.local_port)
                writer.write(payload)
                assert await asyncio.wait_for(reader.readexactly(len(payload)), 30) == payload
                writer.close()

                kubelet.fail_next = "error forwarding port 8080 to pod web-a: connection refused"
                errors: list[PortForwardError] = []
                forward.on_error = errors.append
                reader, writer = await asyncio.open_connection("127.0.0.1", forward.local_port)
                await asyncio.wait_for(reader.read(), 30)
                writer.close()
                await eventually(lambda: _one(errors))
                assert not errors[0].connect and "connection refused" in str(errors[0])
        finally:
            await rest.delete(NODE, None, node)
    assert kubelet.sessions == ["web-a", "web-a"]
    assert kubelet.problems == []


async def _one(errors: list[PortForwardError]) -> None:
    assert len(errors) == 1, errors


async def _on_pod(supervisor: ForwardSupervisor, name: str) -> None:
    assert supervisor.state.phase == "ready" and supervisor.state.pod == name, supervisor.state


async def _reconnecting(supervisor: ForwardSupervisor) -> None:
    assert supervisor.state.phase == "reconnecting", supervisor.state
