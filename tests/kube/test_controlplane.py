"""The control plane is real: CRDs served with our columns, schema and CEL rules, OpenAPI for
kubectl explain, server-side apply conflicts, garbage collection, PodSecurity and RBAC."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from agentops_services.api.crd import all_crds
from agentops_services.api.v1alpha1 import GROUP, KINDS, VERSION
from agentops_services.api.validation import validate_resource
from agentops_services.api.yaml_source import load_documents
from agentops_services.kube.client import api_client, status_message
from agentops_services.testing.controlplane import ControlPlane
from tests.conftest import INVALID_SAMPLES, SAMPLES, eventually
from tests.unit.test_samples import expected_messages

pytestmark = pytest.mark.kube

PLURALS = {name: cls.crd.plural for name, cls in KINDS.items()}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = load_documents(path.read_text())[0].data
    return data


@pytest.fixture
async def http(control_plane: ControlPlane) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=control_plane.server,
        verify=ssl.create_default_context(cafile=str(control_plane.ca_file)),
        headers={"Authorization": f"Bearer {control_plane.admin_token}"},
        timeout=10.0,
    ) as session:
        yield session


async def create(
    kube: client.ApiClient, namespace: str, body: dict[str, Any], dry_run: bool = False
) -> dict[str, Any]:
    custom = client.CustomObjectsApi(kube)
    kwargs: dict[str, Any] = {"field_validation": "Strict"}
    if dry_run:
        kwargs["dry_run"] = "All"
    created: dict[str, Any] = await custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURALS[body["kind"]], body, **kwargs
    )
    return created


async def test_crds_are_established(kube: client.ApiClient) -> None:
    extensions = client.ApiextensionsV1Api(kube)
    for manifest in all_crds().values():
        crd = await extensions.read_custom_resource_definition(manifest["metadata"]["name"])
        conditions = {c.type: c.status for c in crd.status.conditions}
        assert conditions["Established"] == "True"
        assert conditions["NamesAccepted"] == "True"
        assert crd.status.accepted_names.short_names == manifest["spec"]["names"]["shortNames"]


async def test_table_shows_our_printer_columns(
    kube: client.ApiClient, namespace: str, http: httpx.AsyncClient
) -> None:
    await create(kube, namespace, load(SAMPLES / "agent-daemon.yaml"))
    response = await http.get(
        f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/agents",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    table = response.json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Mode",
        "Model",
        "Phase",
        "Ready",
        "Age",
    ]
    assert table["rows"][0]["cells"][:3] == [
        "code-review-agent",
        "daemon",
        "anthropic/claude-sonnet-4-5",
    ]

    await create(kube, namespace, load(SAMPLES / "agentrun.yaml"))
    runs_response = await http.get(
        f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/agentruns",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    runs = runs_response.json()
    priorities = {c["name"]: c.get("priority", 0) for c in runs["columnDefinitions"]}
    assert priorities["Artifact"] == 1 and priorities["Tokens"] == 0

    categories = (await http.get(f"/apis/{GROUP}/{VERSION}")).json()
    assert {
        r["name"]: r.get("categories") for r in categories["resources"] if "/" not in r["name"]
    } == {plural: ["agentops"] for plural in PLURALS.values()}


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.yaml")), ids=lambda p: p.name)
async def test_valid_sample_is_accepted_and_defaulted_as_we_do(
    kube: client.ApiClient, namespace: str, path: Path
) -> None:
    body = load(path)
    stored = await create(kube, namespace, body)
    ours = validate_resource(body).resource
    assert ours is not None
    assert stored["spec"] == ours.to_defaulted()["spec"], (
        "the API server applied different defaults"
    )


@pytest.mark.parametrize("path", sorted(INVALID_SAMPLES.glob("*.yaml")), ids=lambda p: p.name)
async def test_invalid_sample_is_rejected_with_its_message(
    kube: client.ApiClient, namespace: str, path: Path
) -> None:
    with pytest.raises(ApiException) as info:
        await create(kube, namespace, load(path), dry_run=True)
    assert info.value.status in (400, 422)
    for message in expected_messages(path):
        assert message in status_message(info.value)


async def test_openapi_v3_carries_our_descriptions(http: httpx.AsyncClient) -> None:
    index = (await http.get("/openapi/v3")).json()
    path = index["paths"][f"apis/{GROUP}/{VERSION}"]["serverRelativeURL"]
    document = (await http.get(path)).json()
    agent = document["components"]["schemas"]["io.agentops.agents.v1alpha1.Agent"]
    assert agent["description"].startswith("Agent defines an AI agent")
    spec = agent["properties"]["spec"]["properties"]
    assert spec["mode"]["description"].startswith("daemon: an always-running Deployment")
    assert spec["builtinTools"]["description"].startswith("Built-in tools:")


def deployment(namespace: str, replicas: int) -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }


async def test_server_side_apply_reports_conflicts(kube: client.ApiClient, namespace: str) -> None:
    apps = client.AppsV1Api(kube)
    apply = {"_content_type": "application/apply-patch+yaml"}
    await apps.patch_namespaced_deployment(
        "web", namespace, deployment(namespace, 1), field_manager="agentops-operator", **apply
    )
    with pytest.raises(ApiException) as info:
        await apps.patch_namespaced_deployment(
            "web", namespace, deployment(namespace, 3), field_manager="someone-else", **apply
        )
    assert info.value.status == 409
    assert 'conflict with "agentops-operator"' in status_message(info.value)
    forced = await apps.patch_namespaced_deployment(
        "web",
        namespace,
        deployment(namespace, 3),
        field_manager="someone-else",
        force=True,
        **apply,
    )
    assert forced.spec.replicas == 3
    managers = {entry.manager for entry in forced.metadata.managed_fields}
    assert {"agentops-operator", "someone-else"} <= managers


async def test_deleting_an_owner_collects_what_it_owns(
    kube: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube)
    owner = await core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    child = await core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "child", "ownerReferences": [reference]}}
    )
    await core.delete_namespaced_config_map("owner", namespace, propagation_policy="Background")
    async with asyncio.timeout(30), watch.Watch() as stream:
        async for event in stream.stream(
            core.list_namespaced_config_map,
            namespace,
            field_selector="metadata.name=child",
            resource_version=child.metadata.resource_version,
            timeout_seconds=30,
        ):
            if event["type"] == "DELETED":
                break
    with pytest.raises(ApiException) as info:
        await core.read_namespaced_config_map("child", namespace)
    assert info.value.status == 404


def pod(privileged: bool) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "busybox:1.36"}
    if privileged:
        container["securityContext"] = {"privileged": True}
    else:
        container["securityContext"] = {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
    return {"metadata": {"name": "p"}, "spec": {"containers": [container]}}


async def test_pod_security_restricted_rejects_a_privileged_pod(
    kube: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube)
    await core.patch_namespace(
        namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}
    )
    with pytest.raises(ApiException) as info:
        await core.create_namespaced_pod(namespace, pod(privileged=True), dry_run="All")
    assert info.value.status == 403
    assert 'violates PodSecurity "restricted:latest"' in status_message(info.value)
    accepted = await core.create_namespaced_pod(namespace, pod(privileged=False), dry_run="All")
    assert accepted.metadata.name == "p"


async def test_limited_identity_is_denied_what_rbac_does_not_grant(
    kube: client.ApiClient, namespace: str, control_plane: ControlPlane
) -> None:
    async with await api_client(control_plane.limited_kubeconfig) as limited:
        with pytest.raises(ApiException) as info:
            await client.CustomObjectsApi(limited).list_namespaced_custom_object(
                GROUP, VERSION, namespace, "agents"
            )
        assert info.value.status == 403
        assert (
            f'User "{ControlPlane.LIMITED_USER}" cannot list resource "agents"'
            in status_message(info.value)
        )

        rbac = client.RbacAuthorizationV1Api(kube)
        await rbac.create_namespaced_role(
            namespace,
            {
                "metadata": {"name": "read-agents"},
                "rules": [
                    {"apiGroups": [GROUP], "resources": ["agents"], "verbs": ["get", "list"]}
                ],
            },
        )
        await rbac.create_namespaced_role_binding(
            namespace,
            {
                "metadata": {"name": "read-agents"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "read-agents",
                },
                "subjects": [{"kind": "User", "name": ControlPlane.LIMITED_USER}],
            },
        )
        # The authorizer learns of the binding through its informer: allow it a moment.
        listed = await eventually(
            lambda: client.CustomObjectsApi(limited).list_namespaced_custom_object(
                GROUP, VERSION, namespace, "agents"
            )
        )
        assert listed["items"] == []
        review = await client.AuthorizationV1Api(limited).create_self_subject_access_review(
            {
                "spec": {
                    "resourceAttributes": {
                        "namespace": namespace,
                        "group": GROUP,
                        "resource": "agents",
                        "verb": "delete",
                    }
                }
            }
        )
        assert review.status.allowed is False
