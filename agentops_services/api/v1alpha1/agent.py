"""Agent: an AI agent, run as a Deployment (daemon) or as one Job per AgentRun (task)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from agentops_services.api.model import ApiModel, CelRule, Number, Quantity, Time
from agentops_services.api.v1alpha1.common import (
    ImagePullPolicy,
    Name,
    ResourceRequirements,
    SecretEnvVar,
    SecretKeyRef,
    SecurityOverrides,
    ShortText,
)
from agentops_services.api.v1alpha1.meta import (
    AGE_COLUMN,
    READY_COLUMN,
    ConditionedStatus,
    CrdInfo,
    PrinterColumn,
    Resource,
    name_rule,
)
from agentops_services.api.v1alpha1.provider import ProviderCallDefaults

AgentMode = Literal["daemon", "task"]
BuiltinTool = Literal["bash", "read", "edit", "write", "grep", "ls", "glob", "fetch"]
BUILTIN_TOOLS: tuple[BuiltinTool, ...] = (
    "bash",
    "read",
    "edit",
    "write",
    "grep",
    "ls",
    "glob",
    "fetch",
)
ORCHESTRATION_TOOLS = ("run_agent", "run_agents", "get_agent_run", "list_task_agents")

DURATION_PATTERN = r"^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"
CRON_PATTERN = (
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|"
    r"[^\\s]+\\s+[^\\s]+\\s+[^\\s]+\\s+[^\\s]+\\s+[^\\s]+)$"
)
PERMISSION_RULE_PATTERN = r"^[^:=\\s]+(:[^=\\s]+=.*)?$"
RuleText = Annotated[str, Field(max_length=256)]


class ProviderBinding(ApiModel):
    """A Provider this agent may use, with optional per-agent call defaults."""

    name: Name
    """Provider name; it is also the provider prefix in model strings (name/model-id)."""
    overrides: ProviderCallDefaults | None = None
    """Per-call defaults that win over the Provider's own, field by field."""


class ContextFile(ApiModel):
    """A ConfigMap key mounted into the agent at /etc/context/<key>."""

    config_map_ref: SecretKeyRef
    """ConfigMap name and key."""


class DelegationSpec(ApiModel):
    """Which agents this agent may delegate to (run_agent, run_agents)."""

    team: list[Name] = Field(min_length=1, max_length=32)
    """Names of the Agents this agent may start runs of."""
    max_fan_out: int = Field(5, ge=1, le=10)
    """Most runs started by one run_agents call."""


class MCPPermissions(ApiModel):
    """Allow or deny rules applied to an MCP tool source's calls."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule=f"self.rules.all(r, r.matches('{PERMISSION_RULE_PATTERN}'))",
            message=(
                "each rule is 'tool' or 'tool:arg=value' (a trailing * in value matches a "
                "prefix, arg * matches any argument)"
            ),
            field_path=".rules",
        ),
    )

    mode: Literal["deny", "allow"]
    """deny blocks calls that match a rule; allow permits only calls that match one."""
    rules: list[RuleText] = Field(max_length=64)
    """Rules: tool, tool:arg=value, tool:arg=prefix*, tool:*=value."""


class AgentToolBinding(ApiModel):
    """An AgentTool this agent uses."""

    name: Name
    """AgentTool name; also the binding name the tools are namespaced under."""
    permissions: MCPPermissions | None = None
    """Allow/deny rules for MCP sources (mcpServer, mcpEndpoint)."""
    direct_tools: list[str] | None = Field(None, max_length=128)
    """MCP tools exposed to the model under their own names instead of namespaced ones."""
    auto_context: bool = False
    """For skill sources: add the skill to the system prompt on every turn."""


class StorageSpec(ApiModel):
    """A persistent volume mounted at /data (daemon agents only)."""

    size: Quantity
    """Requested size, for example 5Gi."""
    storage_class: str | None = None
    """StorageClass name; the cluster default when omitted."""


class MemorySpec(ApiModel):
    """Long-term memory through an agentops memory service."""

    server_ref: str = Field(min_length=1, max_length=253)
    """Memory service: a Service name (port 7437) or an MCP AgentTool name."""
    project: str | None = Field(None, max_length=200)
    """Memory project; defaults to the agent name. Compared case-insensitively."""
    context_limit: int = Field(5, ge=0, le=50)
    """Most memories injected into each turn."""
    auto_summarize: bool = True
    """Summarise the session when it ends."""
    auto_save: bool = True
    """Tell the agent to save decisions, fixes and discoveries with mem_save."""
    auto_search: bool = True
    """Tell the agent to search memory with mem_search before acting."""


class ResourceBinding(ApiModel):
    """An AgentResource this agent works with."""

    name: Name
    """AgentResource name."""
    read_only: bool = False
    """The agent may read but not change the resource."""
    auto_context: bool = False
    """Describe the resource in the system prompt on every turn."""


class MemorySaveRule(ApiModel):
    """Save a memory automatically when a tool call matches."""

    tool: str = Field(min_length=1)
    """Tool name."""
    match_output: str | None = None
    """Regular expression the tool output must match."""
    match_args: dict[str, str] | None = None
    """Argument name to regular expression; all must match."""
    type: str = "discovery"
    """Observation type of the saved memory."""
    scope: Literal["project", "global"] = "project"
    """Memory scope."""


class ContextInjectTool(ApiModel):
    """Inject relevant memories before a tool runs."""

    tool: str = Field(min_length=1)
    """Tool name."""
    query: str = "from_tool_args"
    """Search query, or from_tool_args to build it from the call's arguments."""
    limit: int = Field(3, ge=1, le=10)
    """Most memories injected."""


