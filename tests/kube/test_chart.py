"""The Helm chart, validated with the real helm and the real control plane: lint, renders with
default values and with every feature on, server-side dry-run of every object under PodSecurity
`restricted`, the operator's ServiceAccount doing the operator's work (impersonated) and being
refused beyond it, and an upgrade from the previous chart version."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import yaml
from kubernetes_asyncio import client

from agentops_services.kube import resources as types
from agentops_services.kube.rest import Kube, KubeError, Object
from agentops_services.testing.binaries import KUBERNETES_VERSION
from agentops_services.testing.controlplane import ControlPlane
from tests.conftest import REPO, eventually
from tests.kube.chart_harness import (
    CHART,
    Release,
    all_features,
    by_kind,
    cluster_wide,
    helm,
    helm_refusal,
    impersonating,
    render,
    values_args,
)
from tests.kube.operator_harness import (
    API,
    agent,
    agent_run,
    create,
    get,
    running_operator,
    status_of,
    with_provider,
)
from tests.kube.test_operator_runs import finish_pod

pytestmark = pytest.mark.kube
APP_VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
RESTRICTED = {
    f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")
}
ValueSet = Callable[[Release], Object]
VALUE_SETS: dict[str, ValueSet] = {
    "default": lambda release: release.values(),
    "all-features": all_features,
    "cluster-wide": cluster_wide,
}


def _release_for(name: str) -> Release:
    return Release.fresh(agent_namespaces=2 if name == "all-features" else 1)


def _pod_templates(objects: list[Object]) -> dict[str, Object]:
    return {
        key: deployment["spec"]["template"]
        for key, deployment in by_kind(objects, "Deployment").items()
    }


def _env(deployment: Object) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


# --- helm lint and template ------------------------------------------------------------------


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_the_chart_lints(value_set: str, tmp_path: Path) -> None:
    release = _release_for(value_set)
    values = VALUE_SETS[value_set](release)
    out = helm(
        "lint", "--strict", str(CHART), "--namespace", release.namespace,
        "--kube-version", KUBERNETES_VERSION, *values_args(values, tmp_path),
    )  # fmt: skip
    assert "1 chart(s) linted, 0 chart(s) failed" in out


def test_default_values_render_the_two_namespace_platform(tmp_path: Path) -> None:
    release = Release.fresh()
    (agents,) = release.agent_namespaces
    objects = render(release, release.values(), tmp_path)

    namespace = by_kind(objects, "Namespace")[agents]
    assert RESTRICTED.items() <= namespace["metadata"]["labels"].items()
    assert namespace["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    # Least privilege by default: Roles where the agents are, nothing cluster-wide.
    assert set(by_kind(objects, "Role")) == {
        f"{agents}/{release.name}-operator",
        f"{release.namespace}/{release.name}-operator-leader-election",
    }
    leader = by_kind(objects, "Role")[
        f"{release.namespace}/{release.name}-operator-leader-election"
    ]
    assert [r["resources"] for r in leader["rules"]] == [["leases"]]

    deployments = by_kind(objects, "Deployment")
    assert set(deployments) == {
        f"{release.namespace}/{release.name}-operator",
        f"{release.namespace}/{release.name}-tempo",
        f"{agents}/agentops-memory",
    }
    env = _env(deployments[f"{release.namespace}/{release.name}-operator"])
    tempo = f"http://{release.name}-tempo.{release.namespace}.svc:4318"
    assert env["WATCH_NAMESPACES"] == agents
    assert env["AGENTOPS_RUNTIME_IMAGE"] == f"ghcr.io/agentops/agentops-runtime:{APP_VERSION}"
    assert env["AGENTOPS_IMAGE"] == f"ghcr.io/agentops/agentops:{APP_VERSION}"
    assert env["AGENTOPS_AGENT_OTLP_ENDPOINT"] == tempo == env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    # The memory service is where Agents' spec.memory.serverRef: agentops-memory points.
    memory = by_kind(objects, "Service")[f"{agents}/agentops-memory"]
    assert memory["spec"]["ports"][0]["port"] == 7437
    platform = by_kind(objects, "ConfigMap")[f"{agents}/agentops-platform"]
    assert platform["data"] == {
        "memoryService": f"{agents}/agentops-memory:7437",
        "tempoService": f"{release.namespace}/{release.name}-tempo:3200",
    }
    # No console user named: the console's ClusterRole exists, bound to nobody.
    assert set(by_kind(objects, "ClusterRole")) == {f"{release.name}-console"}
    assert not by_kind(objects, "ClusterRoleBinding") and not by_kind(objects, "RoleBinding").get(
        f"{agents}/{release.name}-console"
    )
    pvc = by_kind(objects, "PersistentVolumeClaim")[f"{agents}/agentops-memory-data"]
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    for key, template in _pod_templates(objects).items():
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, key
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, key
            assert context["capabilities"]["drop"] == ["ALL"], key


def test_every_feature_renders(tmp_path: Path) -> None:
    release = Release.fresh(agent_namespaces=2)
    first, second = release.agent_namespaces
    objects = render(release, all_features(release), tmp_path)

    roles = by_kind(objects, "Role")
    assert {f"{first}/{release.name}-operator", f"{second}/{release.name}-operator"} <= set(roles)
    operator = by_kind(objects, "Deployment")[f"{release.namespace}/{release.name}-operator"]
    assert operator["spec"]["replicas"] == 2
    assert _env(operator)["WATCH_NAMESPACES"] == f"{first},{second}"
    assert "--leader-elect" in operator["spec"]["template"]["spec"]["containers"][0]["args"]
    # Agents of the second namespace reach the one memory service by the same name.
    alias = by_kind(objects, "Service")[f"{second}/agentops-memory"]
    assert alias["spec"]["externalName"] == f"agentops-memory.{first}.svc.cluster.local"
    claims = by_kind(objects, "PersistentVolumeClaim")
    assert claims[f"{first}/agentops-memory-data"]["spec"]["storageClassName"] == "fast"
    assert f"{release.namespace}/{release.name}-tempo-data" in claims
    policies = by_kind(objects, "NetworkPolicy")
    memory_policy = policies[f"{first}/agentops-memory"]["spec"]
    allowed = memory_policy["ingress"][0]["from"]
    assert allowed[0]["namespaceSelector"]["matchExpressions"][0]["values"] == [first, second]
    assert allowed[1]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    bindings = by_kind(objects, "RoleBinding")
    for namespace in (first, second):
        subjects = bindings[f"{namespace}/{release.name}-console"]["subjects"]
        assert [(s["kind"], s["name"]) for s in subjects] == [("User", "alice"), ("Group", "sre")]
    assert f"{release.namespace}/{release.name}-console-traces" in bindings
    for template in _pod_templates(objects).values():
        if template["metadata"]["labels"]["app.kubernetes.io/component"] != "tempo":
            assert template["spec"]["imagePullSecrets"] == [{"name": "registry"}]


def test_cluster_wide_rbac_and_an_external_tempo_render(tmp_path: Path) -> None:
    release = Release.fresh()
    objects = render(release, cluster_wide(release), tmp_path)

    assert set(by_kind(objects, "ClusterRole")) == {
        f"{release.name}-operator",
        f"{release.name}-console",
    }
    assert set(by_kind(objects, "ClusterRoleBinding")) == {f"{release.name}-operator"}
    assert set(by_kind(objects, "Role")) == {
        f"{release.namespace}/{release.name}-operator-leader-election"
    }
    (agents,) = release.agent_namespaces
    platform = by_kind(objects, "ConfigMap")[f"{agents}/agentops-platform"]
    assert platform["data"]["tempoService"] == "observability/tempo:3200"
    operator = by_kind(objects, "Deployment")[f"{release.namespace}/{release.name}-operator"]
    env = _env(operator)
    assert "WATCH_NAMESPACES" not in env
    assert env["AGENTOPS_AGENT_OTLP_ENDPOINT"] == "http://tempo.observability.svc:4318"
    assert not [key for key in by_kind(objects, "Deployment") if key.endswith("-tempo")]


@pytest.mark.parametrize(
    ("endpoint", "port"),
    [
        ("http://tempo.observability.svc:4318", 4318),
        ("https://otlp.example.com:4443/v1", 4443),
        ("https://otlp.example.com", 443),
        ("http://collector.observability.svc", 80),
    ],
)
def test_the_memory_service_may_reach_an_external_trace_receiver_on_its_port(
    endpoint: str, port: int, tmp_path: Path
) -> None:
    release = Release.fresh()
    values = release.values(
        {"tracing": {"mode": "external", "external": {"otlpEndpoint": endpoint}}}
    )
    objects = render(release, values, tmp_path)
    (agents,) = release.agent_namespaces
    egress = by_kind(objects, "NetworkPolicy")[f"{agents}/agentops-memory"]["spec"]["egress"]
    assert egress[-1] == {"ports": [{"protocol": "TCP", "port": port}]}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"operator": {"replica": 2}}, "additional properties 'replica' not allowed"),
        ({"tracing": {"mode": "jaeger"}}, "/tracing/mode"),
        ({"agentNamespaces": []}, "/agentNamespaces"),
        ({"memory": {"dedupWindow": "soon"}}, "/memory/dedupWindow"),
        ({"tracing": {"mode": "external"}}, "/tracing/external/otlpEndpoint"),
    ],
)
def test_bad_values_are_refused_naming_the_key(
    values: Object, message: str, tmp_path: Path
) -> None:
    stderr = helm_refusal(
        "template", "x", str(CHART), "--kube-version", KUBERNETES_VERSION,
        *values_args(values, tmp_path),
    )  # fmt: skip
    assert message in stderr, stderr


# --- the real control plane: dry-run under PodSecurity restricted ----------------------------


async def _apply(kube: Kube, obj: Object, *, dry_run: bool) -> list[str]:
    """Server-side apply of one rendered object as helm's field manager; the API server's
    warnings (PodSecurity `warn` reports through them)."""
    kube.warnings.clear()
    await kube.apply(obj, "helm", dry_run=dry_run)
    return list(kube.warnings)


async def _dry_run_pod(kube: Kube, namespace: str, template: Object) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "dry-run-", "labels": template["metadata"]["labels"]},
        "spec": template["spec"],
    }
    await kube.create(types.POD, namespace, pod, dry_run=True)


@pytest.fixture
async def cleanup(kube: client.ApiClient) -> AsyncIterator[list[tuple[types.ResourceType, str]]]:
    """Cluster-scoped objects (namespaces, cluster roles) a test made; deleted afterwards."""
    made: list[tuple[types.ResourceType, str]] = []
    yield made
    k = Kube(kube)
    for kind, name in made:
        await k.delete(kind, None, name)


async def _make_release_namespace(
    k: Kube, release: Release, made: list[tuple[types.ResourceType, str]]
) -> None:
    """The release namespace, labelled as the README says (helm cannot label a namespace it
    creates)."""
    body = {"metadata": {"name": release.namespace, "labels": RESTRICTED}}
    await k.create(types.NAMESPACE, None, body)
    made.append((types.NAMESPACE, release.namespace))


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
async def test_every_object_passes_a_server_side_dry_run_under_restricted_pod_security(
    value_set: str,
    kube: client.ApiClient,
    cleanup: list[tuple[types.ResourceType, str]],
    tmp_path: Path,
) -> None:
    release = _release_for(value_set)
    objects = render(release, VALUE_SETS[value_set](release), tmp_path)
    k = Kube(kube)
    await _make_release_namespace(k, release, cleanup)
    for namespace in release.agent_namespaces:
        cleanup.append((types.NAMESPACE, namespace))
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    assert len(namespaces) == len(release.agent_namespaces)
    for obj in namespaces:  # namespaced objects cannot be dry-run into a namespace that is not
        await _apply(k, obj, dry_run=False)
    for obj in namespaces:
        live = await get(k, types.NAMESPACE, "", obj["metadata"]["name"])
        assert RESTRICTED.items() <= live["metadata"]["labels"].items()

    warnings = {}
    for obj in objects:
        if obj["kind"] != "Namespace":
            meta = obj["metadata"]
            key = f"{obj['kind']} {meta.get('namespace', '')}/{meta['name']}"
            warnings[key] = await _apply(k, obj, dry_run=True)
    assert not {key: found for key, found in warnings.items() if found}
    assert len(warnings) == len(objects) - len(namespaces)

    # Enforcement, not only warnings: every pod the chart makes is admitted as a pod, and a pod
    # that is not restricted is refused in the same namespaces (so this check can fail).
    for obj in objects:
        if obj["kind"] == "ServiceAccount":
            await _apply(k, obj, dry_run=False)  # the pods' admission looks them up
    templates = _pod_templates(objects)
    assert templates
    for key, template in templates.items():
        await _dry_run_pod(k, key.split("/")[0], template)
    loose = {"metadata": {"labels": {}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    for namespace in {release.namespace, *release.agent_namespaces}:
        with pytest.raises(KubeError, match="violates PodSecurity"):
            await _dry_run_pod(k, namespace, loose)


# --- the operator's ServiceAccount --------------------------------------------------------------


@pytest.fixture
async def installed(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    cleanup: list[tuple[types.ResourceType, str]],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Release]:
    """The chart installed by `helm install` (no kubelet: its pods never run; its RBAC is what
    these tests need): default values and one console user, or with indirect parametrization
    the named value set."""
    release = Release.fresh()
    value_set: ValueSet = VALUE_SETS[getattr(request, "param", "default")]
    values = {**value_set(release), "console": {"users": [CONSOLE_USER]}}
    await _make_release_namespace(Kube(kube), release, cleanup)
    cleanup.extend((types.NAMESPACE, n) for n in release.agent_namespaces)
    kubeconfig = control_plane.kubeconfig
    notes = release.helm("install", kubeconfig, chart=CHART, values=values, directory=tmp_path)
    assert "WARNING" not in notes  # the release namespace is labelled
    yield release
    release.helm("uninstall", kubeconfig)


CONSOLE_USER = "alice@example.com"


def _operator(release: Release) -> tuple[str, list[str]]:
    """The operator's ServiceAccount as the API server sees it: user and groups."""
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{release.namespace}"]
    return release.operator_user, [*groups, "system:authenticated"]


