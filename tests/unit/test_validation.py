"""In-process validation: the API server's rules and wording, with file lines."""

from __future__ import annotations

from typing import Any

import pytest

from agentops_services.api.manifests import check_manifests
from agentops_services.api.v1alpha1 import Agent, AgentRun
from agentops_services.api.validation import validate_resource


def agent(**spec: Any) -> dict[str, Any]:
    base = {"mode": "daemon", "model": "anthropic/claude", "providerRefs": [{"name": "anthropic"}]}
    return {
        "apiVersion": "agents.agentops.io/v1alpha1",
        "kind": "Agent",
        "metadata": {"name": "a"},
        "spec": base | spec,
    }


def errors(data: Any, old: Any = None) -> list[str]:
    return [str(e) for e in validate_resource(data, old=old).errors]


def test_minimal_agent_is_valid_and_defaulted() -> None:
    result = validate_resource(agent())
    assert result.ok
    assert isinstance(result.resource, Agent)
    spec = result.resource.spec
    assert (spec.max_steps, spec.timeout, spec.image_pull_policy) == (100, "10m", "IfNotPresent")
    assert spec.builtin_tools is None, "omitted builtinTools means every built-in tool"
    assert "maxSteps" not in result.resource.to_wire()["spec"]
    assert result.resource.to_defaulted()["spec"]["maxSteps"] == 100


def test_omitted_builtin_tools_count_as_tools() -> None:
    """Upstream rejected an agent with neither list although the runtime gives it every tool."""
    assert errors(agent()) == []
    assert errors(agent(builtinTools=[], tools=[{"name": "t"}])) == []
    assert errors(agent(builtinTools=[])) == [
        "spec.tools: Required value: agents need at least one tool: list builtinTools or tools (omit builtinTools to get every built-in tool)"
    ]


def test_all_schema_errors_are_reported_at_once() -> None:
    found = errors(agent(mode="x", maxSteps="5", temperature=-1, extra=1))
    assert found == [
        'spec.mode: Unsupported value: "x": supported values: "daemon", "task"',
        "spec.temperature: Invalid value: -1: spec.temperature in body should be greater than or equal to 0",
        'spec.maxSteps: Invalid value: "string": spec.maxSteps in body must be of type integer: "string"',
        'spec.extra: unknown field "spec.extra"',
    ]


def test_strict_types_like_the_api_server() -> None:
    assert errors(agent(enableQuestionTool="yes")) == [
        'spec.enableQuestionTool: Invalid value: "string": spec.enableQuestionTool in body must be of type boolean: "string"'
    ]
    assert errors(agent(temperature=True)) == [
        'spec.temperature: Invalid value: "boolean": spec.temperature in body must be of type number: "boolean"'
    ]
    assert errors(agent(resources={"limits": {"memory": "lots"}}))[0].startswith(
        'spec.resources.limits.memory: Invalid value: "lots": spec.resources.limits.memory in body should match'
    )


def test_several_rule_violations_are_all_reported() -> None:
    found = errors(
        agent(mode="task", storage={"size": "1Gi"}, fallbackModels=["x/y"], schedule="0 * * * *")
    )
    assert found == [
        "spec.storage: Forbidden: storage is only allowed for daemon agents",
        "spec.fallbackModels: Invalid value: each fallback model 'provider/model' must name a provider in providerRefs",
        "spec.schedulePrompt: Required value: schedulePrompt is required when schedule is set",
    ]


def test_nested_rule_reports_the_nested_path() -> None:
    assert errors(
        agent(tools=[{"name": "t", "permissions": {"mode": "deny", "rules": ["ok", "bad:x"]}}])
    ) == [
        "spec.tools[0].permissions.rules: Invalid value: each rule is 'tool' or 'tool:arg=value' (a trailing * in value matches a prefix, arg * matches any argument)"
    ]


@pytest.mark.parametrize("value", ["90s", "10m", "1h30m", "1.5h", "250ms"])
def test_timeout_accepts_go_durations(value: str) -> None:
    assert errors(agent(timeout=value)) == []


@pytest.mark.parametrize("value", ["0 2 * * *", "*/5 * * * 1-5", "@hourly", "@daily"])
def test_schedule_accepts_cron(value: str) -> None:
    assert errors(agent(mode="task", schedule=value, schedulePrompt="go")) == []


def test_fallback_models_without_provider_prefix_are_fine() -> None:
    assert errors(agent(fallbackModels=["gpt-4o", "anthropic/claude-haiku"])) == []


