"""The agent pod spec (§5.1), one builder for the daemon Deployment and the task Job.

The agentops image runs everything: the main container `agent-runtime` runs
`agentops runtime`, which serves the HTTP API on 4096 as a daemon, or runs the prompt in
AGENT_PROMPT once and writes the result JSON to /dev/termination-log (task Jobs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentops_services.api.v1alpha1.agent import Agent
from agentops_services.api.v1alpha1.agenttool import AgentTool
from agentops_services.api.v1alpha1.provider import Provider
from agentops_services.operator import names
from agentops_services.operator.builders.credentials import provider_env, secret_env
from agentops_services.operator.builders.gateway_sidecar import (
    GATEWAY_CONFIG_VOLUME,
    gateway_sidecar,
)
from agentops_services.operator.builders.security import secure_pod
from agentops_services.operator.builders.settings import BuilderSettings
from agentops_services.operator.builders.tool_bindings import (
    BoundTool,
    bind_tools,
    inline_tool_key,
    mcp_tools,
)
from agentops_services.operator.builders.tool_pull import (
    PULL_SOURCES,
    TOOLS_VOLUME,
    pull_init_container,
    pull_volumes,
)

CONFIG_VOLUME = "operator-config"
DATA_VOLUME = "data"
STATE_DIR = f"{names.DATA_MOUNT}/state"
RUNTIME_COMMAND = [
    "agentops",
    "runtime",
    "--config",
    f"{names.CONFIG_MOUNT}/{names.CONFIG_KEY}",
    "--state-dir",
    STATE_DIR,
]
SCRIPT_FILE = "index.js"


def _script_volume(bound: BoundTool, config_map: str) -> dict[str, Any] | None:
    """The volume that puts a configMap or inline tool's script at /tools/<binding>/index.js."""
    spec = bound.tool.spec
    if spec.config_map:
        name, key = spec.config_map.name, spec.config_map.key
    elif spec.inline:
        name, key = config_map, inline_tool_key(bound)
    else:
        return None
    return {
        "name": f"tool-cm-{bound.name}",
        "configMap": {"name": name, "items": [{"key": key, "path": SCRIPT_FILE}]},
    }


def _data_volume(agent: Agent) -> dict[str, Any]:
    if agent.spec.mode == "daemon" and agent.spec.storage:
        claim = {"claimName": names.storage_pvc_name(agent.name)}
        return {"name": DATA_VOLUME, "persistentVolumeClaim": claim}
    return {"name": DATA_VOLUME, "emptyDir": {}}


def _volumes(agent: Agent, bound: list[BoundTool], config_map: str) -> list[dict[str, Any]]:
    volumes: list[dict[str, Any]] = [
        {"name": TOOLS_VOLUME, "emptyDir": {}},
        {"name": CONFIG_VOLUME, "configMap": {"name": config_map}},
        _data_volume(agent),
    ]
    if mcp_tools(bound):
        gateway_map = {"name": names.gateway_config_map_name(agent.name)}
        volumes.append({"name": GATEWAY_CONFIG_VOLUME, "configMap": gateway_map})
    volumes += [v for b in bound if (v := _script_volume(b, config_map)) is not None]
    for index, context in enumerate(agent.spec.context_files or ()):
        ref = context.config_map_ref
        items = [{"key": ref.key, "path": ref.key}]
        volumes.append(
            {"name": f"context-{index}", "configMap": {"name": ref.name, "items": items}}
        )
    for b in bound:
        if b.source in PULL_SOURCES:
            volumes += pull_volumes(b)
    return volumes


def _mounts(agent: Agent, bound: list[BoundTool]) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [
        {"name": TOOLS_VOLUME, "mountPath": names.TOOLS_MOUNT},
        {"name": CONFIG_VOLUME, "mountPath": names.CONFIG_MOUNT, "readOnly": True},
        {"name": DATA_VOLUME, "mountPath": names.DATA_MOUNT},
    ]
    mounts += [
        {"name": f"tool-cm-{b.name}", "mountPath": b.path, "readOnly": True}
        for b in bound
        if b.source in ("configMap", "inline")
    ]
    for index, context in enumerate(agent.spec.context_files or ()):
        key = context.config_map_ref.key
        mounts.append(
            {
                "name": f"context-{index}",
                "mountPath": f"{names.CONTEXT_MOUNT}/{key}",
                "subPath": key,
                "readOnly": True,
            }
        )
    return mounts


