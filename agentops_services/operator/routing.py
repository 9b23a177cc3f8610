"""Which reconciles an object's change calls for, read from the caches.

Level-triggered controllers only need to know *whom* to look at: the object itself, the owner
of a child (from the owner labels every child carries), and the resources that reference a
changed Provider, AgentTool, AgentResource or Secret. Upstream watched none of the references,
so a Provider fix never reached the Agents using it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agentops_services.kube.informer import Informer, Key
from agentops_services.kube.rest import Object
from agentops_services.operator.names import L_AGENT, L_OWNER, L_OWNER_KIND


def owner_of(child: Object) -> tuple[str, Key] | None:
    """(owner kind in lower case, key) from a child's owner labels."""
    metadata = child["metadata"]
    labels = metadata.get("labels") or {}
    kind, name = labels.get(L_OWNER_KIND), labels.get(L_OWNER)
    if not kind or not name:
        return None
    return kind, (metadata.get("namespace", ""), name)


def _spec(obj: Object) -> dict[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _names(items: Any) -> set[str]:
    return {str(i["name"]) for i in items or [] if isinstance(i, dict) and i.get("name")}


def agent_references(agent: Object) -> dict[str, set[str]]:
    """The names an Agent refers to, by the kind they name."""
    spec = _spec(agent)
    tools = _names(spec.get("tools"))
    memory = spec.get("memory") or {}
    if memory.get("serverRef"):
        tools.add(memory["serverRef"])
    return {
        "provider": _names(spec.get("providerRefs")),
        "agenttool": tools,
        "agentresource": _names(spec.get("resourceBindings")),
    }


def agents_referring(agents: Informer, kind: str, namespace: str, name: str) -> Iterator[Key]:
    """Agents of the namespace that refer to `name` as a `kind` (provider, agenttool, ...)."""
    for agent in agents.items(namespace):
        if name in agent_references(agent)[kind]:
            yield namespace, agent["metadata"]["name"]


def provider_secrets(provider: Object) -> set[str]:
    """The Secrets a Provider reads: its API key, its OAuth2 client credentials."""
    spec = _spec(provider)
    found = {(spec.get("apiKeySecret") or {}).get("name")}
    oauth = (spec.get("endpoint") or {}).get("oauth2ClientCredentials") or {}
    for value in oauth.values():
        if isinstance(value, dict):
            found.add(value.get("name"))
    return {name for name in found if name}


def providers_reading(providers: Informer, namespace: str, secret: str) -> Iterator[Key]:
    for provider in providers.items(namespace):
        if secret in provider_secrets(provider):
            yield namespace, provider["metadata"]["name"]


def runs_of(runs: Informer, namespace: str, agent: str) -> Iterator[Key]:
    """The AgentRuns of an Agent that are not finished (they wait on it or on each other)."""
    for run in runs.items(namespace):
        labels = run["metadata"].get("labels") or {}
        spec_agent = _spec(run).get("agentRef")
        if agent not in (labels.get(L_AGENT), spec_agent):
            continue
        if (run.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        yield namespace, run["metadata"]["name"]
