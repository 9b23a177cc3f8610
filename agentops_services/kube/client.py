"""API clients from a kubeconfig, with timeouts on every request."""

from __future__ import annotations

import json
import os
from pathlib import Path

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

REQUEST_TIMEOUT = 30.0
"""Seconds a single non-watch request may take before it fails."""


def _in_pod_without_kubeconfig() -> bool:
    default = Path(os.environ.get("KUBECONFIG", "~/.kube/config")).expanduser()
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not default.exists()


async def api_client(
    kubeconfig: Path | str | None = None, context: str | None = None
) -> client.ApiClient:
    """An ApiClient for the kubeconfig (KUBECONFIG or ~/.kube/config when None; inside a pod
    with neither, the pod's service account); close it when done."""
    if kubeconfig is None and _in_pod_without_kubeconfig():
        config.load_incluster_config()
        return client.ApiClient()
    api: client.ApiClient = await config.new_client_from_config(
        config_file=str(kubeconfig) if kubeconfig else None, context=context, persist_config=False
    )
    return api


def status_message(error: ApiException) -> str:
    """The API server's own message for a failed request (its Status.message), else the reason."""
    try:
        status = json.loads(error.body or b"{}")
    except ValueError:
        status = {}
    message = status.get("message") if isinstance(status, dict) else None
    return str(message or error.reason or f"HTTP {error.status}")
