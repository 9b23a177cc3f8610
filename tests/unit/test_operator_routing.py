"""Which keys a change enqueues: the Agents using a Provider, AgentTool or AgentResource (and
no others), the Providers reading a Secret, an owner from its child's labels, and the
unfinished runs of an Agent."""

from __future__ import annotations

from typing import Any

from agentops_services.kube import resources as types
from agentops_services.kube.informer import Informer
from agentops_services.kube.rest import Kube, Object
from agentops_services.operator import routing
from agentops_services.operator.names import L_AGENT, owner_labels


def informer(kind: types.ResourceType, *objects: Object) -> Informer:
    cache = Informer(Kube(None), kind)  # never started: it makes no requests
    cache._replace(None, [dict(o) for o in objects])
    return cache


def obj(kind: str, name: str, namespace: str = "team", **body: Any) -> Object:
    return {"kind": kind, "metadata": {"name": name, "namespace": namespace,
                                       "resourceVersion": "1"}, **body}  # fmt: skip


AGENTS = informer(
    types.AGENT,
    obj("Agent", "a", spec={"providerRefs": [{"name": "claude"}], "tools": [{"name": "k8s"}]}),
    obj("Agent", "b", spec={"providerRefs": [{"name": "gpt"}],
                            "memory": {"serverRef": "mem"}, "resourceBindings": [{"name": "repo"}]}),
    obj("Agent", "c", "other", spec={"providerRefs": [{"name": "claude"}]}),
)  # fmt: skip


def test_a_reference_change_reaches_exactly_the_agents_using_it() -> None:
    assert list(routing.agents_referring(AGENTS, "provider", "team", "claude")) == [("team", "a")]
    assert list(routing.agents_referring(AGENTS, "agenttool", "team", "k8s")) == [("team", "a")]
    assert list(routing.agents_referring(AGENTS, "agenttool", "team", "mem")) == [("team", "b")]
    assert list(routing.agents_referring(AGENTS, "agentresource", "team", "repo")) == [
        ("team", "b")
    ]
    assert list(routing.agents_referring(AGENTS, "provider", "team", "nobody")) == []


def test_a_secret_change_reaches_the_providers_reading_it() -> None:
    providers = informer(
        types.PROVIDER,
        obj("Provider", "claude", spec={"apiKeySecret": {"name": "keys", "key": "k"}}),
        obj("Provider", "corp", spec={"endpoint": {"oauth2ClientCredentials": {
            "tokenURL": "https://sso", "clientIdSecret": {"name": "sso", "key": "id"},
            "clientSecretSecret": {"name": "sso", "key": "secret"}}}}),
    )  # fmt: skip
    assert list(routing.providers_reading(providers, "team", "keys")) == [("team", "claude")]
    assert list(routing.providers_reading(providers, "team", "sso")) == [("team", "corp")]
    assert list(routing.providers_reading(providers, "team", "other")) == []


def test_a_child_names_its_owner_and_unfinished_runs_are_found() -> None:
    child = obj("ConfigMap", "a-config")
    child["metadata"]["labels"] = owner_labels("Agent", "a")
    assert routing.owner_of(child) == ("agent", ("team", "a"))
    assert routing.owner_of(obj("ConfigMap", "stray")) is None
    runs = informer(
        types.AGENT_RUN,
        obj("AgentRun", "r1", spec={"agentRef": "a"}),
        obj("AgentRun", "r2", spec={"agentRef": "a"}, status={"phase": "Succeeded"}),
        obj("AgentRun", "r3", spec={"agentRef": "b"}),
    )
    runs.get("team", "r3")["metadata"]["labels"] = {L_AGENT: "b"}  # type: ignore[index]
    assert list(routing.runs_of(runs, "team", "a")) == [("team", "r1")]
