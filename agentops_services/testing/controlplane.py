"""A real Kubernetes control plane on loopback, for tests: etcd, kube-apiserver and
kube-controller-manager as subprocesses (what envtest does for Go, plus the controllers).

    with ControlPlane() as plane:
        ...  # plane.kubeconfig, plane.server, plane.admin_token, plane.limited_token

Authentication is a static token file with two identities: `admin` (system:masters) and
`tester`, who holds no RBAC grants, for authorization tests. Authorization is Node,RBAC and the
default admission plugins run, PodSecurity included. The controller manager runs the garbage
collector and the namespace, deployment, replicaset, job, serviceaccount and token controllers.
No kubelet or scheduler runs: pods are stored, never started.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TextIO

import httpx
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agentops_services.testing.binaries import Binaries, find_binaries, missing_reason

CONTROLLERS = (
    "garbage-collector-controller",
    "namespace-controller",
    "deployment-controller",
    "replicaset-controller",
    "job-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
)
LOG_TAIL_LINES = 40


class ControlPlaneError(RuntimeError):
    """The control plane did not start; the message carries each component's log tail."""


@dataclass
class _Component:
    name: str
    args: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl+C reaches us, and we stop the plane in order
            )

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, grace: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=grace)

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:]) or "(empty log)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _scratch_root() -> str | None:
    """tmpfs when there is one: etcd and the apiserver write a lot and fsync nothing."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@dataclass
class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager on 127.0.0.1."""

    binaries: Binaries | None = None
    start_timeout: float = 60.0
    log: TextIO = sys.stderr
    workdir: Path = field(init=False)
    server: str = field(init=False, default="")
    etcd_url: str = field(init=False, default="")
    admin_token: str = field(init=False, default_factory=lambda: secrets.token_hex(16))
    limited_token: str = field(init=False, default_factory=lambda: secrets.token_hex(16))
    _components: list[_Component] = field(init=False, default_factory=list)

    LIMITED_USER = "tester"

    @property
    def kubeconfig(self) -> Path:
        """Kubeconfig of the admin identity."""
        return self.workdir / "kubeconfig"

    @property
    def limited_kubeconfig(self) -> Path:
        """Kubeconfig of `tester`, who has no RBAC grants."""
        return self.workdir / "kubeconfig-tester"

    @property
    def ca_file(self) -> Path:
        """The API server's self-signed serving certificate and its CA."""
        return self.workdir / "certs" / "apiserver.crt"

    # --- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        binaries = self.binaries or find_binaries()
        if binaries is None:
            raise ControlPlaneError(missing_reason() or "control-plane binaries not found")
        self.workdir = Path(tempfile.mkdtemp(prefix="agentops-testenv-", dir=_scratch_root()))
        started = time.monotonic()
        try:
            self._write_credentials()
            self._start_etcd(binaries)
            self._start_apiserver(binaries)
            self._write_kubeconfigs()
            self._start_controller_manager(binaries)
        except ControlPlaneError:
            self.stop()
            raise
        except Exception as exc:
            report = self._report()
            self.stop()
            raise ControlPlaneError(f"control plane failed to start: {exc}\n{report}") from exc
        except BaseException:
            self.stop()
            raise
        print(
            f"testenv: control plane ready at {self.server} in {time.monotonic() - started:.1f}s",
            file=self.log,
            flush=True,
        )
        return self

    def stop(self) -> None:
        """Stop every component (controllers first, etcd last) and remove the files."""
        for component in reversed(self._components):
            component.stop()
        self._components.clear()
        if getattr(self, "workdir", None) and self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)

    # --- steps -------------------------------------------------------------------------

    def _write_credentials(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (self.workdir / "sa.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (self.workdir / "sa.pub").write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(
            f'{self.admin_token},admin,admin-uid,"system:masters"\n'
            f"{self.limited_token},{self.LIMITED_USER},tester-uid\n"
        )
        tokens.chmod(0o600)

    def _component(self, name: str, args: list[str]) -> _Component:
        component = _Component(name, args, self.workdir / f"{name}.log")
        self._components.append(component)
        component.start()
        return component

    def _start_etcd(self, binaries: Binaries) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        etcd = self._component(
            "etcd",
            [
                str(binaries.etcd),
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=default=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        self._wait(etcd, "etcd health", lambda: _ok(f"{self.etcd_url}/health", verify=False))

    def _start_apiserver(self, binaries: Binaries) -> None:
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        w = self.workdir
        apiserver = self._component(
            "kube-apiserver",
            [
                str(binaries.kube_apiserver),
                f"--etcd-servers={self.etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={w / 'certs'}",
                f"--token-auth-file={w / 'tokens.csv'}",
                "--authorization-mode=Node,RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={w / 'sa.pub'}",
                f"--service-account-signing-key-file={w / 'sa.key'}",
                "--service-cluster-ip-range=10.0.0.0/16",  # thousands of Services (benchmarks)
                "--allow-privileged=true",
                "--profiling=false",
                # ConfigMaps bypass the watch cache, so a test can expire a ConfigMap watch
                # (410 Gone) by compacting etcd, as a long-running cluster does on its own.
                "--watch-cache-sizes=configmaps#0",
            ],
        )
        self._wait(apiserver, "serving certificate", self.ca_file.exists)
        self._wait(apiserver, "kube-apiserver /readyz", lambda: self._api_ok("/readyz"))

    def _start_controller_manager(self, binaries: Binaries) -> None:
        w = self.workdir
        manager = self._component(
            "kube-controller-manager",
            [
                str(binaries.kube_controller_manager),
                f"--kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                f"--root-ca-file={self.ca_file}",
                f"--service-account-private-key-file={w / 'sa.key'}",
                "--use-service-account-credentials=false",
                f"--controllers={','.join(CONTROLLERS)}",
                "--concurrent-gc-syncs=5",
            ],
        )
        # The serviceaccount controller creates `default` in every namespace once it runs.
        self._wait(
            manager,
            "controllers (default ServiceAccount)",
            lambda: self._api_ok("/api/v1/namespaces/default/serviceaccounts/default"),
        )

    def _write_kubeconfigs(self) -> None:
        ca = base64.b64encode(self.ca_file.read_bytes()).decode()
        for path, user, token in (
            (self.kubeconfig, "admin", self.admin_token),
            (self.limited_kubeconfig, self.LIMITED_USER, self.limited_token),
        ):
            config = {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "agentops-testenv",
                        "cluster": {"server": self.server, "certificate-authority-data": ca},
                    }
                ],
                "users": [{"name": user, "user": {"token": token}}],
                "contexts": [
                    {
                        "name": f"{user}@agentops-testenv",
                        "context": {"cluster": "agentops-testenv", "user": user},
                    }
                ],
                "current-context": f"{user}@agentops-testenv",
            }
            path.write_text(yaml.safe_dump(config, sort_keys=False))
            path.chmod(0o600)

    # --- waiting -----------------------------------------------------------------------

    def _api_ok(self, path: str) -> bool:
        return _ok(
            f"{self.server}{path}",
            verify=ssl.create_default_context(cafile=str(self.ca_file)),
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )

    def _wait(self, component: _Component, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not ready():
            code = component.exited()
            if code is not None:
                raise ControlPlaneError(
                    f"{component.name} exited with {code} while waiting for {what}\n"
                    + self._report()
                )
            if time.monotonic() > deadline:
                raise ControlPlaneError(
                    f"timed out after {self.start_timeout:.0f}s waiting for {what}\n"
                    + self._report()
                )
            time.sleep(0.1)

    def _report(self) -> str:
        return "\n".join(
            f"--- {c.name} (last {LOG_TAIL_LINES} lines of {c.log_path}) ---\n{c.tail()}"
            for c in self._components
        )


def _ok(url: str, verify: bool | ssl.SSLContext, headers: dict[str, str] | None = None) -> bool:
    with contextlib.suppress(httpx.HTTPError, OSError):
        response = httpx.get(url, verify=verify, headers=headers, timeout=2.0)
        return response.status_code == 200
    return False
