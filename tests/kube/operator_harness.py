"""Running the operator in-process against the test control plane, plus small builders for
the resources the operator tests create. No kubelet runs here: where a test needs a pod or
Deployment to be ready, it patches that status itself and says so in its name."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes_asyncio import client

from agentops_services.kube import resources as types
from agentops_services.kube.resources import ResourceType
from agentops_services.kube.rest import Kube, Object
from agentops_services.operator.manager import Operator, OperatorSettings
from tests.conftest import eventually

API = "agents.agentops.io/v1alpha1"


@dataclass
class Clock:
    """A clock the test moves by hand (schedules, timeouts)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now


@contextlib.asynccontextmanager
async def running_operator(
    api: client.ApiClient, namespace: str, **overrides: Any
) -> AsyncIterator[Operator]:
    """An operator watching only `namespace`, started and synced; stopped afterwards."""
    clock = overrides.pop("clock", None)
    settings = OperatorSettings(namespaces=[namespace], workers=2, **overrides)
    operator = Operator(Kube(api), settings, clock) if clock else Operator(Kube(api), settings)
    await operator.start()
    try:
        await eventually(_synced(operator), timeout=30)
        yield operator
    finally:
        await operator.stop()


def _synced(operator: Operator) -> Callable[[], Any]:
    async def check() -> None:
        assert operator.synced()

    return check


def provider(name: str = "anthropic", secret: str = "llm-keys") -> Object:
    return {
        "apiVersion": API,
        "kind": "Provider",
        "metadata": {"name": name},
        "spec": {"type": "anthropic", "apiKeySecret": {"name": secret, "key": "API_KEY"}},
    }


def secret(name: str = "llm-keys", **data: str) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def agent(name: str, mode: str = "daemon", **spec: Any) -> Object:
    return {
        "apiVersion": API,
        "kind": "Agent",
        "metadata": {"name": name},
        "spec": {
            "mode": mode,
            "model": "anthropic/claude-sonnet-4-5",
            "providerRefs": [{"name": "anthropic"}],
            "builtinTools": ["read", "grep"],
            **spec,
        },
    }


def agent_run(name: str, agent_name: str, prompt: str = "do it") -> Object:
    return {
        "apiVersion": API,
        "kind": "AgentRun",
        "metadata": {"name": name},
        "spec": {"agentRef": agent_name, "prompt": prompt, "source": "console"},
    }


async def create(kube: Kube, namespace: str, body: Object) -> Object:
    kind = types.BY_KIND[body["kind"]]
    body = {**body, "metadata": {**body["metadata"], "namespace": namespace}}
    return await kube.create(kind, namespace, body)


async def get(kube: Kube, kind: ResourceType, namespace: str, name: str) -> Object:
    found = await kube.get(kind, namespace, name)
    assert found is not None, f"{kind.kind} {namespace}/{name} does not exist"
    return found


async def status_of(kube: Kube, kind: ResourceType, namespace: str, name: str) -> Object:
    found = await get(kube, kind, namespace, name)
    status: Object = found.get("status") or {}
    return status


def condition(status: Object, type_: str) -> Object:
    found: list[Object] = [c for c in status.get("conditions") or [] if c["type"] == type_]
    assert found, f"no {type_} condition in {status}"
    return found[0]


async def pods_of(kube: Kube, namespace: str, selector: str) -> list[Object]:
    listing = await kube.list(types.POD, namespace, label_selector=selector)
    pods: list[Object] = listing["items"]
    assert pods, f"no pods match {selector} yet"
    return pods


async def mark_pods_ready(kube: Kube, namespace: str, selector: str) -> None:
    """Simulate the kubelet: the matching pods run and are ready, so the ReplicaSet and
    Deployment controllers (which do run) count them."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for pod in await pods_of(kube, namespace, selector):
        containers = [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": now}},
            }
            for c in pod["spec"]["containers"]
        ]
        await kube.patch(
            types.POD,
            namespace,
            pod["metadata"]["name"],
            {
                "status": {
                    "phase": "Running",
                    "conditions": [
                        {"type": "Ready", "status": "True", "lastTransitionTime": now},
                        {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
                    ],
                    "containerStatuses": containers,
                }
            },
            subresource="status",
        )


async def with_provider(kube: Kube, namespace: str) -> None:
    """The `anthropic` Provider and its Secret, which the test agents use."""
    await create(kube, namespace, secret(API_KEY="x"))
    await create(kube, namespace, provider())


async def enforce_restricted(kube: Kube, namespace: str) -> None:
    """Make the namespace enforce PodSecurity `restricted`."""
    await kube.patch(
        types.NAMESPACE,
        None,
        namespace,
        {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
    )
