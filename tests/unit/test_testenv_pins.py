"""The wrapper Go modules pin exactly the versions the harness names its cache after."""

from __future__ import annotations

import re

import pytest

from agentops_services.testing import binaries
from tests.conftest import REPO

TOOLS = REPO / "tools" / "testenv"


def test_kubernetes_pins() -> None:
    gomod = (TOOLS / "kube" / "go.mod").read_text()
    assert f"k8s.io/kubernetes v{binaries.KUBERNETES_VERSION}" in gomod
    staging = "0." + binaries.KUBERNETES_VERSION.split(".", 1)[1]
    replaces = re.findall(r"^\tk8s.io/(\S+) => k8s.io/\1 v(\S+)$", gomod, re.MULTILINE)
    assert len(replaces) == 33
    assert {version for _, version in replaces} == {staging}


def test_etcd_and_helm_pins() -> None:
    assert (
        f"go.etcd.io/etcd/server/v3 v{binaries.ETCD_VERSION}"
        in (TOOLS / "etcd" / "go.mod").read_text()
    )
    assert f"helm.sh/helm/v3 v{binaries.HELM_VERSION}" in (TOOLS / "helm" / "go.mod").read_text()


def test_every_build_has_its_module() -> None:
    for build in binaries.BUILDS:
        gomod = (TOOLS / build.module_dir / "go.mod").read_text()
        assert (TOOLS / build.module_dir / "go.sum").exists()
        assert f"tool {build.package}" in gomod or f"\t{build.package}\n" in gomod


def test_cache_dir_is_versioned_and_outside_the_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(binaries.BIN_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/x")
    path = binaries.bin_dir()
    assert str(path).startswith("/var/cache/x/agentops/testenv/")
    assert f"k8s-v{binaries.KUBERNETES_VERSION}" in str(
        path
    ) and f"etcd-v{binaries.ETCD_VERSION}" in str(path)
