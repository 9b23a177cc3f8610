"""Which LLM provider this machine can use, so the first run's sample agents answer with a real
model when one is at hand.

Tried in this order, the first usable one wins: ANTHROPIC_API_KEY, OPENAI_API_KEY (with
OPENAI_BASE_URL too, the OpenAI SDK's convention: the key is for that server),
GEMINI_API_KEY, OPENAI_BASE_URL alone (an OpenAI-compatible server, asked for its models), a
local Ollama (asked for its installed models, with a short timeout so a machine without one
starts at once). With none, the offline demo model (demo.py). Variables count from the
environment or the secrets file alike (secrets.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from agentops_services.api.v1alpha1.provider import ProviderType
from agentops_services.local.demo import DEMO_MODEL, DEMO_PROVIDER, DEMO_URL
from agentops_services.local.secrets import Secrets
from agentops_services.operator.builders.credentials import api_key_env

OLLAMA_URL = "http://127.0.0.1:11434"
ANTHROPIC_MODEL = "claude-sonnet-4-5"
OPENAI_MODEL = "gpt-4.1"
GEMINI_MODEL = "gemini-2.5-flash"
DETECTED_VARIABLES = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "OPENAI_BASE_URL")


@dataclass(frozen=True)
class ChosenProvider:
    """The Provider the sample agents use, and why it was chosen."""

    name: str
    """Provider resource name; its API key variable is derived from it (ANTHROPIC_API_KEY)."""
    type: ProviderType
    model: str
    """Model id, without the provider/ prefix."""
    reason: str
    base_url: str | None = None
    keyed: bool = False
    """The Provider names an apiKeySecret (locally: the variable `api_key_variable`)."""
    demo: bool = False

    @property
    def model_ref(self) -> str:
        """The Agent's `spec.model`."""
        return f"{self.name}/{self.model}"

    @property
    def api_key_variable(self) -> str | None:
        return api_key_env(self.name) if self.keyed else None


@dataclass(frozen=True)
class Probes:
    """Where and how long to look for model servers (tests point them at fakes)."""

    ollama_url: str = OLLAMA_URL
    ollama_timeout: float = 0.3
    """Ollama is on loopback: it answers in milliseconds or it is not there."""
    server_timeout: float = 2.0
    """An OPENAI_BASE_URL server may be across a network."""


@dataclass(frozen=True)
class Detection:
    """The chosen provider and, for each candidate passed over, why."""

    chosen: ChosenProvider
    passed_over: tuple[str, ...] = ()


def _chat_models(names: list[str], families: list[list[str]]) -> list[str]:
    """The models that can chat: embedding models are left out (by name or BERT family)."""
    return [
        name
        for name, family in zip(names, families, strict=True)
        if "embed" not in name.lower() and not any("bert" in f.lower() for f in family)
    ]


async def _get_json(
    url: str, timeout: float, *, headers: dict[str, str] | None = None, loopback: bool = False
) -> Any:
    """The JSON answer of GET `url`; raises httpx.HTTPError, httpx.InvalidURL (a mistyped
    URL) or ValueError. A loopback probe ignores proxy settings, which would send it elsewhere."""
    async with httpx.AsyncClient(timeout=timeout, trust_env=not loopback) as client:
        response = await client.get(url, headers=headers)
        response.raise_for_status()
        return response.json()


