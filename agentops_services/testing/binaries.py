"""The control-plane binaries: which versions, where they are cached, how they are built.

kube-apiserver, kube-controller-manager, etcd and helm are built from the Go module proxy by
small wrapper modules under `tools/testenv/` (a go.mod per tool, so their dependency graphs do
not constrain each other), into a cache directory outside the repository whose name carries the
versions: a version bump builds afresh, and nothing is rebuilt while the binaries are there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

KUBERNETES_VERSION = "1.36.3"
ETCD_VERSION = "3.6.16"
HELM_VERSION = "3.22.0"

BIN_DIR_ENV = "AGENTOPS_TESTENV_BIN"
"""Use binaries from this directory instead of the cache (e.g. ones built elsewhere)."""


@dataclass(frozen=True)
class GoBuild:
    """One binary and how the wrapper module builds it."""

    binary: str
    module_dir: str
    package: str
    ldflags: str = "-s -w"


_KUBE_LDFLAGS = (
    "-s -w"
    f" -X k8s.io/component-base/version.gitVersion=v{KUBERNETES_VERSION}"
    " -X k8s.io/component-base/version.gitMajor=1"
    f" -X k8s.io/component-base/version.gitMinor={KUBERNETES_VERSION.split('.')[1]}"
    " -X k8s.io/component-base/version.gitTreeState=clean"
)

BUILDS = (
    GoBuild("etcd", "etcd", "go.etcd.io/etcd/server/v3"),
    GoBuild("kube-apiserver", "kube", "k8s.io/kubernetes/cmd/kube-apiserver", _KUBE_LDFLAGS),
    GoBuild(
        "kube-controller-manager",
        "kube",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        _KUBE_LDFLAGS,
    ),
    GoBuild(
        "helm",
        "helm",
        "helm.sh/helm/v3/cmd/helm",
        f"-s -w -X helm.sh/helm/v3/internal/version.version=v{HELM_VERSION}",
    ),
)


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/agentops/testenv/<versions>/bin`."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tag = f"k8s-v{KUBERNETES_VERSION}_etcd-v{ETCD_VERSION}_helm-v{HELM_VERSION}"
    return base / "agentops" / "testenv" / tag / "bin"


def bin_dir() -> Path:
    override = os.environ.get(BIN_DIR_ENV)
    return Path(override) if override else cache_dir()


@dataclass(frozen=True)
class Binaries:
    """Paths of the control-plane binaries."""

    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    helm: Path

    @classmethod
    def in_dir(cls, directory: Path) -> Binaries:
        return cls(
            etcd=directory / "etcd",
            kube_apiserver=directory / "kube-apiserver",
            kube_controller_manager=directory / "kube-controller-manager",
            helm=directory / "helm",
        )

    def present(self) -> bool:
        return all(os.access(p, os.X_OK) for p in vars(self).values())


def find_binaries() -> Binaries | None:
    """The binaries, or None when any is missing."""
    binaries = Binaries.in_dir(bin_dir())
    return binaries if binaries.present() else None


def missing_reason() -> str | None:
    """Why the binaries are not there and cannot be built here, or None if they are or can."""
    if find_binaries() is not None:
        return None
    if shutil.which("go") is None:
        return f"no Go toolchain to build the control plane into {bin_dir()} (run `make testenv`)"
    return f"control-plane binaries not built yet in {bin_dir()} (run `make testenv`)"


def source_dir() -> Path:
    """The wrapper modules of a source checkout."""
    return Path(__file__).resolve().parents[2] / "tools" / "testenv"


def build(out: Path | None = None, log: TextIO = sys.stderr) -> Binaries:
    """Build every missing binary; a no-op when all are there."""
    target = out or bin_dir()
    source = source_dir()
    if not source.is_dir():
        raise RuntimeError(
            f"building the control plane needs a source checkout ({source} not found)"
        )
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("building the control plane needs the Go toolchain (`go` not on PATH)")
    target.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly"}
    started = time.monotonic()
    for step in BUILDS:
        destination = target / step.binary
        if os.access(destination, os.X_OK):
            continue
        print(f"testenv: building {step.binary} ({step.package}) ...", file=log, flush=True)
        began = time.monotonic()
        partial = destination.with_suffix(".partial")
        subprocess.run(
            [go, "build", "-trimpath", "-ldflags", step.ldflags, "-o", str(partial), step.package],
            cwd=source / step.module_dir,
            env=env,
            check=True,
        )
        partial.rename(destination)
        print(
            f"testenv: built {step.binary} in {time.monotonic() - began:.0f}s", file=log, flush=True
        )
    print(
        f"testenv: binaries ready in {target} ({time.monotonic() - started:.1f}s)",
        file=log,
        flush=True,
    )
    return Binaries.in_dir(target)
