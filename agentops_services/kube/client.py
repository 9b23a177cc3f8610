"""API clients from a kubeconfig, with timeouts on every request."""

from __future__ import annotations

import json
import os
from pathlib import Path

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config.config_exception import ConfigException

REQUEST_TIMEOUT = 30.0
"""Seconds a single non-watch request may take before it fails."""


class KubeconfigError(Exception):
    """The kubeconfig cannot be used; the message names the file and what is wrong."""


def _default_kubeconfig() -> Path:
    return Path(os.environ.get("KUBECONFIG", "~/.kube/config")).expanduser()


def _in_pod_without_kubeconfig() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not _default_kubeconfig().exists()


async def api_client(
    kubeconfig: Path | str | None = None, context: str | None = None
) -> client.ApiClient:
    """An ApiClient for the kubeconfig (KUBECONFIG or ~/.kube/config when None; inside a pod
    with neither, the pod's service account); close it when done. KubeconfigError, naming
    the file, when it is missing or unusable."""
    if kubeconfig is None and _in_pod_without_kubeconfig():
        config.load_incluster_config()
        return client.ApiClient()
    path = Path(kubeconfig) if kubeconfig else _default_kubeconfig()
    if not _exists(path):  # the library would say "Expected key current-context"
        raise KubeconfigError(f"{path}: kubeconfig not found")
    try:
        api: client.ApiClient = await config.new_client_from_config(
            config_file=str(path), context=context, persist_config=False
        )
    except (ConfigException, OSError, ValueError) as exc:
        raise KubeconfigError(f"{path}: {exc}") from None
    return api


def _exists(path: Path) -> bool:
    return path.exists()


def status_message(error: ApiException) -> str:
    """The API server's own message for a failed request (its Status.message), else the reason."""
    try:
        status = json.loads(error.body or b"{}")
    except ValueError:
        status = {}
    message = status.get("message") if isinstance(status, dict) else None
    return str(message or error.reason or f"HTTP {error.status}")
