"""config.json: one model for the writer (operator, supervisor) and the reader (runtime)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from agentops_services.api.runtime_config import RuntimeConfig

UPSTREAM_CONFIG = """{
  "runtime": "fantasy",
  "providers": [
    {"name": "anthropic", "type": "anthropic",
     "callDefaults": {"anthropic": {"effort": "high", "thinkingBudgetTokens": 8192}}},
    {"name": "internal", "type": "openaicompat", "baseURL": "http://localhost:9101",
     "headers": {"X-Tenant": "platform"}}
  ],
  "primaryProvider": "anthropic",
  "primaryModel": "anthropic/claude-sonnet-4-5",
  "fallbackModels": ["internal/llama-3.3-70b"],
  "systemPrompt": "You review code.",
  "platformProtocol": "You are code-review-agent, a daemon agent in the agents namespace.",
  "builtinTools": null,
  "tools": [{"name": "k8s-helper", "path": "/tools/k8s-helper", "category": "infrastructure"}],
  "mcpServers": [{"name": "gitlab-mcp", "port": 9001, "directTools": ["create_note"]}],
  "contextFiles": [{"path": "/tools/code-review-skill"}],
  "toolHooks": {"blockedCommands": ["rm -rf /"], "allowedPaths": ["/data"],
                "memorySaveRules": [{"tool": "bash", "type": "bugfix", "scope": "project"}]},
  "temperature": 0.3,
  "maxSteps": 50,
  "permissionTools": ["bash"],
  "enableQuestionTool": true,
  "resources": [{"name": "agentops-core", "kind": "github-repo", "displayName": "AgentOps Core",
                 "readOnly": false, "autoContext": true,
                 "github": {"owner": "agentops", "repo": "agentops-core", "defaultBranch": "main"}}],
  "memory": {"serverURL": "http://agentops-memory.agents.svc:7437", "project": "code-review-agent",
             "contextLimit": 5, "autoSummarize": true, "autoSave": true, "autoSearch": true},
  "delegation": {"team": ["coder"], "maxFanOut": 5},
  "someFutureKey": {"ignored": true}
}"""


def test_reads_upstream_config_json() -> None:
    config = RuntimeConfig.from_json(UPSTREAM_CONFIG)
    assert config.primary_model == "anthropic/claude-sonnet-4-5"
    assert config.builtin_tools is None
    assert config.providers is not None and config.providers[1].base_url == "http://localhost:9101"
    assert (
        config.mcp_servers is not None
        and config.mcp_servers[0].endpoint() == "http://localhost:9001/mcp"
    )
    assert config.memory is not None and config.memory.server_url.endswith(":7437")
    assert config.max_tool_result_chars == 50_000 and config.budget_fraction == 0.75


def test_written_config_round_trips_and_keeps_always_present_keys() -> None:
    config = RuntimeConfig.from_json(UPSTREAM_CONFIG)
    text = config.to_json()
    assert text.startswith('{\n  "runtime"')
    assert RuntimeConfig.from_json(text) == config
    minimal = json.loads(RuntimeConfig().to_json())
    for key in ("providers", "primaryModel", "builtinTools", "tools"):
        assert key in minimal and minimal[key] is None
    assert "memory" not in minimal


def test_empty_builtin_tools_is_not_the_same_as_all() -> None:
    assert json.loads(RuntimeConfig(builtin_tools=[]).to_json())["builtinTools"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("budgetFraction", 1.5),
        ("maxSteps", 0),
        ("temperature", 3),
        ("providers", [{"name": "x", "type": "mistral"}]),
    ],
)
def test_bad_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        RuntimeConfig.model_validate({field: value})
    assert info.value.errors()[0]["loc"][0] == field
