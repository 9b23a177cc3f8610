"""The Job of a task AgentRun (§5.6) and, for git-workspace runs, its own config ConfigMap.

The runtime runs the prompt once and writes its result JSON to /dev/termination-log; the
AgentRun controller reads it from the `agent-runtime` container status, so the pod must still
exist when the Job finishes: ttlSecondsAfterFinished leaves the controller (woken by the Job's
status change) minutes to do it, then the Job and its pod go away.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from agentops_services.api.runtime_config import RuntimeConfig
from agentops_services.api.v1alpha1.agent import Agent, ResourceBinding
from agentops_services.api.v1alpha1.agentresource import AgentResource
from agentops_services.api.v1alpha1.agentrun import AgentRun
from agentops_services.api.v1alpha1.agenttool import AgentTool
from agentops_services.api.v1alpha1.provider import Provider
from agentops_services.operator import names
from agentops_services.operator.builders.durations import parse_duration
from agentops_services.operator.builders.metadata import child_metadata
from agentops_services.operator.builders.pod import agent_pod_spec
from agentops_services.operator.builders.runtime_config import resource_entry
from agentops_services.operator.builders.settings import BuilderSettings

DEFAULT_DEADLINE_SECONDS = 1800
"""activeDeadlineSeconds when the agent's timeout cannot be read."""
TTL_AFTER_FINISHED_SECONDS = 300


def deadline_seconds(timeout: str | None) -> int:
    """activeDeadlineSeconds for an agent timeout: whole seconds, at least 1."""
    seconds = parse_duration(timeout)
    if seconds is None or seconds <= 0:
        return DEFAULT_DEADLINE_SECONDS
    return max(1, math.ceil(seconds))


def run_env(run: AgentRun) -> list[dict[str, Any]]:
    """The run's prompt and identity, and the trace context of the agent that started it."""
    annotations = run.metadata.annotations or {}
    env = [
        {"name": "AGENT_PROMPT", "value": run.spec.prompt},
        {"name": "AGENT_RUN_NAME", "value": run.name},
    ]
    if traceparent := annotations.get(names.A_TRACEPARENT):
        env.append({"name": "TRACEPARENT", "value": traceparent})
    if parent := annotations.get(names.A_PARENT_AGENT):
        env.append({"name": "AGENT_RUN_SOURCE_AGENT", "value": parent})
    return env


def build_run_job(
    run: AgentRun,
    agent: Agent,
    tools: Mapping[str, AgentTool],
    providers: Mapping[str, Provider],
    settings: BuilderSettings,
    *,
    git_env: Sequence[dict[str, Any]] = (),
) -> tuple[dict[str, Any], list[str]]:
    """Job `<run>` owned by the AgentRun, and its pod's security-override violations.

    `git_env` is git_workspace.git_workspace_env's env for a run with spec.git; such a run reads
    its config from `<run>-config` (build_run_config_map).
    """
    config_map = names.run_config_map_name(run.name) if run.spec.git else None
    pod, violations = agent_pod_spec(
        agent,
        tools,
        providers,
        settings,
        config_map=config_map,
        extra_env=[*run_env(run), *git_env],
    )
    pod["restartPolicy"] = "Never"
    metadata = child_metadata(run.name, run, agent.name, "task-run", {names.L_RUN: run.name})
    template_meta: dict[str, Any] = {"labels": dict(metadata["labels"])}
    if agent.spec.pod_annotations:
        template_meta["annotations"] = dict(agent.spec.pod_annotations)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_seconds(agent.spec.timeout),
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_SECONDS,
            "template": {"metadata": template_meta, "spec": pod},
        },
    }
    return job, violations


def build_run_config_map(
    run: AgentRun, agent_config_map: dict[str, Any], workspace: AgentResource
) -> dict[str, Any]:
    """`<run>-config`: the agent's `<agent>-config` data with the workspace resource added to
    config.json's resources (writable, described every turn) unless the agent already binds it.

    The name depends only on the run, so a retried reconcile finds the one it made (apply it,
    or treat AlreadyExists as done).
    """
    data = dict(agent_config_map.get("data") or {})
    config = RuntimeConfig.from_json(data[names.CONFIG_KEY])
    resources = list(config.resources or ())
    if all(r.name != workspace.name for r in resources):
        binding = ResourceBinding(name=workspace.name, read_only=False, auto_context=True)
        resources.append(resource_entry(workspace, binding))
    data[names.CONFIG_KEY] = config.model_copy(update={"resources": resources}).to_json()
    name = names.run_config_map_name(run.name)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": child_metadata(
            name, run, run.spec.agent_ref, "config", {names.L_RUN: run.name}
        ),
        "data": data,
    }
