"""A Node whose kubelet is the fake one of tests/fakes/kubelet.py, so the API server's pod log
requests reach logs the test writes. No kubelet runs in the test control plane otherwise."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentops_services.kube.rest import Kube
from tests.fakes.kubelet import LogPeer, self_signed, serve_logs
from tests.kube.test_portforward_pod import NODE, register_node


@dataclass
class Node:
    name: str
    kubelet: LogPeer


@contextlib.asynccontextmanager
async def kubelet_node(rest: Kube, namespace: str, tmp_path: Path) -> AsyncIterator[Node]:
    """A Node for this test's pods (named after the namespace), deleted afterwards; the
    kubelet must have seen no protocol problem."""
    name = f"node-{namespace}"
    async with serve_logs(self_signed(tmp_path)) as kubelet:
        await register_node(rest, name, int(kubelet.url.rsplit(":", 1)[1]))
        try:
            yield Node(name, kubelet)
        finally:
            await rest.delete(NODE, None, name)
    assert kubelet.problems == []


def pod_on(
    node: str,
    name: str,
    containers: tuple[str, ...],
    labels: dict[str, str] | None = None,
    init_containers: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A pod already bound to `node` (there is no scheduler)."""
    spec: dict[str, Any] = {
        "nodeName": node,
        "containers": [{"name": c, "image": "x:1"} for c in containers],
    }
    if init_containers:
        spec["initContainers"] = [{"name": c, "image": "x:1"} for c in init_containers]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": spec,
    }