class ToolHooksSpec(ApiModel):
    """Guards and side effects around tool calls."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule=(
                "!has(self.allowedPaths) || self.allowedPaths.all(p, p.startsWith('/') && "
                "!p.contains('/../') && !p.endsWith('/..'))"
            ),
            message="allowedPaths entries must be absolute paths without '..'",
            field_path=".allowedPaths",
        ),
    )

    blocked_commands: list[str] | None = Field(None, max_length=128)
    """Substrings that make the bash tool refuse a command."""
    allowed_paths: list[ShortText] | None = Field(None, max_length=32)
    """Absolute paths the file tools may touch; everything else is refused."""
    audit_tools: list[str] | None = Field(None, max_length=128)
    """Tools whose every call is logged and traced."""
    memory_save_rules: list[MemorySaveRule] | None = Field(None, max_length=32)
    """Memories saved automatically after matching tool calls."""
    context_inject_tools: list[ContextInjectTool] | None = Field(None, max_length=32)
    """Memories injected before matching tool calls."""


class ConcurrencySpec(ApiModel):
    """How many AgentRuns of this agent may run at once, and what happens to more."""

    max_runs: int = Field(1, ge=1, le=100)
    """Most runs in progress at once."""
    policy: Literal["queue", "reject", "replace"] = "queue"
    """queue waits (oldest first), reject fails the new run, replace stops the oldest run."""


class NetworkPolicySpec(ApiModel):
    """A NetworkPolicy admitting only the runtime port (daemon agents)."""

    enabled: bool = False
    """Create the NetworkPolicy."""


_NO_TOOLS = "!has(self.tools) || size(self.tools) == 0"


def _unique_names(field: str, message: str) -> CelRule:
    """No two entries of the list `field` share a name."""
    return CelRule(
        rule=(
            f"!has(self.{field}) || "
            f"self.{field}.all(a, self.{field}.exists_one(b, b.name == a.name))"
        ),
        message=message,
        field_path=f".{field}",
    )


class AgentSpec(ApiModel):
    """Desired state of an Agent."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="self.mode != 'task' || !has(self.storage)",
            message="storage is only allowed for daemon agents",
            field_path=".storage",
            reason="FieldValueForbidden",
        ),
        CelRule(
            rule=(
                "!has(self.fallbackModels) || self.fallbackModels.all(m, !m.contains('/') || "
                "self.providerRefs.exists(p, m.startsWith(p.name + '/')))"
            ),
            message="each fallback model 'provider/model' must name a provider in providerRefs",
            field_path=".fallbackModels",
        ),
        CelRule(
            rule=f"!has(self.builtinTools) || size(self.builtinTools) > 0 || !({_NO_TOOLS})",
            message=(
                "agents need at least one tool: list builtinTools or tools "
                "(omit builtinTools to get every built-in tool)"
            ),
            field_path=".tools",
            reason="FieldValueRequired",
        ),
        _unique_names("tools", "tool binding names must be unique"),
        _unique_names("resourceBindings", "resourceBindings names must be unique"),
        CelRule(
            rule=(
                "!has(self.schedule) || (has(self.schedulePrompt) && size(self.schedulePrompt) > 0)"
            ),
            message="schedulePrompt is required when schedule is set",
            field_path=".schedulePrompt",
            reason="FieldValueRequired",
        ),
        CelRule(
            rule=f"!has(self.schedule) || self.schedule.matches('{CRON_PATTERN}')",
            message=(
                "schedule must be a cron expression with five fields "
                "(minute hour day-of-month month day-of-week) or a macro such as @hourly"
            ),
            field_path=".schedule",
        ),
        CelRule(
            rule=f"self.timeout.matches('{DURATION_PATTERN}')",
            message="timeout must be a duration such as 90s, 10m or 1h30m",
            field_path=".timeout",
        ),
    )

    mode: AgentMode
    """daemon: an always-running Deployment with an HTTP API; task: one Job per AgentRun."""
    image: str | None = Field(None, max_length=512)
    """Runtime image; the operator's own runtime image when omitted."""
    image_pull_policy: ImagePullPolicy = "IfNotPresent"
    """When the kubelet pulls the image."""
    builtin_tools: list[BuiltinTool] | None = Field(None, max_length=8)
    """Built-in tools: bash, read, edit, write, grep, ls, glob, fetch. Omitted means all of
    them; an empty list means none."""
    temperature: Number | None = Field(None, ge=0, le=2)
    """Sampling temperature, 0 to 2."""
    max_output_tokens: int | None = Field(None, ge=1)
    """Most tokens per model response."""
    max_steps: int = Field(100, ge=1, le=10000)
    """Most model calls per turn."""
    model: str = Field(min_length=1, max_length=256)
    """Primary model as provider/model-id, where provider is a providerRefs name."""
    primary_provider: str | None = Field(None, max_length=253)
    """Provider used for a model given without a provider/ prefix."""
    title_model: str | None = Field(None, max_length=256)
    """Model for short titles; the primary model when omitted."""
    provider_refs: list[ProviderBinding] = Field(min_length=1, max_length=16)
    """Providers this agent may use."""
    fallback_models: list[ShortText] | None = Field(None, max_length=16)
    """Models tried in order when the primary fails with a retryable error."""
    system_prompt: str | None = None
    """The agent's instructions."""
    context_files: list[ContextFile] | None = Field(None, max_length=32)
    """ConfigMap keys mounted at /etc/context/<key> and read into the prompt."""
    delegation: DelegationSpec | None = None
    """Agents this agent may delegate work to."""
    tools: list[AgentToolBinding] | None = Field(None, max_length=64)
    """AgentTools this agent uses."""
    permission_tools: list[str] | None = Field(None, max_length=128)
    """Tools that wait for a person's approval before each call."""
    enable_question_tool: bool = False
    """Let the agent ask the person structured questions."""
    env: dict[str, str] | None = None
    """Environment variables of the runtime."""
    secrets: list[SecretEnvVar] | None = Field(None, max_length=64)
    """Environment variables taken from Secret keys."""
    storage: StorageSpec | None = None
    """Persistent /data volume (daemon only)."""
    memory: MemorySpec | None = None
    """Long-term memory."""
    resource_bindings: list[ResourceBinding] | None = Field(None, max_length=64)
    """AgentResources this agent works with."""
    tool_hooks: ToolHooksSpec | None = None
    """Guards and side effects around tool calls."""
    schedule: str | None = Field(None, max_length=128)
    """Cron schedule (minute hour day-of-month month day-of-week, UTC) that starts AgentRuns."""
    schedule_prompt: str | None = None
    """Prompt of the scheduled AgentRuns."""
    concurrency: ConcurrencySpec | None = None
    """Limits on simultaneous AgentRuns."""
    resources: ResourceRequirements | None = None
    """Compute resources of the runtime container."""
    service_account_name: str | None = Field(None, max_length=253)
    """Run as this ServiceAccount; the operator then creates no ServiceAccount or Role."""
    timeout: str = Field("10m", max_length=32)
    """Longest a run may take, as a duration (90s, 10m, 1h30m)."""
    network_policy: NetworkPolicySpec | None = None
    """Restrict ingress to the runtime port (daemon only)."""
    pod_annotations: dict[str, str] | None = None
    """Annotations on the agent's pods."""
    security: SecurityOverrides | None = None
    """Overrides of the restricted security floor."""

    def tool_names(self) -> set[str]:
        """Every tool name the agent can call, for cross-references such as auditTools."""
        builtins = set(BUILTIN_TOOLS if self.builtin_tools is None else self.builtin_tools)
        return builtins | {t.name for t in self.tools or ()} | set(ORCHESTRATION_TOOLS)


