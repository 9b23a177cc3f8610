"""The CRD editor's session against the real API server: diff, dry run and server-side apply,
conflicts, rejections, removals and creation from templates."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_asyncio import client

from agentops_services.api.yaml_source import load_documents
from agentops_services.kube.resources import AGENT, AGENT_RUN, BY_KIND, PROVIDER
from agentops_services.kube.rest import Kube
from agentops_tui.services.editing import (
    FIELD_MANAGER,
    Applied,
    Conflict,
    Diff,
    EditSession,
    Invalid,
    KubeTarget,
    Rejected,
)
from agentops_tui.services.templates import TEMPLATE_KINDS
from tests.conftest import SAMPLES

pytestmark = pytest.mark.kube


async def create_sample(kube: Kube, namespace: str, sample: str) -> dict[str, Any]:
    body: dict[str, Any] = load_documents((SAMPLES / sample).read_text())[0].data
    body["metadata"]["labels"] = {"team": "a", "tier": "gold"}
    return await kube.create(BY_KIND[body["kind"]], namespace, body)


async def edit_and_apply(session: EditSession, text: str) -> Applied | Conflict | Rejected:
    outcome = session.submit(text)
    assert isinstance(outcome, Diff), outcome
    return await session.apply()


async def test_edit_diff_and_apply_change_the_live_object(
    kube: client.ApiClient, namespace: str
) -> None:
    api = Kube(kube)
    await create_sample(api, namespace, "agent-daemon.yaml")
    session = await EditSession.open(KubeTarget(api), "Agent", namespace, "code-review-agent")
    text = session.text.replace("maxSteps: 50", "maxSteps: 60").replace("    tier: gold\n", "")
    outcome = session.submit(text)
    assert isinstance(outcome, Diff)
    assert "-  maxSteps: 50\n+  maxSteps: 60\n" in outcome.diff
    assert "-    tier: gold\n" in outcome.diff

    applied = await session.apply()
    assert isinstance(applied, Applied)
    live = await api.get(AGENT, namespace, "code-review-agent")
    assert live is not None
    assert live["spec"]["maxSteps"] == 60
    # The label was set by the creator, not by us: removed all the same, as kubectl edit would.
    assert live["metadata"]["labels"] == {"team": "a"}
    assert FIELD_MANAGER in {entry["manager"] for entry in live["metadata"]["managedFields"]}
    assert applied.object["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
    assert "maxSteps: 60" in session.text
    assert api.requests["apply"] == 2, "one dry run, one real apply"


async def test_concurrent_change_is_a_conflict_that_keeps_the_users_edit(
    kube: client.ApiClient, namespace: str
) -> None:
    api = Kube(kube)
    await create_sample(api, namespace, "agent-daemon.yaml")
    session = await EditSession.open(KubeTarget(api), "Agent", namespace, "code-review-agent")
    await api.patch(AGENT, namespace, "code-review-agent", {"spec": {"temperature": 0.9}})

    mine = session.text.replace("maxSteps: 50", "maxSteps: 60  # my change")
    outcome = await edit_and_apply(session, mine)
    assert isinstance(outcome, Conflict)
    assert "the object has been modified" in outcome.message
    reopened = outcome.reopen_text
    assert reopened.startswith("#! Conflict: ")
    assert "#!   -  temperature: 0.3" in reopened
    assert "#!   +  temperature: 0.9" in reopened
    assert "maxSteps: 60  # my change" in reopened
    live = await api.get(AGENT, namespace, "code-review-agent")
    assert live is not None
    assert live["spec"]["maxSteps"] == 50
    assert f'resourceVersion: "{live["metadata"]["resourceVersion"]}"' in reopened

    again = await edit_and_apply(session, reopened)  # a deliberate save over their change
    assert isinstance(again, Applied)
    assert again.object["spec"]["maxSteps"] == 60
    assert again.object["spec"]["temperature"] == 0.3


async def test_invalid_edit_is_refused_before_the_server(
    kube: client.ApiClient, namespace: str
) -> None:
    api = Kube(kube)
    await create_sample(api, namespace, "agent-daemon.yaml")
    session = await EditSession.open(KubeTarget(api), "Agent", namespace, "code-review-agent")
    before = sum(api.requests.values())
    outcome = session.submit(session.text.replace("mode: daemon", "mode: task"))
    assert isinstance(outcome, Invalid)
    assert [p.field for p in outcome.problems] == ["spec.storage"]
    assert sum(api.requests.values()) == before, "nothing was sent"
    with pytest.raises(RuntimeError):
        await session.apply()


async def test_server_side_rejection_reopens_with_the_api_message(
    kube: client.ApiClient, namespace: str
) -> None:
    api = Kube(kube)
    await create_sample(api, namespace, "provider-openai.yaml")
    session = await EditSession.open(KubeTarget(api), "Provider", namespace, "openai")
    # Label syntax is checked by the API server only (the models take any string).
    text = session.text.replace("    team: a\n", "    'bad key!': a\n")
    outcome = await edit_and_apply(session, text)
    assert isinstance(outcome, Rejected)
    assert 'metadata.labels: Invalid value: "bad key!"' in outcome.message
    assert outcome.reopen_text.startswith("#! Not saved: 422 Invalid:")
    assert "'bad key!': a" in outcome.reopen_text
    assert session.text == outcome.reopen_text
    assert api.requests["apply"] == 1, "refused by the dry run"
    live = await api.get(PROVIDER, namespace, "openai")
    assert live is not None
    assert live["metadata"]["labels"] == {"team": "a", "tier": "gold"}


async def test_agentrun_metadata_edits_pass_the_immutable_spec_rule(
    kube: client.ApiClient, namespace: str
) -> None:
    api = Kube(kube)
    await create_sample(api, namespace, "agentrun.yaml")
    session = await EditSession.open(KubeTarget(api), "AgentRun", namespace, "review-run-001")
    outcome = await edit_and_apply(session, session.text.replace("tier: gold", "tier: silver"))
    assert isinstance(outcome, Applied)
    live = await api.get(AGENT_RUN, namespace, "review-run-001")
    assert live is not None
    assert live["metadata"]["labels"]["tier"] == "silver"


async def test_object_deleted_during_the_edit(kube: client.ApiClient, namespace: str) -> None:
    api = Kube(kube)
    await create_sample(api, namespace, "provider-openai.yaml")
    session = await EditSession.open(KubeTarget(api), "Provider", namespace, "openai")
    await api.delete(PROVIDER, namespace, "openai")
    mine = session.text.replace("serviceTier: auto", "serviceTier: flex")
    outcome = await edit_and_apply(session, mine)
    assert isinstance(outcome, Conflict)
    assert "no longer exists" in outcome.reopen_text
    assert await api.get(PROVIDER, namespace, "openai") is None, "not recreated behind our back"

    again = await edit_and_apply(session, outcome.reopen_text)
    assert isinstance(again, Applied)
    assert again.object["spec"]["defaults"]["openai"]["serviceTier"] == "flex"


@pytest.mark.parametrize("kind", TEMPLATE_KINDS)
async def test_new_from_template_creates_the_object(
    kube: client.ApiClient, namespace: str, kind: str
) -> None:
    api = Kube(kube)
    session = EditSession.create(KubeTarget(api), kind, namespace)
    outcome = await edit_and_apply(session, session.text)
    assert isinstance(outcome, Applied)
    name = outcome.object["metadata"]["name"]
    assert await api.get(BY_KIND[kind], namespace, name) is not None
    assert not session.creating

    twice = EditSession.create(KubeTarget(api), kind, namespace)
    clash = await edit_and_apply(twice, twice.text)
    assert isinstance(clash, Rejected)
    assert "already exists" in clash.message
