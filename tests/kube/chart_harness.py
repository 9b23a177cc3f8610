"""The Helm chart under test: helm (built by testenv) run as a subprocess, renders parsed into
objects, per-test release names and namespaces, and the value sets the tests install."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes_asyncio import client

from agentops_services.testing.binaries import KUBERNETES_VERSION, find_binaries
from tests.conftest import REPO

CHART = REPO / "charts" / "agentops"
HELM_TIMEOUT = 120.0
Object = dict[str, Any]


def _run_helm(
    args: tuple[str, ...], kubeconfig: Path | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    binaries = find_binaries()
    assert binaries is not None, "helm is not built (make testenv)"
    command = [str(binaries.helm), *args]
    if kubeconfig is not None:
        command += ["--kubeconfig", str(kubeconfig)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def helm(*args: str, kubeconfig: Path | None = None, timeout: float = HELM_TIMEOUT) -> str:
    """Run helm; its stdout, or AssertionError with its stderr."""
    done = _run_helm(args, kubeconfig, timeout)
    assert done.returncode == 0, f"helm {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def helm_refusal(*args: str) -> str:
    """Run helm expecting it to fail; its stderr."""
    done = _run_helm(args, None, HELM_TIMEOUT)
    assert done.returncode != 0, f"helm {' '.join(args)} succeeded"
    return done.stderr


@dataclass(frozen=True)
class Release:
    """A release name and the namespaces it uses, unique per test (the control plane is shared
    by the whole run, and cluster-scoped objects carry the release name)."""

    name: str
    namespace: str
    agent_namespaces: tuple[str, ...]

    @classmethod
    def fresh(cls, agent_namespaces: int = 1) -> Release:
        tag = secrets.token_hex(3)
        agents = tuple(f"t-agents{i or ''}-{tag}" for i in range(agent_namespaces))
        return cls(f"agentops-{tag}", f"t-system-{tag}", agents)

    @property
    def operator_user(self) -> str:
        """The operator's ServiceAccount as the API server names it."""
        return f"system:serviceaccount:{self.namespace}:{self.name}-operator"

    def values(self, extra: Mapping[str, Any] | None = None) -> Object:
        return {"agentNamespaces": list(self.agent_namespaces), **(extra or {})}

    def helm(
        self,
        verb: str,
        kubeconfig: Path,
        *extra: str,
        chart: Path | None = None,
        values: Mapping[str, Any] | None = None,
        directory: Path | None = None,
    ) -> str:
        """`helm VERB NAME [CHART] --namespace NS [--values FILE] EXTRA...` on this release:
        install, upgrade, uninstall. Its output (an install's notes)."""
        args = [verb, self.name, *([str(chart)] if chart else []), "--namespace", self.namespace]
        if values is not None:
            assert directory is not None, "values are passed as a file in `directory`"
            args += values_args(values, directory)
        return helm(*args, *extra, kubeconfig=kubeconfig)


def values_args(values: Mapping[str, Any], directory: Path) -> list[str]:
    """helm arguments passing `values` as a file."""
    path = directory / f"values-{secrets.token_hex(3)}.yaml"
    path.write_text(json.dumps(values))
    return ["--values", str(path)]


def render(
    release: Release, values: Mapping[str, Any], directory: Path, chart: Path = CHART
) -> list[Object]:
    """`helm template` of the chart for this release: every object, in order."""
    out = helm(
        "template",
        release.name,
        str(chart),
        "--namespace",
        release.namespace,
        "--kube-version",
        KUBERNETES_VERSION,
        *values_args(values, directory),
    )
    return [doc for doc in yaml.safe_load_all(out) if doc]


def by_kind(objects: Sequence[Object], kind: str) -> dict[str, Object]:
    """Objects of one kind by `namespace/name` (cluster-scoped: `name`)."""
    found: dict[str, Object] = {}
    for obj in objects:
        if obj["kind"] == kind:
            meta = obj["metadata"]
            key = f"{meta['namespace']}/{meta['name']}" if "namespace" in meta else meta["name"]
            found[key] = obj
    return found


def all_features(release: Release) -> Object:
    """Values that switch every optional part of the chart on (namespaced RBAC: the cluster-wide
    variant is its own set)."""
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    return release.values(
        {
            "imagePullSecrets": [{"name": "registry"}],
            "operator": {
                "replicas": 2,
                "leaderElection": True,
                "workers": 4,
                "healthPort": 8081,
                "podAnnotations": {"example.com/team": "platform"},
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [{"key": "platform", "operator": "Exists"}],
                "extraArgs": ["--workers=4"],
                "extraEnv": [{"name": "LOG_LEVEL", "value": "debug"}],
            },
            "memory": {
                "enabled": True,
                "serviceName": "agentops-memory",
                "port": 7437,
                "dedupWindow": "10m",
                "persistence": {"enabled": True, "size": "2Gi", "storageClass": "fast"},
            },
            "tracing": {
                "mode": "tempo",
                "tempo": {"retention": "24h", "persistence": {"enabled": True, "size": "5Gi"}},
            },
            "console": {"users": ["alice"], "groups": ["sre"]},
            "networkPolicy": {
                "enabled": True,
                "tempoQueryFrom": [peer],
                "memoryFrom": [peer],
                "metricsFrom": [peer],
            },
        }
    )


def cluster_wide(release: Release) -> Object:
    """Cluster-wide RBAC with an external Tempo."""
    return release.values(
        {
            "rbac": {"clusterWide": True},
            "tracing": {
                "mode": "external",
                "external": {
                    "otlpEndpoint": "http://tempo.observability.svc:4318",
                    "queryService": "observability/tempo:3200",
                },
            },
        }
    )


def impersonating(api: client.ApiClient, user: str) -> client.ApiClient:
    """A copy of an admin client that acts as `user` (the API server adds a service account's
    groups itself)."""
    copy = client.ApiClient(api.configuration)
    copy.set_default_header("Impersonate-User", user)
    return copy
