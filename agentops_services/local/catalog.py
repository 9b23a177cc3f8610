"""The resources the local runtimes work from, as one snapshot: what an Agent refers to is
looked up here, as the operator looks it up in its informers' caches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from agentops_services.api.v1alpha1 import Agent, AgentResource, AgentTool, Provider
from agentops_services.local.kinds import NAMESPACE

T = TypeVar("T")
LOCAL_NAMESPACE = NAMESPACE
"""The one namespace of the embedded platform (AGENT_NAMESPACE of its runtimes): the store's."""


@dataclass(frozen=True)
class References:
    """What one Agent refers to, resolved; `missing` names what is not there."""

    providers: dict[str, Provider]
    tools: dict[str, AgentTool]
    resources: dict[str, AgentResource]
    missing: list[str]

    def missing_message(self) -> str:
        """As the operator's ReferenceNotFound condition says it."""
        return f"{', '.join(self.missing)} not found in namespace {LOCAL_NAMESPACE}"


def _pick(
    kind: str, catalog: Mapping[str, T], names: list[str], missing: list[str]
) -> dict[str, T]:
    found = {name: catalog[name] for name in names if name in catalog}
    missing += [f'{kind} "{name}"' for name in names if name not in catalog]
    return found


@dataclass(frozen=True)
class Catalog:
    """Agents, Providers, AgentTools and AgentResources by name."""

    agents: Mapping[str, Agent] = field(default_factory=dict)
    providers: Mapping[str, Provider] = field(default_factory=dict)
    tools: Mapping[str, AgentTool] = field(default_factory=dict)
    resources: Mapping[str, AgentResource] = field(default_factory=dict)

    def references(self, agent: Agent) -> References:
        """The agent's Providers, AgentTools and AgentResources (missing ones named in the
        operator's order: tools, providers, resources)."""
        spec = agent.spec
        missing: list[str] = []
        tools = _pick("AgentTool", self.tools, [t.name for t in spec.tools or ()], missing)
        providers = _pick("Provider", self.providers, [p.name for p in spec.provider_refs], missing)
        bindings = [r.name for r in spec.resource_bindings or ()]
        resources = _pick("AgentResource", self.resources, bindings, missing)
        return References(providers, tools, resources, missing)