def test_names_that_cannot_name_a_service_are_refused() -> None:
    data = agent()
    data["metadata"]["name"] = "Agent_1"
    assert errors(data) == [
        "metadata.name: Invalid value: \"Agent_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    ]
    data["metadata"]["name"] = "my.agent"
    assert errors(data)[0].startswith(
        "metadata.name: Invalid value: metadata.name must be at most 63"
    )


def test_wrong_api_version_and_kind() -> None:
    data = agent()
    data["apiVersion"] = "agents.agentops.io/v1"
    data["kind"] = "Agnet"
    assert errors(data) == [
        'apiVersion: Unsupported value: "agents.agentops.io/v1": supported values: "agents.agentops.io/v1alpha1"',
        'kind: Unsupported value: "Agnet": supported values: "Agent", "AgentRun", "AgentTool", "AgentResource", "Channel", "Provider"',
    ]
    assert errors(["not", "an", "object"]) == ['Invalid value: "array": expected an object']


def test_transition_rule_needs_the_old_object() -> None:
    run: dict[str, Any] = {
        "apiVersion": "agents.agentops.io/v1alpha1",
        "kind": "AgentRun",
        "metadata": {"name": "r"},
        "spec": {"agentRef": "a", "prompt": "p", "source": "console"},
    }
    result = validate_resource(run)
    assert result.ok and isinstance(result.resource, AgentRun)
    assert errors(run, old=run) == []
    changed = run | {"spec": run["spec"] | {"prompt": "another"}}
    assert errors(changed, old=run) == [
        "spec: Invalid value: spec is immutable: create a new AgentRun"
    ]


def test_audit_tools_warning_is_not_an_error() -> None:
    result = validate_resource(
        agent(builtinTools=["read"], toolHooks={"auditTools": ["read", "bash", "run_agent"]})
    )
    assert result.ok
    assert result.warnings == ['spec.toolHooks.auditTools: "bash" is not a tool of this agent']


def test_timestamps_stay_as_written() -> None:
    data = agent()
    data["metadata"]["creationTimestamp"] = "2026-04-09T10:00:00Z"
    data["status"] = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Running",
                "message": "",
                "lastTransitionTime": "2026-04-09T10:00:05Z",
                "observedGeneration": 2,
            }
        ]
    }
    result = validate_resource(data)
    assert result.ok, result.errors
    assert isinstance(result.resource, Agent)
    assert result.resource.to_wire() == data
    status = result.resource.status
    assert status is not None and status.condition("Ready") is not None
    assert status.condition("Accepted") is None


# --- YAML text ------------------------------------------------------------------------


def test_yaml_problems_name_their_line() -> None:
    text = """\
apiVersion: v1
kind: Secret
metadata: {name: keys}
---
apiVersion: agents.agentops.io/v1alpha1
kind: Agent
metadata:
  name: a
spec:
  mode: daemon
  model: m
  model: n
  providerRefs: [{name: p}]
  temperature: 7
"""
    reports, problems = check_manifests(text)
    assert problems == []
    secret, agent_report = reports
    assert secret.foreign and not secret.errors
    assert [(p.line, p.message) for p in agent_report.errors] == [
        (12, "spec.model: Duplicate value: key appears twice"),
        (
            14,
            "spec.temperature: Invalid value: 7: spec.temperature in body should be less than or equal to 2",
        ),
    ]
    assert agent_report.resource is None, "a document with a duplicate key is not trusted"


def test_yaml_syntax_error_names_line_and_column() -> None:
    reports, problems = check_manifests("kind: Agent\nspec:\n  mode: [daemon\n")
    assert reports == []
    assert len(problems) == 1
    assert problems[0].line == 4
    assert problems[0].message.startswith("YAML syntax error (column 1):")


def test_unquoted_timestamps_and_empty_documents() -> None:
    text = "---\n---\napiVersion: agents.agentops.io/v1alpha1\nkind: AgentRun\nmetadata:\n  name: r\n  creationTimestamp: 2026-04-09T10:00:00Z\nspec: {agentRef: a, prompt: p, source: console}\n"
    reports, _ = check_manifests(text)
    assert len(reports) == 1
    assert reports[0].errors == []
    assert reports[0].resource is not None
    assert reports[0].resource.to_wire()["metadata"]["creationTimestamp"] == "2026-04-09T10:00:00Z"
