"""The operator's pure builders: an Agent's and an AgentRun's children as golden YAML, plus the
rules that matter most pinned down one by one (security floor, config hash, permissions,
platformProtocol, env names, durations)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import pytest

from agentops_services.api.runtime_config import RuntimeConfig
from agentops_services.api.v1alpha1.agent import Agent
from agentops_services.api.v1alpha1.agentresource import AgentResource
from agentops_services.api.v1alpha1.agentrun import AgentRun
from agentops_services.api.v1alpha1.agenttool import AgentTool
from agentops_services.api.v1alpha1.common import PodSecurityContext, SecurityContext
from agentops_services.api.v1alpha1.meta import Resource
from agentops_services.api.v1alpha1.provider import Provider
from agentops_services.api.yaml_source import load_documents
from agentops_services.operator import names
from agentops_services.operator.builders.agent import build_agent_children, config_hash
from agentops_services.operator.builders.credentials import api_key_env, oauth2_env
from agentops_services.operator.builders.durations import parse_duration
from agentops_services.operator.builders.git_workspace import git_workspace_env, github_web_url
from agentops_services.operator.builders.job import (
    build_run_config_map,
    build_run_job,
    deadline_seconds,
)
from agentops_services.operator.builders.runtime_config import build_runtime_config
from agentops_services.operator.builders.security import secure_pod, violations_condition
from agentops_services.operator.builders.settings import BuilderSettings, OperatorImages
from tests.conftest import SAMPLES
from tests.golden import assert_golden

NAMESPACE = "agents"
SETTINGS = BuilderSettings(
    images=OperatorImages(
        runtime="ghcr.io/agentops/agentops:test",
        gateway="ghcr.io/agentops/agentops:test",
    ),
    otel_endpoint="http://tempo.monitoring.svc:4317",
)
R = TypeVar("R", bound=Resource)


def sample_data(file: str) -> dict[str, Any]:
    data: dict[str, Any] = load_documents((SAMPLES / file).read_text())[0].data
    data["metadata"] |= {"namespace": NAMESPACE, "uid": f"uid-{data['metadata']['name']}"}
    return data


def load(kind: type[R], file: str, **spec_changes: Any) -> R:
    """A sample as its model, in NAMESPACE with a uid, with top-level spec fields replaced."""
    data = sample_data(file)
    data["spec"] |= spec_changes
    return kind.model_validate(data)


def by_name(*resources: R) -> dict[str, R]:
    return {r.name: r for r in resources}


PROVIDERS = by_name(
    load(Provider, "provider-anthropic.yaml"),
    load(Provider, "provider-openai.yaml"),
    load(Provider, "provider-openaicompat-oauth2.yaml"),
)
TOOLS = by_name(
    load(AgentTool, "agenttool-mcpserver.yaml"),
    load(AgentTool, "agenttool-mcpendpoint.yaml"),
    load(AgentTool, "agenttool-oci.yaml"),
    load(AgentTool, "agenttool-skill.yaml"),
    load(AgentTool, "agenttool-inline.yaml"),
)
RESOURCES = by_name(
    load(AgentResource, "agentresource-github-repo.yaml"),
    load(AgentResource, "agentresource-documentation.yaml"),
)


def daemon_agent(**spec_changes: Any) -> Agent:
    """The daemon sample with every feature on: storage, NetworkPolicy, memory, delegation,
    MCP bindings (server and endpoint), an OCI tool, a skill and an OAuth2 provider."""
    base = sample_data("agent-daemon.yaml")["spec"]
    changes: dict[str, Any] = {
        "providerRefs": [*base["providerRefs"], {"name": "internal-llm"}],
        "tools": [
            *base["tools"],
            {"name": "external-k8s-mcp"},
            {"name": "k8s-helper"},
            {"name": "date-tool"},
        ],
        "delegation": {"team": ["triage-agent", "nightly-audit"], "maxFanOut": 3},
        "contextFiles": [{"configMapRef": {"name": "agent-context", "key": "AGENTS.md"}}],
        "env": {"LOG_LEVEL": "debug", "FEATURE_X": "on"},
    }
    return load(Agent, "agent-daemon.yaml", **(changes | spec_changes))


def task_agent() -> Agent:
    return load(Agent, "agent-task-oci.yaml")


def task_run(**spec_changes: Any) -> AgentRun:
    data = sample_data("agentrun.yaml")
    data["metadata"]["annotations"] = {
        names.A_TRACEPARENT: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        names.A_PARENT_AGENT: "code-review-agent",
    }
    data["spec"] |= {"agentRef": "triage-agent", "source": "agent"} | spec_changes
    return AgentRun.model_validate(data)


def config_of(children_config_maps: list[dict[str, Any]]) -> dict[str, Any]:
    text = children_config_maps[0]["data"][names.CONFIG_KEY]
    document: dict[str, Any] = json.loads(text)
    return document


# --- golden files ---------------------------------------------------------------------------


def test_daemon_agent_children_golden() -> None:
    children = build_agent_children(daemon_agent(), TOOLS, PROVIDERS, RESOURCES, SETTINGS)
    assert children.violations == []
    assert_golden("agent_daemon", children.manifests())
    # config.json again as YAML, so a review reads the document rather than an escaped string.
    assert_golden("agent_daemon_config_json", config_of(children.config_maps))


def test_task_agent_children_golden() -> None:
    children = build_agent_children(task_agent(), TOOLS, PROVIDERS, RESOURCES, SETTINGS)
    assert children.deployment is None and children.service is None
    assert children.storage_pvc is None and children.network_policy is None
    assert [m["kind"] for m in children.manifests()] == [
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ConfigMap",
    ]
    assert_golden("agent_task", children.manifests())


def test_task_job_golden() -> None:
    job, violations = build_run_job(task_run(), task_agent(), TOOLS, PROVIDERS, SETTINGS)
    assert violations == []
    assert_golden("job_task", job)


def test_git_workspace_job_golden() -> None:
    run = load(AgentRun, "agentrun-git.yaml")
    agent = task_agent()
    assert run.spec.git is not None
    env, error = git_workspace_env(run.spec.git, RESOURCES["agentops-core"])
    assert error is None
    job, _ = build_run_job(run, agent, TOOLS, PROVIDERS, SETTINGS, git_env=env)
    agent_config = build_agent_children(agent, TOOLS, PROVIDERS, {}, SETTINGS).config_maps[0]
    run_config = build_run_config_map(run, agent_config, RESOURCES["agentops-core"])
    assert_golden("job_git_workspace", [run_config, job])


# --- security floor -------------------------------------------------------------------------

POD = {
    "initContainers": [
        {"name": "init-pull", "image": "crane"},
        {"name": "gw-a", "image": "gw", "restartPolicy": "Always"},
    ],
    "containers": [{"name": "main", "image": "app"}],
}


def test_bad_overrides_are_refused_and_reported() -> None:
    pod_override = PodSecurityContext(
        run_as_non_root=False,
        run_as_user=0,
        seccomp_profile={"type": "Unconfined"},  # type: ignore[arg-type]
    )
    container_override = SecurityContext(
        allow_privilege_escalation=True,
        privileged=True,
        read_only_root_filesystem=False,
        run_as_user=0,
        capabilities={"add": ["NET_ADMIN"]},  # type: ignore[arg-type]
    )
    pod, violations = secure_pod(POD, "main", pod_override, container_override)
    joined = "; ".join(violations)
    for expected in (
        "pod.runAsNonRoot=false",
        "pod.runAsUser=0",
        "pod.seccompProfile.type=Unconfined",
        "container.allowPrivilegeEscalation=true",
        "container.privileged=true",
        "container.readOnlyRootFilesystem=false",
        "container.runAsUser=0",
        "container.capabilities.add=NET_ADMIN",
    ):
        assert expected in joined
    assert len(violations) == 8
    assert pod["securityContext"]["runAsUser"] == names.RESTRICTED_UID
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    main = pod["containers"][0]["securityContext"]
    assert "privileged" not in main and main["allowPrivilegeEscalation"] is False
    assert "add" not in main["capabilities"]
    condition = violations_condition(violations)
    assert condition["status"] == "True" and condition["reason"] == "OverridesClamped"
    assert condition["message"].startswith("8 override field(s) clamped")


def test_benign_overrides_are_kept_on_the_main_container_only() -> None:
    pod_override = PodSecurityContext(run_as_user=1000, fs_group=2000, supplemental_groups=[3])
    container_override = SecurityContext(
        run_as_user=1001,
        capabilities={"drop": ["SYS_ADMIN"]},  # type: ignore[arg-type]
    )
    pod, violations = secure_pod(POD, "main", pod_override, container_override)
    assert violations == []
    assert violations_condition([])["reason"] == "NoViolations"
    assert pod["securityContext"]["runAsUser"] == 1000
    assert pod["securityContext"]["supplementalGroups"] == [3]
    main = pod["containers"][0]
    assert main["securityContext"]["runAsUser"] == 1001
    assert main["securityContext"]["capabilities"]["drop"] == ["ALL", "NET_RAW", "SYS_ADMIN"]
    for init in pod["initContainers"]:
        assert "runAsUser" not in init["securityContext"]
        assert {"name": "tmp", "mountPath": "/tmp"} in init["volumeMounts"]
    assert main["resources"]["limits"]["ephemeral-storage"] == "128Mi"
    plain_init, sidecar = pod["initContainers"]
    assert "resources" not in plain_init
    assert sidecar["resources"]["limits"]["cpu"] == "100m"
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]


def test_service_account_token_is_mounted_only_on_opt_in() -> None:
    assert secure_pod(POD, "main", None, None)[0]["automountServiceAccountToken"] is False
    opted = secure_pod(POD, "main", None, None, automount_token=True)[0]
    assert opted["automountServiceAccountToken"] is True
    job, _ = build_run_job(task_run(), task_agent(), TOOLS, PROVIDERS, SETTINGS)
    assert job["spec"]["template"]["spec"]["automountServiceAccountToken"] is True


def test_daemon_pods_mount_the_token_to_write_run_status_unless_told_not_to() -> None:
    def mounted(agent: Agent) -> bool:
        children = build_agent_children(agent, TOOLS, PROVIDERS, RESOURCES, SETTINGS)
        assert children.deployment is not None
        return bool(children.deployment["spec"]["template"]["spec"]["automountServiceAccountToken"])

    assert mounted(daemon_agent()) is True
    assert mounted(daemon_agent(security={"automountServiceAccountToken": False})) is False


# --- config.json, permissions.json, hash ----------------------------------------------------


def test_config_change_changes_the_pod_template_hash() -> None:
    def template_hash(agent: Agent) -> str:
        children = build_agent_children(agent, TOOLS, PROVIDERS, RESOURCES, SETTINGS)
        assert children.deployment is not None
        annotations = children.deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations[names.A_CONFIG_HASH] == config_hash(children.config_maps)
        return str(annotations[names.A_CONFIG_HASH])

    same = template_hash(daemon_agent())
    assert template_hash(daemon_agent()) == same
    assert template_hash(daemon_agent(systemPrompt="Be brief.")) != same
    stricter = daemon_agent(
        tools=[{"name": "gitlab-mcp", "permissions": {"mode": "deny", "rules": ["x"]}}]
    )
    assert template_hash(stricter) != same


def test_permissions_json_uses_binding_rules_else_tool_defaults() -> None:
    children = build_agent_children(daemon_agent(), TOOLS, PROVIDERS, RESOURCES, SETTINGS)
    gateway = children.config_maps[1]
    assert gateway["metadata"]["name"] == "code-review-agent-gateway"
    permissions = json.loads(gateway["data"][names.PERMISSIONS_KEY])
    assert permissions == {
        "gitlab-mcp": {
            "mode": "allow",
            "rules": [
                "get_merge_request",
                "get_merge_request_changes",
                "create_merge_request_note",
                "list_pipelines:project_id=infra/*",
            ],
        },
        "external-k8s-mcp": {
            "mode": "deny",
            "rules": ["delete_resource", "apply_manifest:namespace=kube-*"],
        },
    }
    servers = config_of(children.config_maps)["mcpServers"]
    assert [(s["name"], s["port"]) for s in servers] == [
        ("gitlab-mcp", 9001),
        ("external-k8s-mcp", 9002),
    ]
    assert servers[1]["permissions"] == permissions["external-k8s-mcp"]


def test_agent_without_mcp_bindings_has_no_gateway_config() -> None:
    children = build_agent_children(
        daemon_agent(tools=[{"name": "k8s-helper"}]), TOOLS, PROVIDERS, RESOURCES, SETTINGS
    )
    assert [cm["metadata"]["name"] for cm in children.config_maps] == ["code-review-agent-config"]


@pytest.mark.parametrize(
    ("changes", "present", "absent"),
    [
        (
            {},
            [
                "You are code-review-agent, a daemon agent in the agents namespace.",
                "## Delegation",
                "  - triage-agent",
                "Maximum parallel delegations per fan-out: 3.",
                "## Memory System",
                "call mem_save after",
                "call mem_search when",
            ],
            ["Do NOT call"],
        ),
        (
            {
                "memory": {"serverRef": "mem", "autoSave": False, "autoSearch": False},
                "delegation": None,
            },
            ["## Memory System", "Do NOT call mem_save", "Do NOT call mem_search"],
            ["## Delegation", "call mem_save after", "call mem_search when"],
        ),
        ({"memory": None, "delegation": None}, ["You are code-review-agent"], ["##"]),
    ],
)
def test_platform_protocol_sections(
    changes: dict[str, Any], present: list[str], absent: list[str]
) -> None:
    agent = daemon_agent(**changes)
    protocol = build_runtime_config(agent, PROVIDERS, TOOLS, RESOURCES).platform_protocol or ""
    for text in present:
        assert text in protocol
    for text in absent:
        assert text not in protocol
    assert agent.spec.system_prompt and protocol not in agent.spec.system_prompt


@pytest.mark.parametrize(
    ("provider", "expected"),
    [("anthropic", "ANTHROPIC_API_KEY"), ("my-llm", "MY_LLM_API_KEY"), ("a.b-c", "A_B_C_API_KEY")],
)
def test_api_key_env_names_are_sanitised(provider: str, expected: str) -> None:
    assert api_key_env(provider) == expected


def test_providers_wire_keys_and_oauth2_without_a_sidecar() -> None:
    config = build_runtime_config(daemon_agent(), PROVIDERS, TOOLS, RESOURCES)
    entries = {p.name: p for p in config.providers or ()}
    oauth = entries["internal-llm"].oauth2
    assert oauth is not None
    assert (oauth.client_id_env, oauth.client_secret_env) == oauth2_env("internal-llm")
    assert oauth.scopes == ["llm.invoke"]
    assert entries["internal-llm"].base_url == "https://llm.internal.example.com/v1"
    call_defaults = entries["openai"].call_defaults
    assert call_defaults is not None and call_defaults.openai is not None
    assert call_defaults.openai.reasoning_effort == "low"  # the agent's override wins
    assert call_defaults.openai.service_tier == "auto"  # the provider's default stays
    children = build_agent_children(daemon_agent(), TOOLS, PROVIDERS, RESOURCES, SETTINGS)
    assert children.deployment is not None
    pod = children.deployment["spec"]["template"]["spec"]
    env_names = [e["name"] for e in pod["containers"][0]["env"]]
    assert {"ANTHROPIC_API_KEY", "OPENAI_API_KEY", *oauth2_env("internal-llm")} <= set(env_names)
    assert not any(c["name"].startswith("ti-") for c in pod["initContainers"])


def test_config_json_round_trips_through_the_runtime_model() -> None:
    children = build_agent_children(daemon_agent(), TOOLS, PROVIDERS, RESOURCES, SETTINGS)
    text = children.config_maps[0]["data"][names.CONFIG_KEY]
    assert RuntimeConfig.from_json(text).to_json() == text
    document = config_of(children.config_maps)
    assert document["contextFiles"] == [
        {"path": "/tools/code-review-skill"},
        {"path": "/etc/context/AGENTS.md"},
    ]
    assert [t["name"] for t in document["tools"]] == ["k8s-helper", "date-tool"]
    assert document["memory"]["serverURL"] == "http://agentops-memory.agents.svc:7437"


# --- task runs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("0", 0.0),
        ("-2m", -120.0),
        ("", None),
        ("10", None),
        ("10x", None),
        ("m10", None),
        ("1h 30m", None),
        (None, None),
    ],
)
def test_parse_duration(text: str | None, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("timeout", "deadline"), [("15m", 900), ("500ms", 1), ("bogus", 1800), ("0", 1800)]
)
def test_job_deadline(timeout: str, deadline: int) -> None:
    assert deadline_seconds(timeout) == deadline


def test_git_workspace_env_per_kind_and_refusal() -> None:
    run = load(AgentRun, "agentrun-git.yaml")
    assert run.spec.git is not None
    gitlab = load(AgentResource, "agentresource-gitlab-project.yaml")
    env, error = git_workspace_env(run.spec.git, gitlab)
    assert error is None
    values = {e["name"]: e.get("value") for e in env}
    assert values["GIT_REPO_URL"] == "https://gitlab.com/homecluster/flux.git"
    assert values["GIT_PROVIDER"] == "gitlab"
    assert {"GITLAB_TOKEN", "GIT_TOKEN"} <= set(values)
    s3 = load(AgentResource, "agentresource-s3-bucket.yaml")
    env, error = git_workspace_env(run.spec.git, s3)
    assert env == [] and error is not None and "s3-bucket" in error
    assert github_web_url("https://ghe.example.com/api/v3") == "https://ghe.example.com"
    assert github_web_url("https://api.github.com") == "https://github.com"


def test_task_job_completes_with_native_sidecars() -> None:
    agent = load(
        Agent, "agent-task-oci.yaml", tools=[{"name": "k8s-helper"}, {"name": "gitlab-mcp"}]
    )
    job, _ = build_run_job(task_run(), agent, TOOLS, PROVIDERS, SETTINGS)
    pod = job["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == [names.RUNTIME_CONTAINER]
    gateway = next(c for c in pod["initContainers"] if c["name"] == "gw-gitlab-mcp")
    assert gateway["restartPolicy"] == "Always"
    assert pod["restartPolicy"] == "Never"


def test_memory_server_ref_naming_an_agenttool_uses_its_base_url() -> None:
    data = sample_data("agenttool-mcpserver.yaml")
    data["metadata"]["name"] = "agentops-memory"
    data["status"] = {"serviceURL": "http://agtool-agentops-memory.agents.svc:8080/mcp"}
    memory_tool = AgentTool.model_validate(data)
    config = build_runtime_config(
        daemon_agent(), PROVIDERS, TOOLS | {memory_tool.name: memory_tool}, RESOURCES
    )
    assert config.memory is not None
    assert config.memory.server_url == "http://agtool-agentops-memory.agents.svc:8080"
