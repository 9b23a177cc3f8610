"""`agentops operator` as a real process: it serves /healthz, /readyz and /metrics, takes the
Lease, acts on the watched namespace, and on SIGTERM stops cleanly (exit 0), giving the Lease
up so a successor need not wait it out."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from kubernetes_asyncio import client

from agentops_services.kube import resources as types
from agentops_services.kube.rest import Kube
from agentops_services.testing.controlplane import ControlPlane, free_port
from tests.conftest import eventually
from tests.kube.operator_harness import create, get, provider, status_of
from tests.runtime_process import AGENTOPS

pytestmark = pytest.mark.kube


async def test_the_operator_process_serves_health_acts_and_stops_on_sigterm(
    kube: client.ApiClient, namespace: str, control_plane: ControlPlane, tmp_path: Path
) -> None:
    k = Kube(kube)
    port = free_port()
    env = {**os.environ, "WATCH_NAMESPACES": namespace, "POD_NAMESPACE": namespace}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    log = tmp_path / "operator.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *AGENTOPS, "operator", "--kubeconfig", str(control_plane.kubeconfig),
            "--health-probe-bind-address", f"127.0.0.1:{port}", "--leader-elect",
            env=env, stdout=output, stderr=output,
        )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

            async def ready() -> None:
                assert process.returncode is None, log.read_text()
                assert (await http.get("/readyz")).status_code == 200
                assert (await http.get("/healthz")).json()["status"] == "ok"

            await eventually(ready, timeout=30)
            await create(k, namespace, provider())

            async def acted() -> None:
                assert (await status_of(k, types.PROVIDER, namespace, "anthropic")).get("phase")

            await eventually(acted, timeout=20)
            lease = await get(k, types.LEASE, namespace, "agentops-operator")
            assert lease["spec"]["holderIdentity"]
            metrics = (await http.get("/metrics")).text
            assert "agentops_leader 1.0" in metrics
            assert 'agentops_reconcile_total{controller="provider",outcome="ok"}' in metrics
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0, log.read_text()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    lease = await get(k, types.LEASE, namespace, "agentops-operator")
    assert not lease["spec"].get("holderIdentity"), "the lease is given up on a clean stop"
    assert "Traceback" not in log.read_text()


def test_bad_flags_are_refused_with_a_clear_message() -> None:
    done = subprocess.run(
        [*AGENTOPS, "operator", "--health-probe-bind-address", "nowhere"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "invalid address 'nowhere': use e.g. :8081" in done.stderr