async def _allowed(
    kube: client.ApiClient,
    subject: tuple[str, list[str]],
    namespace: str | None,
    verb: str,
    resource: str,
) -> bool:
    """SubjectAccessReview: may `subject` (user, groups) do `verb` on `resource`, written
    group/resource or group/resource/subresource (core group: empty)?"""
    group, name, *sub = resource.split("/")
    attributes = {"verb": verb, "group": group, "resource": name}
    if sub:
        attributes["subresource"] = sub[0]
    if namespace is not None:
        attributes["namespace"] = namespace
    user, groups = subject
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": user, "groups": groups, "resourceAttributes": attributes},
    }
    answer = await Kube(kube).create(types.SUBJECT_ACCESS_REVIEW, None, review)
    return bool(answer["status"].get("allowed"))


OPERATOR_WORK = [
    (verb, resource)
    for resource, verbs in {
        "agents.agentops.io/agents": "get list watch patch",
        "agents.agentops.io/agentruns": "get list watch create delete",
        "agents.agentops.io/agenttools": "get list watch",
        "agents.agentops.io/agentresources": "get list watch",
        "agents.agentops.io/channels": "get list watch",
        "agents.agentops.io/providers": "get list watch",
        "agents.agentops.io/agents/status": "patch",
        "agents.agentops.io/agentruns/status": "get patch update",
        "agents.agentops.io/providers/status": "patch",
        "/secrets": "get list watch",
        "/pods": "list",
        "/configmaps": "create patch delete list watch",
        "/services": "create patch delete",
        "/serviceaccounts": "create patch delete",
        "/persistentvolumeclaims": "create patch delete",
        "apps/deployments": "create patch delete list watch",
        "batch/jobs": "create patch delete",
        "networking.k8s.io/networkpolicies": "create patch delete",
        "networking.k8s.io/ingresses": "create patch delete",
        "rbac.authorization.k8s.io/roles": "create patch delete",
        "rbac.authorization.k8s.io/rolebindings": "create patch delete",
    }.items()
    for verb in verbs.split()
]
"""What the operator does in the agents' namespace (its kube tests exercise each)."""


