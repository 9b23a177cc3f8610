"""The agent runtime's config.json: written by the operator (a ConfigMap mounted at
/etc/operator/config.json) or by the embedded supervisor (a file), read by the runtime.

One model on both sides, so what one writes the other reads. Keys and shapes are upstream's.
Unknown keys are ignored rather than refused: an Agent may pin an older runtime image than
the operator that writes its config.
"""

from __future__ import annotations

import json
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from agentops_services.api.model import ApiModel, Number
from agentops_services.api.v1alpha1.agent import ToolHooksSpec
from agentops_services.api.v1alpha1.agentresource import (
    Documentation,
    GithubOrg,
    GithubRepo,
    GitlabGroup,
    GitlabProject,
    GitRepo,
    ResourceKind,
    S3Bucket,
)
from agentops_services.api.v1alpha1.provider import (
    ProviderCallDefaults,
    ProviderType,
    VertexConfig,
)

DEFAULT_CONFIG_PATH = "/etc/operator/config.json"
DEFAULT_MAX_TOOL_RESULT_CHARS = 50_000
DEFAULT_BUDGET_FRACTION = 0.75


class ConfigModel(ApiModel):
    """Base of config.json models: camelCase, strict, unknown keys ignored."""

    model_config = ConfigDict(extra="ignore")


class OAuth2Config(ConfigModel):
    """OAuth2 client credentials for an openaicompat provider; secrets come from env."""

    token_url: str = Field(alias="tokenURL")
    client_id_env: str = Field(alias="clientIDEnv")
    client_secret_env: str = Field(alias="clientSecretEnv")
    scopes: list[str] | None = None
    audience: str | None = None


class ProviderEntry(ConfigModel):
    """One LLM backend; `name` is the provider/ prefix of model strings."""

    name: str = Field(min_length=1)
    type: ProviderType | Literal["scripted"]
    """A Provider type, or scripted: replays a YAML script (demos and agent tests)."""
    base_url: str | None = Field(None, alias="baseURL")
    headers: dict[str, str] | None = None
    organization: str | None = None
    project: str | None = None
    use_responses_api: bool | None = Field(None, alias="useResponsesAPI")
    azure_api_version: str | None = Field(None, alias="azureAPIVersion")
    vertex: VertexConfig | None = None
    bedrock: bool | None = None
    oauth2: OAuth2Config | None = None
    call_defaults: ProviderCallDefaults | None = None
    api_key_env: str | None = None
    """Environment variable holding the API key; <NAME>_API_KEY (sanitised) when omitted."""
    script: str | None = None
    """For type scripted: path of the YAML script to replay."""


class ToolEntry(ConfigModel):
    """An OCI-packaged MCP stdio server or script unpacked at `path`."""

    name: str
    path: str
    description: str | None = None
    category: str | None = None
    ui_hint: str | None = None


class PermissionPolicy(ConfigModel):
    """Allow or deny rules for one MCP server's tool calls."""

    mode: Literal["deny", "allow"]
    rules: list[str] = Field(default_factory=list)


class McpServerEntry(ConfigModel):
    """An MCP server reached over HTTP: a gateway sidecar on `port`, or any `url`."""

    name: str
    port: int | None = Field(None, ge=1, le=65535)
    """Gateway sidecar port on localhost (upstream); the URL is http://localhost:<port>/mcp."""
    url: str | None = None
    """Full endpoint URL (wins over port)."""
    transport: Literal["streamable-http", "sse"] = "streamable-http"
    headers: dict[str, str] | None = None
    direct_tools: list[str] | None = None
    permissions: PermissionPolicy | None = None
    description: str | None = None
    category: str | None = None
    ui_hint: str | None = None

    def endpoint(self) -> str | None:
        if self.url:
            return self.url
        return f"http://localhost:{self.port}/mcp" if self.port else None


class ContextFileEntry(ConfigModel):
    path: str


class ResourceEntry(ConfigModel):
    """An AgentResource the agent works with, and its binding flags."""

    name: str
    kind: ResourceKind
    display_name: str
    description: str | None = None
    read_only: bool = False
    auto_context: bool = False
    github: GithubRepo | None = None
    github_org: GithubOrg | None = None
    gitlab: GitlabProject | None = None
    gitlab_group: GitlabGroup | None = None
    git: GitRepo | None = None
    s3: S3Bucket | None = None
    documentation: Documentation | None = None


class MemoryConfig(ConfigModel):
    """Memory service integration; disabled when absent."""

    server_url: str = Field(alias="serverURL", min_length=1)
    project: str | None = None
    context_limit: int = Field(5, ge=0, le=50)
    auto_summarize: bool = True
    auto_save: bool = True
    auto_search: bool = True


class DelegationConfig(ConfigModel):
    team: list[str]
    max_fan_out: int = Field(5, ge=1, le=10)


class RuntimeConfig(ConfigModel):
    """Everything the runtime needs to know about its agent."""

    ALWAYS_PRESENT: ClassVar[tuple[str, ...]] = (
        "providers",
        "primaryModel",
        "builtinTools",
        "tools",
    )

    runtime: str = "agentops"
    providers: list[ProviderEntry] | None = None
    primary_provider: str | None = None
    primary_model: str | None = None
    """provider/model-id, split on the first '/'."""
    fallback_models: list[str] | None = None
    title_model: str | None = None
    system_prompt: str | None = None
    platform_protocol: str | None = None
    """Identity, delegation and memory instructions built by the operator."""
    builtin_tools: list[str] | None = None
    """None (null): every built-in tool; []: none."""
    tools: list[ToolEntry] | None = None
    mcp_servers: list[McpServerEntry] | None = None
    context_files: list[ContextFileEntry] | None = None
    tool_hooks: ToolHooksSpec | None = None
    temperature: Number | None = Field(None, ge=0, le=2)
    max_output_tokens: int | None = Field(None, ge=1)
    max_steps: int | None = Field(None, ge=1)
    max_retries: int = Field(2, ge=0, le=10)
    """Retries of a failed model call (429, 5xx, overloaded, stalled) before falling back."""
    permission_tools: list[str] | None = None
    enable_question_tool: bool | None = None
    max_tool_result_chars: int = Field(DEFAULT_MAX_TOOL_RESULT_CHARS, ge=1000)
    budget_fraction: float = Field(DEFAULT_BUDGET_FRACTION, gt=0, lt=1)
    """Share of the context window the conversation may fill before it is trimmed."""
    resources: list[ResourceEntry] | None = None
    memory: MemoryConfig | None = None
    delegation: DelegationConfig | None = None

    def to_json(self) -> str:
        """config.json text: 2-space indent, empty optionals omitted except the always-present
        keys (a null builtinTools means 'all', which must not be lost)."""
        data = self.model_dump(mode="json", exclude_none=True)
        for key in self.ALWAYS_PRESENT:
            data.setdefault(key, None)
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> RuntimeConfig:
        return cls.model_validate_json(text)
