"""AgentResource: an external resource (repository, bucket, documentation) agents work with."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from agentops_services.api.model import ApiModel, CelRule
from agentops_services.api.v1alpha1.common import SecretKeyRef
from agentops_services.api.v1alpha1.meta import (
    AGE_COLUMN,
    READY_COLUMN,
    ConditionedStatus,
    CrdInfo,
    PrinterColumn,
    Resource,
    block_rules,
)

ResourceKind = Literal[
    "github-repo",
    "github-org",
    "gitlab-project",
    "gitlab-group",
    "git-repo",
    "s3-bucket",
    "documentation",
]

BLOCK_FOR_KIND: dict[ResourceKind, str] = {
    "github-repo": "github",
    "github-org": "githubOrg",
    "gitlab-project": "gitlab",
    "gitlab-group": "gitlabGroup",
    "git-repo": "git",
    "s3-bucket": "s3",
    "documentation": "documentation",
}
"""Which configuration block each kind takes (wire names)."""


class GithubRepo(ApiModel):
    """A GitHub repository."""

    owner: str = Field(min_length=1, max_length=100)
    """User or organisation owning the repository."""
    repo: str = Field(min_length=1, max_length=100)
    """Repository name."""
    default_branch: str | None = None
    """Default branch."""
    api_url: str | None = Field(None, alias="apiURL")
    """API URL for GitHub Enterprise."""


class GithubOrg(ApiModel):
    """A GitHub organisation."""

    org: str = Field(min_length=1, max_length=100)
    """Organisation name."""
    repo_filter: list[str] | None = Field(None, max_length=64)
    """Glob patterns selecting repositories."""
    api_url: str | None = Field(None, alias="apiURL")
    """API URL for GitHub Enterprise."""


class GitlabProject(ApiModel):
    """A GitLab project."""

    base_url: str = Field(min_length=1, alias="baseURL")
    """GitLab URL, for example https://gitlab.com."""
    project: str = Field(min_length=1)
    """Project path, for example group/project."""
    default_branch: str | None = None
    """Default branch."""


class GitlabGroup(ApiModel):
    """A GitLab group."""

    base_url: str = Field(min_length=1, alias="baseURL")
    """GitLab URL."""
    group: str = Field(min_length=1)
    """Group path."""
    projects: list[str] | None = Field(None, max_length=256)
    """Projects of the group the agent may use; all when omitted."""


class GitRepo(ApiModel):
    """A plain git repository."""

    url: str = Field(min_length=1)
    """Clone URL."""
    branch: str | None = None
    """Default branch."""
    ssh_key_secret: SecretKeyRef | None = None
    """Secret key holding an SSH private key for cloning."""


class S3Bucket(ApiModel):
    """An S3 or S3-compatible bucket."""

    bucket: str = Field(min_length=1)
    """Bucket name."""
    region: str | None = None
    """Region."""
    endpoint: str | None = None
    """Endpoint of an S3-compatible service."""
    prefix: str | None = None
    """Key prefix the agent works under."""


class Documentation(ApiModel):
    """Documentation the agent may read."""

    urls: list[str] | None = Field(None, max_length=64)
    """Documentation URLs."""
    config_map_ref: SecretKeyRef | None = None
    """ConfigMap key holding documentation text."""


class AgentResourceSpec(ApiModel):
    """Desired state of an AgentResource."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        *block_rules("kind", BLOCK_FOR_KIND, required=BLOCK_FOR_KIND),
        CelRule(
            rule=(
                "!has(self.documentation) || has(self.documentation.configMapRef) || "
                "(has(self.documentation.urls) && size(self.documentation.urls) > 0)"
            ),
            message="documentation needs urls or configMapRef",
            field_path=".documentation",
            reason="FieldValueRequired",
        ),
    )

    kind: ResourceKind
    """github-repo, github-org, gitlab-project, gitlab-group, git-repo, s3-bucket or
    documentation; selects the configuration block."""
    display_name: str = Field(min_length=1, max_length=256)
    """Name shown in the console."""
    description: str | None = Field(None, max_length=4096)
    """What the resource is, for people and for the agent."""
    credentials: SecretKeyRef | None = None
    """Secret key holding an access token."""
    github: GithubRepo | None = None
    """For kind github-repo."""
    github_org: GithubOrg | None = None
    """For kind github-org."""
    gitlab: GitlabProject | None = None
    """For kind gitlab-project."""
    gitlab_group: GitlabGroup | None = None
    """For kind gitlab-group."""
    git: GitRepo | None = None
    """For kind git-repo."""
    s3: S3Bucket | None = None
    """For kind s3-bucket."""
    documentation: Documentation | None = None
    """For kind documentation."""


class AgentResourceStatus(ConditionedStatus):
    """Observed state of an AgentResource."""

    phase: Literal["Pending", "Ready", "Failed"] | None = None
    """Pending, Ready or Failed."""


class AgentResource(Resource):
    """AgentResource binds an external resource — a GitHub or GitLab repository or group, a git
    repository, an S3 bucket or documentation — that agents work with and people select in the
    console to scope a prompt."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        plural="agentresources",
        short_names=("ares",),
        printer_columns=(
            PrinterColumn("Kind", ".spec.kind"),
            PrinterColumn("Display Name", ".spec.displayName"),
            PrinterColumn("Phase", ".status.phase"),
            READY_COLUMN,
            AGE_COLUMN,
        ),
    )
    kind: Literal["AgentResource"] = "AgentResource"
    """Kind of the object."""
    spec: AgentResourceSpec
    """Desired state."""
    status: AgentResourceStatus | None = None
    """Observed state, written by the operator."""