async def test_the_operator_service_account_is_refused_beyond_its_namespaces(
    kube: client.ApiClient, installed: Release
) -> None:
    release = installed
    (agents,) = release.agent_namespaces
    missing = [
        (verb, resource)
        for verb, resource in OPERATOR_WORK
        if not await _allowed(kube, _operator(release), agents, verb, resource)
    ]
    assert not missing
    for verb in ("get", "create", "update"):
        assert await _allowed(
            kube, _operator(release), release.namespace, verb, "coordination.k8s.io/leases"
        )

    refused = [
        # Secrets anywhere but the agents' namespace, and writing Secrets at all.
        ("default", "get", "/secrets"),
        ("kube-system", "list", "/secrets"),
        (release.namespace, "get", "/secrets"),
        (None, "list", "/secrets"),
        (agents, "create", "/secrets"),
        (agents, "update", "/secrets"),
        # RBAC: nothing cluster-wide, nothing outside the agents' namespace, no escalation.
        (None, "create", "rbac.authorization.k8s.io/clusterroles"),
        (None, "create", "rbac.authorization.k8s.io/clusterrolebindings"),
        (None, "bind", "rbac.authorization.k8s.io/clusterroles"),
        (agents, "escalate", "rbac.authorization.k8s.io/roles"),
        (agents, "bind", "rbac.authorization.k8s.io/roles"),
        ("kube-system", "create", "rbac.authorization.k8s.io/rolebindings"),
        (release.namespace, "create", "rbac.authorization.k8s.io/roles"),
        # Workloads of other namespaces, pods directly, exec, tokens, nodes, namespaces.
        ("default", "create", "apps/deployments"),
        (None, "list", "agents.agentops.io/agents"),
        (agents, "create", "/pods"),
        (agents, "create", "/pods/exec"),
        (agents, "create", "/serviceaccounts/token"),
        (None, "list", "/nodes"),
        (None, "delete", "/namespaces"),
        (release.namespace, "delete", "coordination.k8s.io/leases"),
    ]
    wrongly_allowed = [case for case in refused if await _allowed(kube, _operator(release), *case)]
    assert not wrongly_allowed