async def server_models(base_url: str, timeout: float, api_key: str | None = None) -> list[str]:
    """The chat models an OpenAI-compatible server lists at `GET <base>/models`."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    body = await _get_json(f"{base_url.rstrip('/')}/models", timeout, headers=headers)
    ids = [str(m["id"]) for m in body["data"]]
    return _chat_models(ids, [[] for _ in ids])


async def ollama_models(ollama_url: str, timeout: float) -> list[str]:
    """The chat models an Ollama has installed (`GET /api/tags`), most recent first."""
    body = await _get_json(f"{ollama_url.rstrip('/')}/api/tags", timeout, loopback=True)
    models = body["models"]
    names = [str(m.get("model") or m["name"]) for m in models]
    families = [list((m.get("details") or {}).get("families") or []) for m in models]
    return _chat_models(names, families)


async def _anthropic(secrets: Secrets, probes: Probes, notes: list[str]) -> ChosenProvider | None:
    if not secrets.get("ANTHROPIC_API_KEY"):
        return None
    return ChosenProvider(
        "anthropic", "anthropic", ANTHROPIC_MODEL, "ANTHROPIC_API_KEY is set", keyed=True
    )


async def _gemini(secrets: Secrets, probes: Probes, notes: list[str]) -> ChosenProvider | None:
    if not secrets.get("GEMINI_API_KEY"):
        return None
    return ChosenProvider("gemini", "google", GEMINI_MODEL, "GEMINI_API_KEY is set", keyed=True)


async def _listed_models(
    base_url: str, probes: Probes, key: str | None, notes: list[str]
) -> list[str]:
    """The chat models of the server at OPENAI_BASE_URL; none (and a note) when it does not
    say."""
    try:
        models = await server_models(base_url, probes.server_timeout, key)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, KeyError, TypeError) as exc:
        notes.append(f"{base_url} did not list its models ({type(exc).__name__})")
        return []
    if not models:
        notes.append(f"{base_url} lists no chat model")
    return models


async def _openai(secrets: Secrets, probes: Probes, notes: list[str]) -> ChosenProvider | None:
    """OPENAI_API_KEY, against OpenAI or, with OPENAI_BASE_URL, against that server."""
    if not secrets.get("OPENAI_API_KEY"):
        return None
    base_url = secrets.get("OPENAI_BASE_URL")
    if base_url is None:
        return ChosenProvider("openai", "openai", OPENAI_MODEL, "OPENAI_API_KEY is set", keyed=True)
    models = await _listed_models(base_url, probes, secrets.get("OPENAI_API_KEY"), notes)
    model = models[0] if models else OPENAI_MODEL
    reason = f"OPENAI_API_KEY and OPENAI_BASE_URL are set (model {model})"
    return ChosenProvider("openai", "openaicompat", model, reason, base_url, keyed=True)


async def _compatible(secrets: Secrets, probes: Probes, notes: list[str]) -> ChosenProvider | None:
    """OPENAI_BASE_URL without a key: a local or keyless server, used when it lists a model
    (the only sign that something is there)."""
    base_url = secrets.get("OPENAI_BASE_URL")
    if base_url is None:
        return None
    models = await _listed_models(base_url, probes, None, notes)
    if not models:
        return None
    reason = f"OPENAI_BASE_URL is set and its server offers {models[0]}"
    return ChosenProvider("openai-compatible", "openaicompat", models[0], reason, base_url)


async def _ollama(secrets: Secrets, probes: Probes, notes: list[str]) -> ChosenProvider | None:
    try:
        models = await ollama_models(probes.ollama_url, probes.ollama_timeout)
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no Ollama here: the usual case, not worth a note
    if not models:
        notes.append(
            f"Ollama answers at {probes.ollama_url} but has no chat model: ollama pull llama3.2"
        )
        return None
    reason = f"Ollama answers at {probes.ollama_url} with {models[0]} installed"
    base = f"{probes.ollama_url.rstrip('/')}/v1"
    return ChosenProvider("ollama", "openaicompat", models[0], reason, base)


def offline_demo(reason: str) -> ChosenProvider:
    """The offline demo model (demo.py), chosen for `reason`."""
    return ChosenProvider(DEMO_PROVIDER, "openaicompat", DEMO_MODEL, reason, DEMO_URL, demo=True)


_CANDIDATES = (_anthropic, _openai, _gemini, _compatible, _ollama)


async def detect_provider(secrets: Secrets, probes: Probes | None = None) -> Detection:
    """The first usable provider in the documented order; the offline demo when none is."""
    probes = probes or Probes()
    notes: list[str] = []
    for candidate in _CANDIDATES:
        chosen = await candidate(secrets, probes, notes)
        if chosen is not None:
            return Detection(chosen, tuple(notes))
    reason = (
        f"no provider was found: none of {', '.join(DETECTED_VARIABLES)} is set and no "
        f"Ollama answers at {probes.ollama_url}"
    )
    return Detection(offline_demo(reason), tuple(notes))
