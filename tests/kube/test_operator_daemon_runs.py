"""Daemon AgentRuns end to end: the operator hands the run to a real `agentops runtime` on
loopback (`POST /runs`), the runtime executes it with the scripted provider and writes the
AgentRun's status itself; the operator enforces the timeout. The daemon's Deployment is made
ready by simulating its pod (no kubelet here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client

from agentops_services.kube import resources as types
from agentops_services.kube.rest import Kube, KubeError
from agentops_services.operator.apply import write_status
from agentops_services.testing.controlplane import ControlPlane
from tests.conftest import eventually
from tests.kube.operator_harness import (
    agent,
    agent_run,
    condition,
    create,
    mark_pods_ready,
    running_operator,
    status_of,
    with_provider,
)
from tests.runtime_process import daemon, write_agent

pytestmark = pytest.mark.kube


async def running_daemon_agent(k: Kube, namespace: str, name: str, **spec: Any) -> None:
    await with_provider(k, namespace)
    await create(k, namespace, agent(name, **spec))
    await eventually(lambda: mark_pods_ready(k, namespace, f"agents.agentops.io/agent={name}"), 20)

    async def running() -> None:
        assert (await status_of(k, types.AGENT, namespace, name))["phase"] == "Running"

    await eventually(running, timeout=20)


async def test_a_daemon_run_is_executed_by_the_runtime_which_writes_its_status(
    kube: client.ApiClient, namespace: str, control_plane: ControlPlane, tmp_path: Path
) -> None:
    k = Kube(kube)
    turns = [{"text": "Three pods restarted.", "usage": {"inputTokens": 30, "outputTokens": 5}}]
    config = write_agent(tmp_path, turns)
    env = {"AGENT_NAMESPACE": namespace, "AGENT_KUBECONFIG": str(control_plane.kubeconfig)}
    async with (
        daemon(config, tmp_path / "state", **env) as (runtime, _),
        running_operator(kube, namespace, runtime_url=lambda _ns, _a: str(runtime.base_url)),
    ):
        await running_daemon_agent(k, namespace, "oncall")
        await create(k, namespace, agent_run("restart-check", "oncall", prompt="what restarted?"))

        async def succeeded() -> None:
            status = await status_of(k, types.AGENT_RUN, namespace, "restart-check")
            assert status["phase"] == "Succeeded", status
            assert status["output"] == "Three pods restarted."
            assert status["tokensUsed"] == 35 and status["mode"] == "daemon"
            assert condition(status, "Complete")["reason"] == "Succeeded"

        await eventually(succeeded, timeout=30)
        seen = (await runtime.get("/runs/restart-check")).json()
        assert seen["phase"] == "Succeeded"


async def test_a_daemon_run_past_its_timeout_is_aborted_and_failed(
    kube: client.ApiClient, namespace: str, control_plane: ControlPlane, tmp_path: Path
) -> None:
    k = Kube(kube)
    config = write_agent(tmp_path, [{"text": "Thinking", "stall": True}])
    env = {"AGENT_NAMESPACE": namespace, "AGENT_KUBECONFIG": str(control_plane.kubeconfig)}
    async with (
        daemon(config, tmp_path / "state", **env) as (runtime, _),
        running_operator(kube, namespace, runtime_url=lambda _ns, _a: str(runtime.base_url)),
    ):
        await running_daemon_agent(k, namespace, "oncall", timeout="2s")
        await create(k, namespace, agent_run("slow", "oncall"))

        async def timed_out() -> None:
            status = await status_of(k, types.AGENT_RUN, namespace, "slow")
            assert status["phase"] == "Failed", status
            assert status["output"].startswith("Run timed out after")

        await eventually(timed_out, timeout=30)

        async def idle() -> None:
            assert (await runtime.get("/status")).json()["busy"] is False

        await eventually(idle, timeout=10)  # the operator's abort really stopped the turn


async def test_a_guarded_status_write_loses_to_a_newer_one(
    kube: client.ApiClient, namespace: str
) -> None:
    """The operator marks a daemon run Running from what it saw; when the runtime has ended
    the run in between (a fast run), that write must not land."""
    k = Kube(kube)
    seen = await create(k, namespace, agent_run("quick", "oncall"))
    ended = {"status": {"phase": "Succeeded", "output": "done"}}
    await k.patch(types.AGENT_RUN, namespace, "quick", ended, subresource="status")
    with pytest.raises(KubeError) as refused:
        await write_status(k, types.AGENT_RUN, seen, {"phase": "Running"}, guarded=True)
    assert refused.value.conflict
    assert (await status_of(k, types.AGENT_RUN, namespace, "quick"))["phase"] == "Succeeded"
    fresh = await k.get(types.AGENT_RUN, namespace, "quick")
    assert fresh is not None
    assert await write_status(k, types.AGENT_RUN, fresh, {"toolCalls": 2}, guarded=True)
