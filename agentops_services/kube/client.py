"""API clients from a kubeconfig, with timeouts on every request."""

from __future__ import annotations

import json
from pathlib import Path

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

REQUEST_TIMEOUT = 30.0
"""Seconds a single non-watch request may take before it fails."""


async def api_client(
    kubeconfig: Path | str | None = None, context: str | None = None
) -> client.ApiClient:
    """An ApiClient for the kubeconfig (the default one when None); close it when done."""
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