@pytest.mark.parametrize("installed", ["cluster-wide"], indirect=True)
async def test_cluster_wide_the_operator_still_cannot_touch_cluster_rbac(
    kube: client.ApiClient, installed: Release
) -> None:
    """rbac.clusterWide: the operator's work in any namespace (Secrets included, as the README
    says), and still no cluster-scoped RBAC, escalation, exec, tokens or nodes."""
    operator = _operator(installed)
    granted = [
        (None, "list", "agents.agentops.io/agents"),
        ("team-a", "create", "apps/deployments"),
        ("team-a", "get", "/secrets"),
        ("team-a", "create", "rbac.authorization.k8s.io/roles"),
    ]
    assert [case for case in granted if not await _allowed(kube, operator, *case)] == []
    refused = [
        (None, "create", "rbac.authorization.k8s.io/clusterroles"),
        (None, "update", "rbac.authorization.k8s.io/clusterrolebindings"),
        (None, "bind", "rbac.authorization.k8s.io/clusterroles"),
        ("team-a", "escalate", "rbac.authorization.k8s.io/roles"),
        ("team-a", "create", "/secrets"),
        ("team-a", "create", "/pods/exec"),
        ("team-a", "create", "/serviceaccounts/token"),
        (None, "list", "/nodes"),
    ]
    assert [case for case in refused if await _allowed(kube, operator, *case)] == []


