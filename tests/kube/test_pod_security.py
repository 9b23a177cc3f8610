"""Every pod the operator builds passes PodSecurity `restricted`: each builder's pod template is
created as a Pod by server-side dry run in a namespace that enforces the level, with the same
fully-featured inputs as the golden files (sidecars, init containers, hostile overrides)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_asyncio import client

from agentops_services.api.v1alpha1 import AgentRun
from agentops_services.kube import resources as types
from agentops_services.kube.rest import Kube, KubeError
from agentops_services.operator.builders.agent import build_agent_children
from agentops_services.operator.builders.agenttool import tool_children
from agentops_services.operator.builders.channel import channel_children
from agentops_services.operator.builders.git_workspace import git_workspace_env
from agentops_services.operator.builders.job import build_run_job
from tests.kube.operator_harness import enforce_restricted
from tests.unit.test_operator_builders import (
    PROVIDERS,
    RESOURCES,
    SETTINGS,
    TOOLS,
    daemon_agent,
    load,
    task_agent,
    task_run,
)
from tests.unit.test_operator_resources import GITLAB, TELEGRAM, channel_of, tool

pytestmark = pytest.mark.kube


def pod_templates() -> dict[str, dict[str, Any]]:
    """Pod specs from every builder, by what they are."""
    hostile = {
        "pod": {"runAsNonRoot": False, "runAsUser": 0},
        "container": {"privileged": True, "allowPrivilegeEscalation": True},
    }
    daemon = build_agent_children(
        daemon_agent(security=hostile), TOOLS, PROVIDERS, RESOURCES, SETTINGS
    )
    assert daemon.deployment is not None
    task_job, _ = build_run_job(task_run(), task_agent(), TOOLS, PROVIDERS, SETTINGS)
    git_run = load(AgentRun, "agentrun-git.yaml")
    assert git_run.spec.git is not None
    env, _ = git_workspace_env(git_run.spec.git, RESOURCES["agentops-core"])
    git_job, _ = build_run_job(git_run, task_agent(), TOOLS, PROVIDERS, SETTINGS, git_env=env)
    server = {"image": "ghcr.io/example/mcp:1", "command": ["serve"], "security": hostile}
    mcp_children, _ = tool_children(tool("k8s", mcpServer=server))
    event_children, _ = channel_children(channel_of("mr", **GITLAB), "daemon")
    chat_children, _ = channel_children(channel_of("chat", **TELEGRAM), "task")

    def template(children: list[dict[str, Any]]) -> dict[str, Any]:
        (deployment,) = [c for c in children if c["kind"] == "Deployment"]
        spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
        return spec

    return {
        "daemon agent (hostile overrides)": daemon.deployment["spec"]["template"]["spec"],
        "task run Job": task_job["spec"]["template"]["spec"],
        "git workspace Job": git_job["spec"]["template"]["spec"],
        "mcpServer tool (hostile overrides)": template(mcp_children),
        "event channel": template(event_children),
        "chat channel": template(chat_children),
    }


async def test_every_operator_built_pod_is_admitted_under_restricted(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    await enforce_restricted(k, namespace)
    refused = {}
    for what, spec in pod_templates().items():
        account = spec.get("serviceAccountName")
        if account and await k.get(types.SERVICE_ACCOUNT, namespace, account) is None:
            await k.create(types.SERVICE_ACCOUNT, namespace, {"metadata": {"name": account}})
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "dry-run"}, "spec": spec}
        try:
            await k.create(types.POD, namespace, pod, dry_run=True)
        except KubeError as exc:
            refused[what] = exc.message
    assert refused == {}

    # The check can fail: a privileged pod is refused in the same namespace.
    bad = {"containers": [{"name": "x", "image": "x", "securityContext": {"privileged": True}}]}
    with pytest.raises(KubeError, match="restricted"):
        await k.create(types.POD, namespace, {"metadata": {"name": "bad"}, "spec": bad}, True)
