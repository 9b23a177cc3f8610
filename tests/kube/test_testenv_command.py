"""`agentops testenv` by hand: KUBECONFIG on one line when ready, CRDs with --crds, a clean stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes_asyncio import client

from agentops_services.kube.client import api_client
from tests.conftest import REPO

pytestmark = pytest.mark.kube


@pytest.fixture
def testenv(request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Runs `agentops testenv <args>` and yields it with the kubeconfig it announced."""
    process = subprocess.Popen(
        [sys.executable, "-m", "agentops_services.cli.main", "testenv", *request.param],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        line = ""
        while not line and time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline().strip()
        assert line.startswith("KUBECONFIG="), (
            f"agentops testenv said {line!r} (exit {process.poll()})"
        )
        yield process, Path(line.removeprefix("KUBECONFIG="))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def interrupt(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    return process.communicate(timeout=5)[1]


@pytest.mark.parametrize("testenv", [["--crds"]], indirect=True)
async def test_crds_are_installed_and_everything_is_removed_on_stop(
    testenv: tuple[subprocess.Popen[str], Path],
) -> None:
    process, kubeconfig = testenv
    async with await api_client(kubeconfig) as api:
        crds = await client.ApiextensionsV1Api(api).list_custom_resource_definition()
    assert {c.metadata.name for c in crds.items} == {
        f"{plural}.agents.agentops.io"
        for plural in (
            "agents",
            "agentruns",
            "agenttools",
            "agentresources",
            "channels",
            "providers",
        )
    }
    assert "agentops testenv: stopping" in interrupt(process)
    assert not kubeconfig.parent.exists(), "the control plane's files are removed"


@pytest.mark.parametrize(
    "testenv", [["--kubeconfig", "/tmp/agentops-testenv-test.kubeconfig"]], indirect=True
)
async def test_kubeconfig_is_written_where_asked(
    testenv: tuple[subprocess.Popen[str], Path],
) -> None:
    process, kubeconfig = testenv
    assert kubeconfig == Path("/tmp/agentops-testenv-test.kubeconfig")
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    async with await api_client(kubeconfig) as api:
        namespaces = await client.CoreV1Api(api).list_namespace()
    assert "kube-system" in {n.metadata.name for n in namespaces.items}
    interrupt(process)
    kubeconfig.unlink()