async def test_the_operator_service_account_does_the_operators_work(
    kube: client.ApiClient, installed: Release
) -> None:
    """The operator, acting as its ServiceAccount, reconciles a daemon agent with storage,
    network policy and memory, a tool server, a channel and a task run to Succeeded: every
    request it makes (granting the agents' Roles included, which RBAC allows only to holders of
    every verb granted) is within the chart's RBAC."""
    release = installed
    (ns,) = release.agent_namespaces
    admin = Kube(kube)
    async with (
        impersonating(kube, release.operator_user) as as_operator,
        running_operator(as_operator, ns, leader_elect=True, lease_namespace=release.namespace),
    ):
        await with_provider(admin, ns)
        daemon = agent(
            "helper",
            storage={"size": "1Gi"},
            networkPolicy={"enabled": True},
            memory={"serverRef": "agentops-memory"},
        )
        await create(admin, ns, daemon)
        server = {"image": "ghcr.io/example/k8s-mcp:1", "command": ["k8s-mcp"], "port": 9000}
        tool = {"apiVersion": API, "kind": "AgentTool", "metadata": {"name": "k8s"},
                "spec": {"mcpServer": server}}  # fmt: skip
        await create(admin, ns, tool)
        channel = {
            "apiVersion": API, "kind": "Channel", "metadata": {"name": "hook"},
            "spec": {"type": "webhook", "agentRef": "helper", "prompt": "go",
                     "image": "ghcr.io/agentops/channel-webhook:0.1.0",
                     "webhook": {"host": "hooks.example.com", "path": "/go"}},
        }  # fmt: skip
        await create(admin, ns, channel)
        await create(admin, ns, agent("auditor", mode="task"))
        await create(admin, ns, agent_run("audit-1", "auditor"))

        async def built() -> None:
            for kind, name in [
                (types.DEPLOYMENT, "helper"),
                (types.SERVICE, "helper"),
                (types.PVC, "helper-storage"),
                (types.NETWORK_POLICY, "helper-netpol"),
                (types.ROLE, "helper-agent"),
                (types.ROLE_BINDING, "helper-agent"),
                (types.SERVICE_ACCOUNT, "helper-agent"),
                (types.DEPLOYMENT, "agtool-k8s"),
                (types.ROLE, "hook-channel"),
                (types.INGRESS, "hook"),
                (types.JOB, "audit-1"),
            ]:
                await get(admin, kind, ns, name)

        await eventually(built, timeout=30)
        await eventually(lambda: finish_pod(admin, ns, "audit-1", {"success": True}), 20)

        async def done() -> None:
            run = await status_of(admin, types.AGENT_RUN, ns, "audit-1")
            assert run.get("phase") == "Succeeded", run
            provider = await status_of(admin, types.PROVIDER, ns, "anthropic")
            assert provider.get("phase") == "Ready", provider
            assert (await status_of(admin, types.AGENT, ns, "helper")).get("phase")

        await eventually(done, timeout=30)
        lease = await get(admin, types.LEASE, release.namespace, "agentops-operator")
        assert lease["spec"]["holderIdentity"]


