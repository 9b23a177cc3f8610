"""The operator against the real control plane: children, status, references, garbage
collection, features turned off, restarts (see operator_harness for what is simulated)."""

from __future__ import annotations

import pytest
from kubernetes_asyncio import client

from agentops_services.kube import resources as types
from agentops_services.kube.rest import Kube
from agentops_services.operator.names import FIELD_MANAGER, L_OWNER
from tests.conftest import eventually
from tests.kube.operator_harness import (
    agent,
    condition,
    create,
    enforce_restricted,
    get,
    mark_pods_ready,
    provider,
    running_operator,
    secret,
    status_of,
    with_provider,
)

pytestmark = pytest.mark.kube

DAEMON_CHILDREN = [
    (types.CONFIG_MAP, "reviewer-config"),
    (types.SERVICE_ACCOUNT, "reviewer-agent"),
    (types.ROLE, "reviewer-agent"),
    (types.ROLE_BINDING, "reviewer-agent"),
    (types.DEPLOYMENT, "reviewer"),
    (types.SERVICE, "reviewer"),
]


async def test_provider_waits_for_its_secret_and_counts_its_agents(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        await create(k, namespace, provider())

        async def secret_missing() -> None:
            status = await status_of(k, types.PROVIDER, namespace, "anthropic")
            assert status["phase"] == "Failed"
            assert condition(status, "SecretReady")["reason"] == "SecretNotFound"
            assert condition(status, "Ready")["status"] == "False"

        await eventually(secret_missing)
        await create(k, namespace, secret(API_KEY="sk-very-secret"))
        await create(k, namespace, agent("reviewer"))

        async def ready() -> None:
            status = await status_of(k, types.PROVIDER, namespace, "anthropic")
            assert status["phase"] == "Ready", status
            assert status["boundAgents"] == 1
            generation = (await get(k, types.PROVIDER, namespace, "anthropic"))["metadata"][
                "generation"
            ]
            assert condition(status, "Ready")["observedGeneration"] == generation
            assert "sk-very-secret" not in str(status)

        await eventually(ready)


async def test_a_daemon_agent_gets_its_children_and_runs_once_its_simulated_pod_is_ready(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        await with_provider(k, namespace)
        created = await create(k, namespace, agent("reviewer"))

        async def children() -> None:
            for kind, name in DAEMON_CHILDREN:
                child = await get(k, kind, namespace, name)
                owners = child["metadata"]["ownerReferences"]
                assert owners == [
                    {
                        "apiVersion": "agents.agentops.io/v1alpha1",
                        "kind": "Agent",
                        "name": "reviewer",
                        "uid": created["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ]
                assert child["metadata"]["labels"][L_OWNER] == "reviewer"
                managers = {m["manager"] for m in child["metadata"]["managedFields"]}
                assert FIELD_MANAGER in managers

        await eventually(children, timeout=20)
        status = await status_of(k, types.AGENT, namespace, "reviewer")
        assert status["phase"] == "Pending"
        assert condition(status, "Accepted")["status"] == "True"
        assert status["serviceURL"] == f"http://reviewer.{namespace}.svc:4096"

        selector = "agents.agentops.io/agent=reviewer"
        await eventually(lambda: mark_pods_ready(k, namespace, selector), timeout=20)

        async def running() -> None:
            status = await status_of(k, types.AGENT, namespace, "reviewer")
            assert status["phase"] == "Running"
            assert condition(status, "Ready")["status"] == "True"

        await eventually(running)


async def test_an_agent_waits_for_a_missing_provider_and_goes_on_when_it_appears(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        await create(k, namespace, agent("reviewer"))

        async def waiting() -> None:
            status = await status_of(k, types.AGENT, namespace, "reviewer")
            accepted = condition(status, "Accepted")
            assert accepted["status"] == "False"
            assert accepted["message"] == f'Provider "anthropic" not found in namespace {namespace}'

        await eventually(waiting)
        assert await k.get(types.DEPLOYMENT, namespace, "reviewer") is None
        await with_provider(k, namespace)
        await eventually(lambda: get(k, types.DEPLOYMENT, namespace, "reviewer"), timeout=20)


async def test_turning_a_feature_off_removes_its_children(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        await with_provider(k, namespace)
        await create(k, namespace, agent("reviewer", networkPolicy={"enabled": True}))
        await eventually(lambda: get(k, types.NETWORK_POLICY, namespace, "reviewer-netpol"), 20)
        await k.patch(
            types.AGENT, namespace, "reviewer", {"spec": {"networkPolicy": {"enabled": False}}}
        )

        async def removed() -> None:
            assert await k.get(types.NETWORK_POLICY, namespace, "reviewer-netpol") is None

        await eventually(removed, timeout=20)
        # daemon -> task: the Deployment and Service go, the config stays.
        await k.patch(types.AGENT, namespace, "reviewer", {"spec": {"mode": "task"}})

        async def task_only() -> None:
            assert await k.get(types.DEPLOYMENT, namespace, "reviewer") is None
            assert await k.get(types.SERVICE, namespace, "reviewer") is None
            await get(k, types.CONFIG_MAP, namespace, "reviewer-config")
            status = await status_of(k, types.AGENT, namespace, "reviewer")
            assert status["phase"] == "Ready"

        await eventually(task_only, timeout=20)


async def test_every_operator_built_pod_passes_podsecurity_restricted(
    kube: client.ApiClient, namespace: str
) -> None:
    """The agent's pod template, server-side dry-run as a Pod in a namespace that enforces
    the restricted level."""
    k = Kube(kube)
    await enforce_restricted(k, namespace)
    async with running_operator(kube, namespace):
        await with_provider(k, namespace)
        await create(
            k,
            namespace,
            agent(
                "reviewer",
                storage={"size": "1Gi"},
                security={"container": {"privileged": True}, "pod": {"runAsUser": 0}},
            ),
        )
        deployment = await eventually(
            lambda: get(k, types.DEPLOYMENT, namespace, "reviewer"), timeout=20
        )
    template = deployment["spec"]["template"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "dry-run", "namespace": namespace},
        "spec": template["spec"],
    }
    await k.create(types.POD, namespace, pod, dry_run=True)  # raises on a PodSecurity violation
    status = await status_of(k, types.AGENT, namespace, "reviewer")
    violations = condition(status, "SecurityPolicyViolations")
    assert violations["status"] == "True"
    assert "privileged=true" in violations["message"] and "runAsUser=0" in violations["message"]


async def test_a_restarted_operator_converges_without_duplicates_or_writes(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace) as first:
        await with_provider(k, namespace)
        await create(k, namespace, agent("reviewer"))
        await eventually(lambda: get(k, types.SERVICE, namespace, "reviewer"), timeout=20)
        await eventually(lambda: _idle(first), timeout=20)
    # generation, not resourceVersion: the Deployment controller keeps writing its status.
    generations = {
        (kind.kind, name): (await get(k, kind, namespace, name))["metadata"].get("generation")
        for kind, name in DAEMON_CHILDREN
    }
    async with running_operator(kube, namespace) as again:
        await eventually(lambda: _idle(again), timeout=20)
        writes = {v: n for v, n in again.kube.requests.items() if v not in ("list", "watch")}
    for kind, name in DAEMON_CHILDREN:
        child = await get(k, kind, namespace, name)
        assert child["metadata"].get("generation") == generations[(kind.kind, name)], name
    listing = await k.list(types.DEPLOYMENT, namespace)
    assert [d["metadata"]["name"] for d in listing["items"]] == ["reviewer"]
    assert writes == {}, "a converged world needs no requests"


async def _idle(operator: object) -> None:
    from agentops_services.operator.manager import Operator  # noqa: PLC0415

    assert isinstance(operator, Operator)
    assert all(c.queue.idle for c in operator.controllers.values())
