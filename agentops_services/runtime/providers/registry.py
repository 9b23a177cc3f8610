"""Providers from config.json: one client per entry, API keys from the environment the operator
wires, and `provider/model` strings resolved to a provider and a model id.

An entry that cannot be used (no API key, an unsupported type) is reported and left out; only
when the primary model needs it does startup fail, with a message naming the field.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from agentops_services.api.runtime_config import ProviderEntry, RuntimeConfig
from agentops_services.api.v1alpha1.provider import ProviderCallDefaults
from agentops_services.oauth2 import OAuth2ClientCredentials
from agentops_services.runtime.loop import ModelChoice
from agentops_services.runtime.providers.anthropic import AnthropicProvider
from agentops_services.runtime.providers.base import Provider
from agentops_services.runtime.providers.gemini import GeminiProvider
from agentops_services.runtime.providers.http import HttpSettings, new_client
from agentops_services.runtime.providers.openai_chat import AzureChatProvider, OpenAIChatProvider
from agentops_services.runtime.providers.openai_responses import OpenAIResponsesProvider
from agentops_services.runtime.providers.scripted import ScriptedProvider, load_script

LOG = logging.getLogger(__name__)

DEFAULT_BASE_URLS = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "google": "https://generativelanguage.googleapis.com",
}
DEFAULT_AZURE_API_VERSION = "2024-10-21"


class ConfigError(ValueError):
    """The config cannot be used; `field` names the config.json key at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def api_key_variable(entry: ProviderEntry) -> str:
    """`KIMI_API_KEY` for provider `kimi` (non-alphanumerics become `_`), unless set."""
    return entry.api_key_env or re.sub(r"[^A-Z0-9]", "_", entry.name.upper()) + "_API_KEY"


def _is_loopback(url: str | None) -> bool:
    """A loopback base URL is an auth-injecting sidecar: no key needed."""
    host = httpx.URL(url).host if url else ""
    return host in ("localhost", "127.0.0.1", "::1")


def _check_usable(entry: ProviderEntry) -> None:
    if entry.type == "bedrock" or entry.bedrock:
        raise ValueError("Amazon Bedrock is not supported by this runtime yet")
    if entry.vertex:
        raise ValueError("Vertex AI is not supported by this runtime yet")
    if entry.type == "openaicompat" and not entry.base_url:
        raise ValueError("openaicompat needs baseURL")
    if entry.type == "azure" and not entry.base_url:
        raise ValueError("azure needs baseURL (https://<resource>.openai.azure.com)")


def _client(
    entry: ProviderEntry, env: Mapping[str, str], settings: HttpSettings
) -> httpx.AsyncClient:
    client = new_client(settings)
    if entry.oauth2 is not None:
        oauth = entry.oauth2
        client_id, secret = env.get(oauth.client_id_env), env.get(oauth.client_secret_env)
        if not client_id or not secret:
            raise ValueError(
                f"OAuth2 credentials are missing: set {oauth.client_id_env} and "
                f"{oauth.client_secret_env}"
            )
        client.auth = OAuth2ClientCredentials(
            oauth.token_url, client_id, secret, oauth.scopes, oauth.audience
        )
    return client


def build_provider(
    entry: ProviderEntry,
    env: Mapping[str, str],
    settings: HttpSettings,
    config_dir: Path,
) -> Provider:
    """The provider of one entry (raises ValueError with the reason it cannot be used)."""
    if entry.type == "scripted":
        if not entry.script:
            raise ValueError("a scripted provider needs `script`, the path of its YAML script")
        return ScriptedProvider(entry.name, load_script(config_dir / entry.script))
    _check_usable(entry)
    variable = api_key_variable(entry)
    api_key = env.get(variable) or None
    if api_key is None and entry.oauth2 is None and not _is_loopback(entry.base_url):
        raise ValueError(f"the API key is missing: set {variable}")
    base_url = entry.base_url or DEFAULT_BASE_URLS.get(entry.type, "")
    headers = dict(entry.headers or {})
    client = _client(entry, env, settings)
    match entry.type:
        case "anthropic":
            return AnthropicProvider(entry.name, base_url, api_key, client, headers)
        case "google":
            return GeminiProvider(entry.name, base_url, api_key, client, headers)
        case "azure":
            version = entry.azure_api_version or DEFAULT_AZURE_API_VERSION
            if entry.use_responses_api:
                return OpenAIResponsesProvider(
                    entry.name, "azure", base_url, api_key, client, headers, version
                )
            return AzureChatProvider(entry.name, base_url, api_key, version, client, headers)
        case _ if entry.use_responses_api and entry.type != "openrouter":
            return OpenAIResponsesProvider(
                entry.name, entry.type, base_url, api_key, client, headers
            )
        case _:
            openai = entry.type == "openai"
            return OpenAIChatProvider(
                entry.name,
                entry.type,
                base_url,
                api_key,
                client,
                headers,
                entry.organization if openai else None,
                entry.project if openai else None,
            )


@dataclass
class ProviderSet:
    """The usable providers of a config, and why the others are not."""

    providers: dict[str, Provider] = field(default_factory=dict)
    call_defaults: dict[str, ProviderCallDefaults | None] = field(default_factory=dict)
    unusable: dict[str, str] = field(default_factory=dict)
    primary_provider: str | None = None

    @classmethod
    def from_config(
        cls,
        config: RuntimeConfig,
        env: Mapping[str, str],
        settings: HttpSettings | None = None,
        config_dir: Path = Path(),
    ) -> ProviderSet:
        found = cls(primary_provider=config.primary_provider)
        for index, entry in enumerate(config.providers or ()):
            try:
                provider = build_provider(entry, env, settings or HttpSettings(), config_dir)
            except ValueError as exc:
                found.unusable[entry.name] = f"providers[{index}] ({entry.name}): {exc}"
                LOG.warning("provider %s is unusable: %s", entry.name, exc)
                continue
            found.providers[entry.name] = provider
            found.call_defaults[entry.name] = entry.call_defaults
        return found

    def resolve(self, spec: str, field_name: str) -> ModelChoice:
        """`provider/model` (or a bare model of the primary provider) -> the model to call."""
        name, _, model = spec.partition("/")
        if not model:
            name, model = self.primary_provider or "", spec
        if not name:
            raise ConfigError(
                field_name, f"{spec!r} names no provider and primaryProvider is unset"
            )
        if name in self.unusable:
            raise ConfigError(
                field_name, f"{spec!r} needs an unusable provider: {self.unusable[name]}"
            )
        provider = self.providers.get(name)
        if provider is None:
            known = ", ".join(sorted(self.providers)) or "none"
            raise ConfigError(field_name, f"{spec!r}: no provider named {name!r} (known: {known})")
        return ModelChoice(provider, model, f"{name}/{model}", self.call_defaults.get(name))

    def models(self, config: RuntimeConfig) -> list[ModelChoice]:
        """The primary model, then every fallback that can be used."""
        if not config.primary_model:
            raise ConfigError("primaryModel", "is required")
        chain = [self.resolve(config.primary_model, "primaryModel")]
        for index, spec in enumerate(config.fallback_models or ()):
            try:
                chain.append(self.resolve(spec, f"fallbackModels[{index}]"))
            except ConfigError as exc:
                LOG.warning("fallback model left out: %s", exc)
        return chain

    async def aclose(self) -> None:
        for provider in self.providers.values():
            client = getattr(provider, "client", None)
            if isinstance(client, httpx.AsyncClient):
                await client.aclose()