async def test_a_console_user_gets_what_the_console_does_and_no_more(
    kube: client.ApiClient, installed: Release
) -> None:
    release = installed
    (agents,) = release.agent_namespaces
    user = (CONSOLE_USER, ["system:authenticated"])
    needed = [
        (agents, "list", "agents.agentops.io/agents"),
        (agents, "watch", "agents.agentops.io/agentruns"),
        (agents, "create", "agents.agentops.io/agentruns"),
        (agents, "update", "agents.agentops.io/providers"),
        (agents, "get", "/configmaps"),  # agentops-platform: where memory and Tempo are
        (agents, "list", "/pods"),
        (agents, "get", "/pods/log"),
        (agents, "create", "/pods/portforward"),
        (agents, "get", "/services/proxy"),
        (release.namespace, "get", "/services"),
        (release.namespace, "list", "/pods"),
        (release.namespace, "create", "/pods/portforward"),
    ]
    assert [case for case in needed if not await _allowed(kube, user, *case)] == []
    refused = [
        (agents, "get", "/secrets"),
        (agents, "create", "/pods/exec"),
        (agents, "create", "rbac.authorization.k8s.io/rolebindings"),
        (release.namespace, "get", "/secrets"),
        (release.namespace, "list", "apps/deployments"),
        ("kube-system", "create", "/pods/portforward"),
        (None, "list", "agents.agentops.io/agents"),
    ]
    assert [case for case in refused if await _allowed(kube, user, *case)] == []


