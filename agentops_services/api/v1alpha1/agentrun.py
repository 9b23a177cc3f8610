"""AgentRun: one execution of an Agent's prompt."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from agentops_services.api.model import ApiModel, CelRule, Time
from agentops_services.api.v1alpha1.agent import AgentMode
from agentops_services.api.v1alpha1.common import Name
from agentops_services.api.v1alpha1.meta import (
    AGE_COLUMN,
    READY_COLUMN,
    ConditionedStatus,
    CrdInfo,
    PrinterColumn,
    Resource,
    name_rule,
)

RunSource = Literal["channel", "agent", "schedule", "console"]
Intent = Literal["change", "plan", "incident", "discovery", "noop"]
ArtifactKind = Literal["pr", "mr", "issue", "memory", "commit"]


class GitWorkspace(ApiModel):
    """A git repository the run clones and works on (task agents)."""

    resource_ref: Name
    """AgentResource of kind github-repo, gitlab-project or git-repo."""
    branch: str = Field(min_length=1, max_length=255)
    """Branch the agent commits to."""
    base_branch: str | None = Field(None, max_length=255)
    """Branch to start from; the resource's default branch when omitted."""


class OutcomeHint(ApiModel):
    """What the caller expects the run to produce."""

    intent: Intent | None = None
    """change, plan, incident, discovery or noop."""


class Artifact(ApiModel):
    """Something the run produced, such as a merge request."""

    kind: ArtifactKind
    """pr, mr, issue, memory or commit."""
    provider: str | None = None
    """Where it lives, for example github or gitlab."""
    url: str | None = None
    """Link to it."""
    ref: str | None = None
    """Identifier such as a branch, number or commit SHA."""
    title: str | None = None
    """Title."""


class RunOutcome(ApiModel):
    """What the run declared it did (written by the runtime)."""

    intent: Intent | None = None
    """change, plan, incident, discovery or noop."""
    artifacts: list[Artifact] | None = Field(None, max_length=64)
    """What it produced."""
    summary: str | None = None
    """One-paragraph summary."""


class AgentRunSpec(ApiModel):
    """Desired state of an AgentRun; immutable once created."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(rule="self == oldSelf", message="spec is immutable: create a new AgentRun"),
    )

    agent_ref: Name
    """Agent that executes the run."""
    prompt: str = Field(min_length=1)
    """The prompt."""
    source: RunSource
    """Who started it: channel, agent (delegation), schedule or console."""
    source_ref: str | None = Field(None, max_length=253)
    """Channel name, parent agent name or schedule."""
    git: GitWorkspace | None = None
    """Git workspace for the run (task agents)."""
    outcome: OutcomeHint | None = None
    """What the caller expects the run to produce."""


RunPhase = Literal["Pending", "Queued", "Running", "Succeeded", "Failed"]
TERMINAL_RUN_PHASES: tuple[RunPhase, ...] = ("Succeeded", "Failed")


class AgentRunStatus(ConditionedStatus):
    """Observed state of an AgentRun."""

    phase: RunPhase | None = None
    """Pending, Queued, Running, Succeeded or Failed."""
    mode: AgentMode | None = None
    """Mode of the agent that executes it."""
    start_time: Time | None = None
    """When it started running."""
    completion_time: Time | None = None
    """When it finished."""
    job_name: str | None = None
    """Job executing it (task agents)."""
    output: str | None = None
    """Final answer, or the failure message."""
    tool_calls: int | None = Field(None, ge=0)
    """Tool calls made."""
    tokens_used: int | None = Field(None, ge=0)
    """Input plus output tokens."""
    cost: str | None = None
    """Estimated cost in USD."""
    model: str | None = None
    """Model that produced the answer."""
    trace_id: str | None = Field(None, alias="traceID", pattern=r"^[0-9a-f]{32}$")
    """Trace id of the run (32 lower-case hex digits)."""
    outcome: RunOutcome | None = None
    """What the run declared it did."""


class AgentRun(Resource):
    """AgentRun is one execution of an Agent: a prompt from a channel, another agent, a
    schedule or the console, with its phase, output, tokens and trace."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        name_rule(63, label=False, why="the run's Job and pods carry the name in a label"),
    )
    crd: ClassVar[CrdInfo] = CrdInfo(
        plural="agentruns",
        short_names=("ar",),
        printer_columns=(
            PrinterColumn("Agent", ".spec.agentRef"),
            PrinterColumn("Source", ".spec.source"),
            PrinterColumn("Phase", ".status.phase"),
            PrinterColumn("Mode", ".status.mode"),
            PrinterColumn("Intent", ".status.outcome.intent"),
            PrinterColumn("Artifact", ".status.outcome.artifacts[0].url", priority=1),
            PrinterColumn("Tokens", ".status.tokensUsed", "integer"),
            READY_COLUMN,
            AGE_COLUMN,
        ),
    )
    kind: Literal["AgentRun"] = "AgentRun"
    """Kind of the object."""
    spec: AgentRunSpec
    """Desired state."""
    status: AgentRunStatus | None = None
    """Observed state, written by the operator and the runtime."""
