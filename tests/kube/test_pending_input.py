"""An agent waiting for a person shows on its Agent object: a real `agentops runtime`, holding
only the Role the operator made for it, writes status.pendingInput when a gated tool asks
permission or the model asks a question, and removes it once answered; the operator's own status
writes leave it alone. The writer does not retry what RBAC refuses."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes_asyncio import client

from agentops_services.kube import resources as types
from agentops_services.kube.client import api_client
from agentops_services.kube.rest import Kube, KubeError
from agentops_services.operator import names
from agentops_services.runtime.status_writer import StatusWriter
from agentops_services.testing.controlplane import ControlPlane
from tests.conftest import eventually
from tests.kube.operator_harness import (
    agent,
    create,
    get,
    mark_pods_ready,
    running_operator,
    status_of,
    with_provider,
)
from tests.runtime_process import daemon, write_agent

pytestmark = pytest.mark.kube
CLEAR = {"status": {"pendingInput": None}}


async def runtime_role_for_tester(k: Kube, namespace: str, name: str) -> None:
    """Bind the Role the operator made for the agent's runtime to the limited test user."""
    role = names.agent_rbac_name(name)
    await eventually(lambda: get(k, types.ROLE, namespace, role), timeout=20)
    binding = {
        "metadata": {"name": "runtime-as-tester"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
        "subjects": [{"kind": "User", "name": ControlPlane.LIMITED_USER}],
    }
    await k.create(types.ROLE_BINDING, namespace, binding)


async def waiting_for(k: Kube, namespace: str, kind: str) -> dict[str, Any]:
    async def shown() -> dict[str, Any]:
        pending: dict[str, Any] = (await status_of(k, types.AGENT, namespace, "oncall"))[
            "pendingInput"
        ]
        assert pending["kind"] == kind, pending
        return pending

    return await eventually(shown, timeout=20)


async def test_the_runtime_shows_on_its_agent_that_it_waits_for_a_person(
    kube: client.ApiClient, namespace: str, control_plane: ControlPlane, tmp_path: Path
) -> None:
    k = Kube(kube)
    turns: list[dict[str, Any]] = [
        {"toolCalls": [{"name": "ls", "input": {"path": "."}}]},
        {"toolCalls": [{"name": "question", "input": {"questions": [{"question": "Which?"}]}}]},
        {"text": "Listed prod."},
    ]
    config = write_agent(
        tmp_path, turns, builtinTools=["ls"], permissionTools=["ls"], enableQuestionTool=True
    )
    env = {
        "AGENT_NAME": "oncall",
        "AGENT_NAMESPACE": namespace,
        "AGENT_KUBECONFIG": str(control_plane.limited_kubeconfig),
        "WORKSPACE": str(tmp_path),
    }
    async with (
        running_operator(kube, namespace),
        await api_client(control_plane.limited_kubeconfig) as limited,
    ):
        await with_provider(k, namespace)
        await create(k, namespace, agent("oncall"))
        await create(k, namespace, agent("other"))
        await runtime_role_for_tester(k, namespace, "oncall")
        as_runtime = Kube(limited)
        await eventually(  # the binding has reached the API server's authorizer
            lambda: as_runtime.patch(types.AGENT, namespace, "oncall", CLEAR, "status")
        )
        with pytest.raises(KubeError) as refused:
            await as_runtime.patch(types.AGENT, namespace, "other", CLEAR, "status")
        assert refused.value.status == 403  # its own Agent only
        async with daemon(config, tmp_path / "state", **env) as (runtime, _):
            prompt = asyncio.create_task(
                runtime.post("/prompt", json={"prompt": "list it"}, timeout=60)
            )
            asked = await waiting_for(k, namespace, "permission")
            assert set(asked) == {"kind", "since", "requestID", "summary"}  # no tool input
            assert asked["summary"] == "ls"
            agent_now = await get(k, types.AGENT, namespace, "oncall")
            managers = {m["manager"] for m in agent_now["metadata"]["managedFields"]}
            assert "agentops-runtime" in managers

            # The operator's status write (the daemon becomes Running) keeps the request.
            selector = "agents.agentops.io/agent=oncall"
            await eventually(lambda: mark_pods_ready(k, namespace, selector), timeout=20)

            async def running() -> None:
                status = await status_of(k, types.AGENT, namespace, "oncall")
                assert status["phase"] == "Running"
                assert status["pendingInput"] == asked

            await eventually(running, timeout=20)
            reply = await runtime.post(
                f"/permission/{asked['requestID']}/reply", json={"response": "once"}
            )
            reply.raise_for_status()
            question = await waiting_for(k, namespace, "question")
            assert question["summary"] == "Which?"
            reply = await runtime.post(
                f"/question/{question['requestID']}/reply", json={"answers": [["prod"]]}
            )
            reply.raise_for_status()
            answered: httpx.Response = await prompt
            assert answered.json()["output"] == "Listed prod."

            async def cleared() -> None:
                status = await status_of(k, types.AGENT, namespace, "oncall")
                assert "pendingInput" not in status, status

            await eventually(cleared, timeout=20)


async def test_a_write_rbac_refuses_is_dropped_at_once(
    namespace: str, control_plane: ControlPlane
) -> None:
    """Retrying a refusal would hold up the writes queued behind it (an AgentRun's end) for the
    whole backoff; the writer drops it and moves on."""
    writer = StatusWriter(str(control_plane.limited_kubeconfig))
    await writer.start()
    attempts: list[int] = []

    async def write(kube: Kube) -> None:
        attempts.append(len(attempts))
        await kube.patch(types.AGENT, namespace, "oncall", CLEAR, "status")

    writer.put(types.AGENT, "oncall", write)
    await writer.aclose()  # waits for the queue to drain (and would past a retry)
    assert attempts == [0]
