"""The config.json and environment of a local runtime: the operator's, with loopback URLs and
files where a pod has Services and mounts, and what cannot run locally said plainly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentops_services.api.v1alpha1 import AgentTool
from agentops_services.local.demo import SCRIPT_FILE
from agentops_services.local.runtime_config import runtime_config_for
from agentops_services.local.runtime_env import local_environment
from tests.service.local_support import agent, provider

ROOT = Path("/data/agents/helper")


def tool(name: str, **source: Any) -> AgentTool:
    return AgentTool.model_validate({"metadata": {"name": name}, "spec": source})


TOOLS = {
    "lint": tool("lint", inline={"content": "console.log('lint')"}),
    "docs": tool("docs", configMap={"name": "scripts", "key": "docs.js"}),
    "search": tool(
        "search", mcpEndpoint={"url": "http://127.0.0.1:9000/mcp", "headers": {"X-Team": "a"}}
    ),
    "cluster": tool(
        "cluster", mcpServer={"image": "ghcr.io/x/kube-mcp:1", "command": ["kube-mcp"]}
    ),
    "kubectl": tool("kubectl", oci={"ref": "ghcr.io/x/kubectl:1.0.0"}),
}


def helper(**spec: Any) -> Any:
    return agent(
        "helper",
        tools=[{"name": n} for n in TOOLS],
        memory={"serverRef": "memory"},
        contextFiles=[{"configMapRef": {"name": "notes", "key": "team.md"}}],
        **spec,
    )


def test_files_urls_and_what_is_left_out() -> None:
    local = runtime_config_for(
        helper(),
        {"fake": provider("fake", "http://127.0.0.1:1/v1")},
        TOOLS,
        {},
        root=ROOT,
        memory_url="http://127.0.0.1:7437",
        config_maps={"notes": {"team.md": "We ship on Fridays."}},
    )
    config = json.loads(local.config.to_json())
    assert config["memory"]["serverURL"] == "http://127.0.0.1:7437"
    assert config["tools"] == [{"name": "lint", "path": "/data/agents/helper/tools/lint"}]
    assert local.files == {
        "tools/lint/index.js": "console.log('lint')",
        "context/team.md": "We ship on Fridays.",
    }
    assert config["contextFiles"] == [{"path": "/data/agents/helper/context/team.md"}]
    [search] = config["mcpServers"]
    assert search["url"] == "http://127.0.0.1:9000/mcp" and "port" not in search
    assert search["headers"] == {"X-Team": "a"} and search["transport"] == "sse"
    assert local.left_out == [
        'tool docs: ConfigMap "scripts" key "docs.js" is not available locally',
        "tool kubectl: oci tools need an image pull, not done locally",
        "tool cluster: an mcpServer tool is deployed by the operator; locally it needs a "
        "published serviceURL",
    ]
    assert config["providers"][0]["apiKeyEnv"] == "FAKE_API_KEY"


def test_without_a_memory_service_the_agent_runs_without_memory() -> None:
    local = runtime_config_for(
        agent("plain", memory={"serverRef": "memory"}),
        {"fake": provider("fake", "http://127.0.0.1:1/v1")},
        {},
        {},
        root=ROOT,
        memory_url=None,
    )
    assert local.config.memory is None
    assert local.left_out == ["memory: no memory service runs locally"]


def test_the_offline_demo_provider_replays_the_demo_script_beside_the_config() -> None:
    local = runtime_config_for(
        agent("demo"),
        {"fake": provider("fake", "scripted://offline-demo", keyed=False)},
        {},
        {},
        root=ROOT,
        memory_url=None,
        secrets_file=Path("/home/me/.local/share/agentops/secrets.env"),
    )
    [entry] = local.config.providers or []
    assert (entry.type, entry.script) == ("scripted", SCRIPT_FILE)
    assert "secrets.env" in local.files[SCRIPT_FILE]


def test_a_mistyped_base_url_is_left_to_the_runtime_not_a_crash_of_the_platform() -> None:
    local = runtime_config_for(
        agent("typo"),
        {"fake": provider("fake", "http://127.0.0.1:80O0/v1")},  # a letter O, not a 0
        {},
        {},
        root=ROOT,
        memory_url=None,
    )
    [entry] = local.config.providers or []
    assert entry.type != "scripted" and local.left_out == []


def test_the_environment_is_the_pods_resolved_here() -> None:
    spec_agent = agent(
        "helper",
        env={"TEAM": "infra"},
        secrets=[{"name": "GH_TOKEN", "secretRef": {"name": "gh", "key": "token"}}],
    )
    environment = local_environment(
        spec_agent,
        {"fake": provider("fake", "http://127.0.0.1:1/v1")},
        secrets={"FAKE_API_KEY": "sk-1"},
        base_env={
            "PATH": "/usr/bin",
            "AGENT_PROMPT": "stale",
            "KUBERNETES_SERVICE_HOST": "10.0.0.1",
        },
        workspace=ROOT / "workspace",
        trace_url="http://127.0.0.1:4318",
    )
    env = environment.env
    assert env["PATH"] == "/usr/bin"
    assert "AGENT_PROMPT" not in env and "KUBERNETES_SERVICE_HOST" not in env
    assert (env["AGENT_NAME"], env["AGENT_NAMESPACE"], env["AGENT_MODE"]) == (
        "helper",
        "local",
        "daemon",
    )
    assert env["WORKSPACE"] == "/data/agents/helper/workspace"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert env["TEAM"] == "infra" and env["FAKE_API_KEY"] == "sk-1"
    assert "GH_TOKEN" not in env and environment.missing == ["GH_TOKEN"]
    assert "sk-1" not in repr(environment)
