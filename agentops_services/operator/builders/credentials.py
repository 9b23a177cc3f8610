"""Which environment variable carries which Provider secret into the runtime container.

config.json names the variables and the pod spec fills them from the Secrets; both call these
functions so the names cannot drift. Names are sanitised (upper case, anything but A-Z and 0-9
becomes `_`): upstream kept hyphens (`MY-LLM_API_KEY`), which shells cannot address.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agentops_services.api.v1alpha1.agent import Agent
from agentops_services.api.v1alpha1.common import SecretKeyRef
from agentops_services.api.v1alpha1.provider import Provider


def env_prefix(provider_name: str) -> str:
    """`MY_LLM` for provider `my-llm`."""
    return re.sub(r"[^A-Z0-9]", "_", provider_name.upper())


def api_key_env(provider_name: str) -> str:
    return f"{env_prefix(provider_name)}_API_KEY"


def oauth2_env(provider_name: str) -> tuple[str, str]:
    """The client id and client secret variables of an OAuth2 provider."""
    prefix = env_prefix(provider_name)
    return f"{prefix}_OAUTH_CLIENT_ID", f"{prefix}_OAUTH_CLIENT_SECRET"


def secret_env(name: str, ref: SecretKeyRef) -> dict[str, Any]:
    """An env entry taken from a Secret key."""
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def provider_env(agent: Agent, providers: Mapping[str, Provider]) -> list[dict[str, Any]]:
    """API keys and OAuth2 client credentials of the agent's providers, in providerRefs order."""
    env: list[dict[str, Any]] = []
    for ref in agent.spec.provider_refs:
        provider = providers.get(ref.name)
        if provider is None:
            continue
        if provider.spec.api_key_secret:
            env.append(secret_env(api_key_env(ref.name), provider.spec.api_key_secret))
        oauth = provider.spec.endpoint.oauth2_client_credentials if provider.spec.endpoint else None
        if oauth:
            id_env, secret_env_name = oauth2_env(ref.name)
            env.append(secret_env(id_env, oauth.client_id_secret))
            env.append(secret_env(secret_env_name, oauth.client_secret_secret))
    return env
