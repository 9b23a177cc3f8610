"""Builders and status evaluators of AgentTool, Channel, Provider, AgentResource, conditions and
Agent schedules: pure functions, so golden YAML and tables with an injected clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentops_services.api.v1alpha1 import (
    Agent,
    AgentResource,
    AgentRun,
    AgentStatus,
    AgentTool,
    Channel,
    Provider,
)
from agentops_services.api.v1alpha1.meta import DNS1123_LABEL
from agentops_services.operator import names
from agentops_services.operator.builders import agenttool, channel, provider, schedule
from agentops_services.operator.builders.agentresource import evaluate_resource
from agentops_services.operator.builders.conditions import set_condition, set_conditions
from agentops_services.operator.builders.provider import SecretLookup
from tests.golden import assert_golden

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def meta(name: str, kind: str) -> dict[str, Any]:
    return {"name": name, "namespace": "team-a", "uid": f"uid-{kind.lower()}-{name}"}


def tool(name: str, **spec: Any) -> AgentTool:
    return AgentTool.model_validate({"metadata": meta(name, "AgentTool"), "spec": spec})


def channel_of(name: str, **spec: Any) -> Channel:
    return Channel.model_validate(
        {"metadata": meta(name, "Channel"), "spec": {"image": "ghcr.io/x/bridge:1"} | spec}
    )


def provider_of(**spec: Any) -> Provider:
    return Provider.model_validate({"metadata": meta("llm", "Provider"), "spec": spec})


# --- AgentTool -------------------------------------------------------------------------------

GITHUB_MCP: dict[str, Any] = {
    "image": "ghcr.io/example/github-mcp:1.2",
    "port": 8090,
    "command": ["github-mcp-server", "http", "--listen", ":8090"],
    "env": {"LOG_LEVEL": "debug", "GITHUB_HOST": "github.com"},
    "secrets": [{"name": "GITHUB_TOKEN", "secretRef": {"name": "gh", "key": "token"}}],
    "healthCheck": {"path": "/healthz", "intervalSeconds": 20},
    "resources": {"limits": {"memory": "256Mi"}},
    "security": {"pod": {"runAsUser": 1000}, "container": {"privileged": True}},
}


def test_mcp_server_children_golden() -> None:
    children, violations = agenttool.tool_children(
        tool("github", mcpServer=GITHUB_MCP, category="git")
    )
    assert_golden("agenttool-mcpserver", children)
    assert [c["kind"] for c in children] == ["Deployment", "Service"]
    assert violations == ["container.privileged=true"]


def test_mcp_server_defaults_probe_tcp_and_token_follows_service_account() -> None:
    server = {"image": "srv:1", "command": ["srv"]}
    (deployment, _), _ = agenttool.tool_children(tool("plain", mcpServer=server))
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["tcpSocket"] == {"port": "mcp"}
    assert container["livenessProbe"]["periodSeconds"] == 30
    assert pod["automountServiceAccountToken"] is False
    with_sa = tool("kube", mcpServer=server | {"serviceAccountName": "reader"})
    (deployment, _), _ = agenttool.tool_children(with_sa)
    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is True


def test_inline_tool_gets_a_config_map_and_other_sources_none() -> None:
    children, violations = agenttool.tool_children(tool("hello", inline={"content": "echo hi"}))
    assert [(c["kind"], c["metadata"]["name"], c["data"]) for c in children] == [
        ("ConfigMap", "agtool-hello-inline", {"tool": "echo hi"})
    ]
    assert violations == []
    assert agenttool.tool_children(tool("o", oci={"ref": "ghcr.io/x/t:1"})) == ([], [])


def test_service_urls() -> None:
    assert agenttool.tool_service_url(tool("github", mcpServer=GITHUB_MCP)) == (
        "http://agtool-github.team-a.svc:8090/mcp"
    )
    remote = tool("r", mcpEndpoint={"url": "https://mcp.example.com/mcp"})
    assert agenttool.tool_service_url(remote) == "https://mcp.example.com/mcp"
    assert agenttool.tool_service_url(tool("o", oci={"ref": "ghcr.io/x/t:1"})) is None


@pytest.mark.parametrize(
    ("code", "error", "phase", "status", "reason"),
    [
        (200, None, "Ready", "True", "Reachable"),
        (405, None, "Ready", "True", "Reachable"),
        (401, None, "Ready", "True", "Reachable"),
        (404, None, "Failed", "False", "HealthCheckFailed"),
        (503, None, "Failed", "False", "HealthCheckFailed"),
        (None, "connection refused", "Failed", "False", "HealthCheckFailed"),
    ],
)
def test_endpoint_health(
    code: int | None, error: str | None, phase: str, status: str, reason: str
) -> None:
    got_phase, cond = agenttool.endpoint_health(code, error)
    assert (got_phase, cond["type"], cond["status"], cond["reason"]) == (
        phase,
        "Ready",
        status,
        reason,
    )
    if error:
        assert error in cond["message"]


def test_endpoint_probe_prefers_health_url() -> None:
    source = tool("r", mcpEndpoint={"url": "https://m/mcp"}).spec.mcp_endpoint
    assert source is not None
    assert agenttool.endpoint_probe_url(source) == "https://m/mcp"
    assert agenttool.endpoint_probe_interval(source) == 30
    checked = tool(
        "r",
        mcpEndpoint={
            "url": "https://m/mcp",
            "healthCheck": {"url": "https://m/up", "intervalSeconds": 60},
        },
    ).spec.mcp_endpoint
    assert checked is not None
    assert agenttool.endpoint_probe_url(checked) == "https://m/up"
    assert agenttool.endpoint_probe_interval(checked) == 60


def test_deployment_config_map_and_static_health() -> None:
    assert agenttool.deployment_health(None)[0] == "Deploying"
    assert agenttool.deployment_health(2)[1]["reason"] == "Running"
    source = tool("c", configMap={"name": "scripts", "key": "run.js"}).spec.config_map
    assert source is not None
    assert agenttool.config_map_health(source, None)[1]["reason"] == "ConfigMapNotFound"
    assert agenttool.config_map_health(source, {"other.js"})[1]["reason"] == "KeyNotFound"
    assert agenttool.config_map_health(source, {"run.js"})[0] == "Ready"
    statics = {source: agenttool.static_health(source) for source in ("oci", "skill", None)}
    assert {k: (v[0], v[1]["reason"]) if v else None for k, v in statics.items()} == {
        "oci": ("Ready", "OCIRefValid"),
        "skill": ("Ready", "SkillRefValid"),
        None: ("Failed", "NoSource"),
    }
    assert agenttool.static_health("mcpEndpoint") is None, "observed by the controller"


# --- Channel ---------------------------------------------------------------------------------

GITLAB = {
    "type": "gitlab",
    "agentRef": "reviewer",
    "gitlab": {
        "events": ["Merge Request Hook"],
        "actions": ["open", "update"],
        "secret": {"name": "gitlab-hook", "key": "token"},
    },
    "prompt": "Review {{ .object_attributes.url }}",
    "webhook": {
        "host": "hooks.example.com",
        "path": "/gitlab",
        "ingressClassName": "nginx",
        "tls": {"clusterIssuer": "letsencrypt", "issuer": "team-issuer"},
    },
}
TELEGRAM = {
    "type": "telegram",
    "agentRef": "helper",
    "telegram": {
        "botTokenSecret": {"name": "tg", "key": "token"},
        "allowedUsers": ["42", "43"],
    },
    "security": {"container": {"runAsUser": 0}},
}


def test_event_channel_with_webhook_golden() -> None:
    children, violations = channel.channel_children(channel_of("gl-review", **GITLAB), "task")
    assert_golden("channel-gitlab-webhook", children)
    assert [c["kind"] for c in children] == [
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
        "Ingress",
    ]
    assert violations == []


def test_chat_channel_golden() -> None:
    children, violations = channel.channel_children(channel_of("tg", **TELEGRAM), "daemon")
    assert_golden("channel-telegram", children)
    assert violations == ["container.runAsUser=0"]


def test_channel_labels_name_the_channel_not_an_agent() -> None:
    children, _ = channel.channel_children(channel_of("tg", **TELEGRAM), "daemon")
    for child in children:
        labels = child["metadata"]["labels"]
        assert labels[names.L_CHANNEL] == "tg"
        assert labels[names.L_AGENT] == "helper", "L_AGENT is the agent the bridge feeds"
        assert labels[names.L_COMP] == "channel"


def env_of(children: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = next(c for c in children if c["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize(
    ("spec", "mode", "token", "agent_url"),
    [
        (TELEGRAM, "daemon", False, True),  # posts to the daemon's HTTP API
        (TELEGRAM, "task", True, False),  # creates AgentRuns
        (GITLAB, "daemon", True, True),  # upstream gave event bridges no token here
    ],
)
def test_bridge_token_and_agent_url(
    spec: dict[str, Any], mode: Any, token: bool, agent_url: bool
) -> None:
    children, _ = channel.channel_children(channel_of("c", **spec), mode)
    deployment = next(c for c in children if c["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is token
    assert ("AGENT_URL" in env_of(children)) is agent_url


def test_bridge_env_carries_filters_as_json() -> None:
    env = env_of(channel.channel_children(channel_of("c", **GITLAB), "task")[0])
    assert env["EVENT_TYPES"] == '["Merge Request Hook"]'
    assert env["EVENT_ACTIONS"] == '["open","update"]'
    assert "EVENT_LABELS" not in env
    assert env["WEBHOOK_SECRET"] == {"secretKeyRef": {"name": "gitlab-hook", "key": "token"}}
    env = env_of(channel.channel_children(channel_of("c", **TELEGRAM), "daemon")[0])
    assert env["ALLOWED_USERS"] == '["42","43"]'
    assert env["TELEGRAM_BOT_TOKEN"] == {"secretKeyRef": {"name": "tg", "key": "token"}}


def test_channel_urls_and_health() -> None:
    gitlab = channel_of("gl", **GITLAB)
    assert channel.channel_service_url(gitlab) == "http://gl.team-a.svc:8080"
    assert channel.channel_webhook_url(gitlab) == "https://hooks.example.com/gitlab"
    assert channel.channel_webhook_url(channel_of("tg", **TELEGRAM)) is None
    plain = channel_of("wh", **(GITLAB | {"webhook": {"host": "h.example.com"}}))
    assert channel.channel_webhook_url(plain) == "http://h.example.com/"
    assert channel.channel_health(0)[0] == "Pending"
    assert channel.channel_health(1)[0] == "Ready"
    phase, cond = channel.agent_missing_health(gitlab, "agents.agents.agentops.io not found")
    assert (phase, cond["reason"]) == ("Failed", "AgentNotFound")


# --- Provider --------------------------------------------------------------------------------

KEY = {"name": "llm-keys", "key": "api-key"}
OAUTH = {
    "tokenURL": "https://idp/token",
    "clientIdSecret": {"name": "idp", "key": "id"},
    "clientSecretSecret": {"name": "idp", "key": "secret"},
}


@pytest.mark.parametrize(
    ("spec", "issue"),
    [
        ({"type": "anthropic", "apiKeySecret": KEY}, None),
        ({"type": "openaicompat", "endpoint": {"baseURL": "http://vllm:8000/v1"}}, None),
        ({"type": "openaicompat"}, "endpoint.baseURL is required for type openaicompat"),
        ({"type": "openai"}, "apiKeySecret is required unless"),
        (
            {"type": "openai", "apiKeySecret": KEY, "endpoint": {"oauth2ClientCredentials": OAUTH}},
            "only one of apiKeySecret or endpoint.oauth2ClientCredentials",
        ),
        (
            {"type": "google", "apiKeySecret": KEY, "config": {"organization": "o"}},
            "spec.config.organization: Forbidden: config.organization is only valid for type openai",
        ),
        (
            {"type": "anthropic", "apiKeySecret": KEY, "config": {"azureAPIVersion": "x"}},
            "config.azureAPIVersion is only valid for type azure",
        ),
    ],
)
def test_config_issues(spec: dict[str, Any], issue: str | None) -> None:
    issues = provider.config_issues(provider_of(**spec))
    if issue is None:
        assert issues == []
        assert provider.config_condition(provider_of(**spec))["reason"] == "Valid"
    else:
        assert any(issue in i for i in issues), issues
        cond = provider.config_condition(provider_of(**spec))
        assert (cond["status"], cond["reason"]) == ("False", "InvalidConfig")


SECRET_VALUE = "sk-live-DO-NOT-LEAK"


@pytest.mark.parametrize(
    ("spec", "lookups", "status", "reason"),
    [
        ({"type": "bedrock"}, {}, "True", "NotApplicable"),
        ({"type": "openai", "apiKeySecret": KEY}, {}, "False", "SecretNotFound"),
        (
            {"type": "openai", "apiKeySecret": KEY},
            {"llm-keys": SecretLookup.failed("secrets is forbidden")},
            "False",
            "SecretError",
        ),
        (
            {"type": "openai", "apiKeySecret": KEY},
            {"llm-keys": SecretLookup.of({"other": SECRET_VALUE, "api-key": ""})},
            "False",
            "KeyNotFound",
        ),
        (
            {"type": "openai", "apiKeySecret": KEY},
            {"llm-keys": SecretLookup.of({"api-key": SECRET_VALUE})},
            "True",
            "SecretExists",
        ),
        (
            {"type": "openai", "endpoint": {"oauth2ClientCredentials": OAUTH}},
            {"idp": SecretLookup.of({"id": SECRET_VALUE})},
            "False",
            "KeyNotFound",
        ),
        (
            {"type": "openai", "endpoint": {"oauth2ClientCredentials": OAUTH}},
            {"idp": SecretLookup.of({"id": "client", "secret": SECRET_VALUE})},
            "True",
            "SecretExists",
        ),
    ],
)
def test_secret_condition(
    spec: dict[str, Any], lookups: dict[str, SecretLookup], status: str, reason: str
) -> None:
    verdict = provider.evaluate_provider(provider_of(**spec), lookups)
    cond = verdict.conditions[1]
    assert (cond["type"], cond["status"], cond["reason"]) == ("SecretReady", status, reason)
    assert verdict.phase == ("Ready" if status == "True" else "Failed")
    assert SECRET_VALUE not in repr(verdict), "a secret value leaked into the status"
    assert SECRET_VALUE not in repr(lookups)


def test_provider_phase_messages() -> None:
    ok = provider.evaluate_provider(
        provider_of(type="anthropic", apiKeySecret=KEY),
        {"llm-keys": SecretLookup.of({"api-key": "x"})},
    )
    assert ok.message == 'Provider "llm" (anthropic) is ready'
    bad = provider.evaluate_provider(provider_of(type="openaicompat"), {})
    assert bad.message.startswith("Config invalid: spec.endpoint.baseURL")
    agents = [
        Agent.model_validate(
            {"spec": {"mode": "task", "model": f"{p}/m", "providerRefs": [{"name": p}]}}
        )
        for p in ("llm", "other", "llm")
    ]
    assert provider.bound_agents("llm", agents) == 2


# --- AgentResource ---------------------------------------------------------------------------


def test_agentresource_verdict() -> None:
    good = AgentResource.model_validate(
        {
            "metadata": meta("repo", "AgentResource"),
            "spec": {
                "kind": "github-repo",
                "displayName": "Platform",
                "github": {"owner": "acme", "repo": "platform"},
            },
        }
    )
    verdict = evaluate_resource(good)
    assert verdict.phase == "Ready"
    assert [(c["type"], c["status"]) for c in verdict.conditions] == [
        ("Accepted", "True"),
        ("Ready", "True"),
    ]
    assert verdict.conditions[1]["message"] == 'AgentResource "Platform" (github-repo) is ready'
    stale = good.model_copy(update={"spec": good.spec.model_copy(update={"github": None})})
    verdict = evaluate_resource(stale)
    assert verdict.phase == "Failed"
    assert "github config is required for kind=github-repo" in verdict.conditions[0]["message"]


# --- conditions ------------------------------------------------------------------------------


def test_condition_transition_time_moves_only_on_status_change() -> None:
    t1, t2, t3 = T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    conds = set_condition(None, "Ready", "False", "Deploying", "waiting", 1, t1)
    assert conds == [
        {
            "type": "Ready",
            "status": "False",
            "observedGeneration": 1,
            "lastTransitionTime": "2025-03-01T12:00:00Z",
            "reason": "Deploying",
            "message": "waiting",
        }
    ]
    same = set_condition(conds, "Ready", "False", "Deploying", "still waiting", 2, t2)
    assert same[0]["lastTransitionTime"] == "2025-03-01T12:00:00Z"
    assert (same[0]["message"], same[0]["observedGeneration"]) == ("still waiting", 2)
    flipped = set_condition(same, "Ready", "True", "Running", "up", 2, t3)
    assert flipped[0]["lastTransitionTime"] == "2025-03-01T12:02:00Z"
    assert conds[0]["message"] == "waiting", "the input list is not modified"


def test_set_conditions_keeps_order_and_appends_new_types() -> None:
    existing = set_condition(None, "Accepted", "True", "Valid", "ok", 3, T0)
    merged = set_conditions(
        existing,
        [provider.config_condition(provider_of(type="bedrock"))],
        3,
        T0 + timedelta(hours=1),
    )
    assert [c["type"] for c in merged] == ["Accepted", "ConfigValid"]
    assert merged[0] == existing[0]


# --- schedules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/15 * * * *", T0, T0 + timedelta(minutes=15)),
        ("0 9 * * 1-5", T0, datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),  # Sat -> Monday
        ("@daily", T0, datetime(2025, 3, 2, tzinfo=UTC)),
        ("@HOURLY", T0, T0 + timedelta(hours=1)),
        ("0 0 1 * 1", T0, datetime(2025, 3, 3, tzinfo=UTC)),  # day-of-month OR day-of-week
        ("0 0 29 2 *", T0, datetime(2028, 2, 29, tzinfo=UTC)),
        ("30 6 * jan,mar sun", T0, datetime(2025, 3, 2, 6, 30, tzinfo=UTC)),
    ],
)
def test_next_time(expression: str, after: datetime, expected: datetime) -> None:
    assert schedule.next_time(schedule.CronSchedule.parse(expression), after) == expected


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("* * * *", "five fields"),
        ("* * * * * *", "five fields"),
        ("@every 5m", "five fields"),
        ("61 * * * *", "not valid cron"),
        ("0 0 31 2 *", "not valid cron"),
        ("H * * * *", "not valid cron"),
    ],
)
def test_invalid_schedules(expression: str, why: str) -> None:
    with pytest.raises(schedule.ScheduleError, match=why):
        schedule.CronSchedule.parse(expression)


HOURLY = schedule.CronSchedule.parse("0 * * * *")


@pytest.mark.parametrize(
    ("last", "now", "due"),
    [
        (T0, T0, []),
        (T0, T0 + timedelta(minutes=59, seconds=59), []),
        (T0, T0 + timedelta(hours=1), [T0 + timedelta(hours=1)]),  # exactly on time
        (T0 - timedelta(seconds=1), T0, [T0]),
        (T0, T0 + timedelta(hours=3, minutes=5), [T0 + timedelta(hours=h) for h in (1, 2, 3)]),
    ],
)
def test_due_times_and_missed_run_policy(
    last: datetime, now: datetime, due: list[datetime]
) -> None:
    assert schedule.due_times(HOURLY, last, now) == due
    assert schedule.run_due(HOURLY, last, now) == (due[-1] if due else None)


def test_due_times_are_bounded() -> None:
    every_minute = schedule.CronSchedule.parse("* * * * *")
    due = schedule.due_times(every_minute, T0 - timedelta(days=30), T0, limit=5)
    assert due == [T0 - timedelta(minutes=m) for m in (4, 3, 2, 1, 0)]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.next_time(HOURLY, datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("nightly", "nightly-sched-29013840"),
        ("a" * 48, "a" * 48 + "-sched-29013840"),
        ("b" * 49, "b" * 39 + "-{hash}-sched-29013840"),
        ("c" * 38 + "-" + "d" * 24, "c" * 38 + "-{hash}-sched-29013840"),
    ],
)
def test_scheduled_run_names(agent: str, expected: str) -> None:
    name = schedule.scheduled_run_name(agent, T0)
    assert re.fullmatch(re.escape(expected).replace(r"\{hash\}", "[0-9a-f]{8}"), name), name
    assert len(name) <= 63
    assert DNS1123_LABEL.match(name)
    assert schedule.scheduled_run_name(agent, T0 + timedelta(seconds=59)) == name
    assert schedule.scheduled_run_name(agent, T0 + timedelta(minutes=1)) != name


def test_long_names_sharing_a_prefix_stay_distinct() -> None:
    one, two = "x" * 60 + "one", "x" * 60 + "two"
    assert schedule.scheduled_run_name(one, T0) != schedule.scheduled_run_name(two, T0)


def scheduled_agent() -> Agent:
    return Agent.model_validate(
        {
            "metadata": meta("nightly", "Agent") | {"creationTimestamp": "2025-02-01T00:00:00Z"},
            "spec": {
                "mode": "task",
                "model": "anthropic/claude",
                "providerRefs": [{"name": "anthropic"}],
                "schedule": "0 2 * * *",
                "schedulePrompt": "Summarise yesterday's incidents.",
            },
        }
    )


def test_schedule_run_manifest_is_a_valid_owned_agentrun() -> None:
    agent = scheduled_agent()
    manifest = schedule.schedule_run_manifest(agent, T0)
    run = AgentRun.model_validate(manifest)
    assert run.name == "nightly-sched-29013840"
    assert run.namespace == "team-a"
    assert (run.spec.source, run.spec.source_ref, run.spec.agent_ref) == (
        "schedule",
        "0 2 * * *",
        "nightly",
    )
    assert run.spec.prompt == "Summarise yesterday's incidents."
    assert run.metadata.labels == {names.L_AGENT: "nightly", names.L_MB: names.MANAGED_BY}
    assert run.metadata.annotations == {names.A_SCHEDULED_AT: "2025-03-01T12:00:00Z"}
    owner = manifest["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Agent", "nightly", "uid-agent-nightly")


def test_schedule_anchor_resumes_from_the_newest_scheduled_run() -> None:
    agent = scheduled_agent()
    assert schedule.schedule_anchor(agent, [], T0) == datetime(2025, 2, 1, tzinfo=UTC)
    runs = [
        AgentRun.model_validate(schedule.schedule_run_manifest(agent, moment))
        for moment in (T0 - timedelta(days=1), T0)
    ]
    console_run = AgentRun.model_validate(
        {
            "metadata": {
                "name": "by-hand",
                "annotations": {names.A_SCHEDULED_AT: "2030-01-01T00:00:00Z"},
            },
            "spec": {"agentRef": "nightly", "prompt": "hi", "source": "console"},
        }
    )
    anchor = schedule.schedule_anchor(agent, [*runs, console_run], T0)
    assert anchor == T0
    cron = schedule.CronSchedule.parse(agent.spec.schedule or "")
    assert schedule.run_due(cron, anchor, T0 + timedelta(hours=15)) == datetime(
        2025, 3, 2, 2, 0, tzinfo=UTC
    )


def test_schedule_anchor_uses_the_recorded_time_when_runs_are_gone() -> None:
    agent = scheduled_agent()
    recorded = agent.model_copy(
        update={"status": AgentStatus.model_validate({"lastScheduleTime": "2025-03-01T02:00:00Z"})}
    )
    assert schedule.schedule_anchor(recorded, [], T0) == datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    assert (
        schedule.run_due(
            schedule.CronSchedule.parse("0 2 * * *"), schedule.schedule_anchor(recorded, [], T0), T0
        )
        is None
    )
