"""Shared test wiring: repository paths and the real Kubernetes control plane.

Tests marked `kube` run against one control plane per test run (etcd, kube-apiserver and
kube-controller-manager built from Go modules), with crds/ installed once and a fresh
namespace per test. Without the binaries a developer run skips them with one loud line; with
CI=true their absence fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from kubernetes_asyncio import client
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentops_services.api.crd import all_crds
from agentops_services.kube.client import api_client
from agentops_services.kube.crds import apply_crds
from agentops_services.telemetry import setup_tracing
from agentops_services.testing.binaries import missing_reason
from agentops_services.testing.controlplane import ControlPlane

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
INVALID_SAMPLES = SAMPLES / "invalid"

_IN_CI = os.environ.get("CI", "").lower() == "true"

# One tracer provider for the whole run: services under test emit real spans, kept in memory.
SPANS = InMemorySpanExporter()
setup_tracing("agentops-tests", processor=SimpleSpanProcessor(SPANS))


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """The spans finished during this test."""
    SPANS.clear()
    return SPANS


T = TypeVar("T")


async def eventually(
    attempt: Callable[[], Awaitable[T]], timeout: float = 10.0, interval: float = 0.05
) -> T:
    """The first successful result of `attempt`, retried until `timeout`; the last error after."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await attempt()
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(interval)


def pytest_report_header(config: pytest.Config) -> str | None:
    reason = missing_reason()
    if reason is None:
        return None
    if _IN_CI:
        return f"!!! kube tests cannot run: {reason} (CI=true: this fails the run)"
    return f"!!! SKIPPING every kube test: {reason}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing_reason()
    if reason is None or _IN_CI:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "kube" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """The run's control plane, with crds/ installed and Established."""
    with ControlPlane() as plane:
        asyncio.run(install_crds(plane.kubeconfig))
        yield plane


async def install_crds(kubeconfig: Path) -> None:
    """Install crds/ and wait until they are Established (tools/screenshots.py does it too)."""
    async with await api_client(kubeconfig) as api:
        await apply_crds(api, all_crds().values())


@pytest.fixture
async def kube(control_plane: ControlPlane) -> AsyncIterator[client.ApiClient]:
    """An admin ApiClient for this test."""
    async with await api_client(control_plane.kubeconfig) as api:
        yield api


@contextlib.asynccontextmanager
async def fresh_namespace(kube: client.ApiClient, prefix: str = "t-") -> AsyncIterator[str]:
    """A new namespace named `prefix` + random, deleted afterwards (the namespace controller
    empties it)."""
    core = client.CoreV1Api(kube)
    created = await core.create_namespace({"metadata": {"generateName": prefix}})
    name: str = created.metadata.name
    yield name
    await core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture
async def namespace(kube: client.ApiClient) -> AsyncIterator[str]:
    """A fresh namespace for this test, deleted afterwards."""
    async with fresh_namespace(kube) as name:
        yield name