def runtime_env(
    agent: Agent, providers: Mapping[str, Provider], settings: BuilderSettings
) -> list[dict[str, Any]]:
    """The runtime's environment, in §5.1 order: identity, telemetry, spec.env (sorted),
    spec.secrets, then the provider credentials."""
    spec = agent.spec
    env: list[dict[str, Any]] = [
        {"name": "AGENT_NAME", "value": agent.name},
        {
            "name": "AGENT_NAMESPACE",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
        },
        {"name": "AGENT_MODE", "value": spec.mode},
        {"name": "AGENT_RUNTIME", "value": "agentops"},
        {"name": "WORKSPACE", "value": names.DATA_MOUNT},
    ]
    if settings.otel_endpoint:
        env.append({"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": settings.otel_endpoint})
    env.append({"name": "OTEL_SERVICE_NAME", "value": agent.name})
    env += [{"name": key, "value": value} for key, value in sorted((spec.env or {}).items())]
    env += [secret_env(s.name, s.secret_ref) for s in spec.secrets or ()]
    return env + provider_env(agent, providers)


def _health_probe(delay: int, period: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": "/healthz", "port": names.RUNTIME_PORT},
        "initialDelaySeconds": delay,
        "periodSeconds": period,
        "timeoutSeconds": 1,
        "failureThreshold": 3,
    }


def _daemon_endpoints() -> dict[str, Any]:
    return {
        "ports": [{"name": "http", "containerPort": names.RUNTIME_PORT, "protocol": "TCP"}],
        "livenessProbe": _health_probe(delay=10, period=30),
        "readinessProbe": _health_probe(delay=5, period=10),
    }


def _main_container(
    agent: Agent,
    bound: list[BoundTool],
    env: list[dict[str, Any]],
    settings: BuilderSettings,
) -> dict[str, Any]:
    spec = agent.spec
    container: dict[str, Any] = {
        "name": names.RUNTIME_CONTAINER,
        "image": spec.image or settings.images.runtime,
        "imagePullPolicy": spec.image_pull_policy,
        "command": list(RUNTIME_COMMAND),
        "env": env,
    }
    if spec.mode == "daemon":
        container |= _daemon_endpoints()
    container["resources"] = spec.resources.model_dump(exclude_none=True) if spec.resources else {}
    container["volumeMounts"] = _mounts(agent, bound)
    # A task's result JSON is read from the termination message; if the runtime dies before
    # writing it, the log tail is the next best explanation.
    container["terminationMessagePolicy"] = "FallbackToLogsOnError"
    return container


def agent_pod_spec(
    agent: Agent,
    tools: Mapping[str, AgentTool],
    providers: Mapping[str, Provider],
    settings: BuilderSettings,
    *,
    config_map: str | None = None,
    extra_env: Sequence[dict[str, Any]] = (),
) -> tuple[dict[str, Any], list[str]]:
    """The secured pod spec of `agent` and the security-override violations.

    `config_map` replaces `<agent>-config` (git-workspace runs get their own); `extra_env` is
    appended to the runtime's env (a task run's prompt, trace context and git workspace).
    """
    spec = agent.spec
    bound = bind_tools(agent, tools)
    config_map = config_map or names.config_map_name(agent.name)
    namespace = agent.namespace or "default"
    init_containers = [
        pull_init_container(b, settings.images.crane) for b in bound if b.source in PULL_SOURCES
    ]
    init_containers += [
        gateway_sidecar(b, settings.images.gateway, namespace) for b in mcp_tools(bound)
    ]
    env = runtime_env(agent, providers, settings) + list(extra_env)
    pod: dict[str, Any] = {
        "serviceAccountName": spec.service_account_name or names.agent_rbac_name(agent.name),
    }
    if init_containers:
        pod["initContainers"] = init_containers
    pod["containers"] = [_main_container(agent, bound, env, settings)]
    pod["volumes"] = _volumes(agent, bound, config_map)
    security = spec.security
    return secure_pod(
        pod,
        names.RUNTIME_CONTAINER,
        security.pod if security else None,
        security.container if security else None,
        automount_token=_automount(agent),
    )


def _automount(agent: Agent) -> bool:
    """The API token is mounted when asked for, and by default in daemon pods: a daemon
    writes the status of the AgentRuns it executes (its Role allows only that, delegation and
    reading briefs). Task pods get it only when asked (delegation, run_finish)."""
    security = agent.spec.security
    explicit = security.automount_service_account_token if security else None
    return explicit if explicit is not None else agent.spec.mode == "daemon"