async def test_installing_into_an_unlabelled_namespace_says_how_to_label_it(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    cleanup: list[tuple[types.ResourceType, str]],
    tmp_path: Path,
) -> None:
    release = Release.fresh()
    cleanup.extend((types.NAMESPACE, n) for n in (release.namespace, *release.agent_namespaces))
    kubeconfig = control_plane.kubeconfig
    notes = release.helm(
        "install", kubeconfig, "--create-namespace",
        chart=CHART, values=release.values(), directory=tmp_path,
    )  # fmt: skip
    assert f"WARNING: namespace {release.namespace} does not enforce PodSecurity" in notes
    assert (
        f"kubectl label namespace {release.namespace} pod-security.kubernetes.io/enforce=restricted"
        in notes
    )
    release.helm("uninstall", kubeconfig)


# --- upgrade ----------------------------------------------------------------------------------


def _previous_chart(into: Path) -> tuple[str, Path]:
    """The newest chart in git history whose version differs from the working tree's: its
    version and where it was extracted."""
    current = yaml.safe_load((CHART / "Chart.yaml").read_text())["version"]
    chart_yaml = "charts/agentops/Chart.yaml"

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout

    for commit in git("log", "--format=%H", "--", chart_yaml).split():
        version = yaml.safe_load(git("show", f"{commit}:{chart_yaml}"))["version"]
        if version != current:
            archive = subprocess.run(
                ["git", "-C", str(REPO), "archive", commit, "charts/agentops"],
                capture_output=True, timeout=60, check=True,
            )  # fmt: skip
            subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
            return str(version), into / "charts" / "agentops"
    raise AssertionError(f"no chart version before {current} in git history")


async def test_an_upgrade_from_the_previous_chart_version_keeps_the_memory_volume(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    cleanup: list[tuple[types.ResourceType, str]],
    tmp_path: Path,
) -> None:
    version, previous = _previous_chart(tmp_path)
    release = Release.fresh()
    (agents,) = release.agent_namespaces
    k = Kube(kube)
    await _make_release_namespace(k, release, cleanup)
    cleanup.append((types.NAMESPACE, agents))
    kubeconfig = control_plane.kubeconfig
    values = release.values()
    release.helm("install", kubeconfig, chart=previous, values=values, directory=tmp_path)
    claim = await get(k, types.PVC, agents, "agentops-memory-data")
    deployments = {"agentops-memory": agents, f"{release.name}-operator": release.namespace}
    selectors = {
        name: (await get(k, types.DEPLOYMENT, namespace, name))["spec"]["selector"]
        for name, namespace in deployments.items()
    }

    release.helm("upgrade", kubeconfig, chart=CHART, values=values, directory=tmp_path)
    listed = helm("list", "--namespace", release.namespace, "--output", "json",
                  kubeconfig=kubeconfig)  # fmt: skip
    (info,) = yaml.safe_load(listed)
    current = yaml.safe_load((CHART / "Chart.yaml").read_text())["version"]
    assert (info["status"], info["revision"]) == ("deployed", "2")
    assert info["chart"] == f"agentops-{current}" != f"agentops-{version}"
    after = await get(k, types.PVC, agents, "agentops-memory-data")
    assert after["metadata"]["uid"] == claim["metadata"]["uid"]
    for name, namespace in deployments.items():
        live = await get(k, types.DEPLOYMENT, namespace, name)
        assert live["spec"]["selector"] == selectors[name]
    # Every object of the new version is there.
    for obj in render(release, release.values(), tmp_path):
        kind = types.BY_KIND[obj["kind"]]
        await get(k, kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
    release.helm("uninstall", kubeconfig)