AgentPhase = Literal["Pending", "Running", "Ready", "Failed"]
PendingInputKind = Literal["permission", "question"]
PENDING_SUMMARY_CHARS = 128


class PendingInput(ApiModel):
    """A request of the daemon's runtime that waits for a person. The runtime writes it itself,
    so consoles learn that an agent waits from the watch they already hold instead of polling
    every agent; it names the request, never the tool's arguments (they may hold secrets)."""

    kind: PendingInputKind
    """permission (a gated tool waits to run) or question (the question tool waits for
    answers)."""
    since: Time
    """When the request was made."""
    request_id: str = Field(alias="requestID", min_length=1, max_length=64)
    """Answered at the runtime's POST /permission/{requestID}/reply or
    /question/{requestID}/reply."""
    summary: str = Field("", max_length=PENDING_SUMMARY_CHARS)
    """The gated tool's name, or the first question (truncated)."""


class AgentStatus(ConditionedStatus):
    """Observed state of an Agent."""

    phase: AgentPhase | None = None
    """Pending, Running (daemon serving), Ready (task agent can run) or Failed."""
    service_url: str | None = Field(None, alias="serviceURL")
    """In-cluster URL of the daemon's HTTP API."""
    ready_replicas: int | None = None
    """Ready pods of the daemon's Deployment."""
    storage_pvc: str | None = Field(None, alias="storagePVC")
    """Name of the PersistentVolumeClaim mounted at /data."""
    active_model: str | None = None
    """Model the runtime is configured with."""
    last_schedule_time: Time | None = None
    """Fire time of the newest AgentRun created by spec.schedule; the schedule resumes here."""
    pending_input: PendingInput | None = None
    """The oldest request of the runtime still waiting for a person (permission to run a tool,
    answers to questions); absent when none waits. Written by the runtime, not the operator."""


class Agent(Resource):
    """Agent defines an AI agent: its model and providers, tools, memory and limits. A daemon
    agent runs as a Deployment with a Service; a task agent runs one Job per AgentRun."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        name_rule(63, label=True, why="the agent's Service is named after it"),
    )
    crd: ClassVar[CrdInfo] = CrdInfo(
        plural="agents",
        short_names=("ag",),
        printer_columns=(
            PrinterColumn("Mode", ".spec.mode"),
            PrinterColumn("Model", ".spec.model"),
            PrinterColumn("Phase", ".status.phase"),
            READY_COLUMN,
            AGE_COLUMN,
        ),
    )
    kind: Literal["Agent"] = "Agent"
    """Kind of the object."""
    spec: AgentSpec
    """Desired state."""
    status: AgentStatus | None = None
    """Observed state, written by the operator."""

    def warnings(self) -> list[str]:
        """Non-blocking findings, as the upstream admission webhook reported them."""
        hooks = self.spec.tool_hooks
        known = self.spec.tool_names()
        return [
            f'spec.toolHooks.auditTools: "{tool}" is not a tool of this agent'
            for tool in (hooks.audit_tools or () if hooks else ())
            if tool not in known
        ]
