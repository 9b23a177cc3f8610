"""Provider: a shared LLM provider configuration that Agents reference by name."""

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
)

ProviderType = Literal[
    "anthropic", "openai", "google", "azure", "bedrock", "openrouter", "openaicompat"
]


class OAuth2ClientCredentials(ApiModel):
    """OAuth2 client-credentials flow whose tokens are injected into every LLM request."""

    token_url: str = Field(min_length=1, alias="tokenURL")
    """Token endpoint of the identity provider."""
    client_id_secret: SecretKeyRef
    """Secret key holding the client id."""
    client_secret_secret: SecretKeyRef
    """Secret key holding the client secret."""
    scope: str | None = None
    """Space-separated scopes to request."""
    audience: str | None = None
    """Audience to request, for identity providers that need one."""


class ProviderEndpoint(ApiModel):
    """Where the provider's API is reached and how."""

    base_url: str | None = Field(None, alias="baseURL", max_length=2048)
    """API base URL; required for openaicompat. With OAuth2 it is the upstream target."""
    headers: dict[str, str] | None = None
    """Extra HTTP headers sent with every request."""
    oauth2_client_credentials: OAuth2ClientCredentials | None = Field(
        None, alias="oauth2ClientCredentials"
    )
    """Authenticate with OAuth2 client credentials instead of an API key."""


class VertexConfig(ApiModel):
    """Google Cloud Vertex AI location (Claude or Gemini on Vertex, ADC credentials)."""

    project: str = Field(min_length=1)
    """Google Cloud project id."""
    location: str = Field(min_length=1)
    """Vertex AI region, for example us-central1."""


class ProviderConfig(ApiModel):
    """Type-specific settings; each is valid only for the types its description names."""

    organization: str | None = None
    """OpenAI organization id (type openai)."""
    project: str | None = None
    """OpenAI project id (type openai)."""
    use_responses_api: bool | None = Field(None, alias="useResponsesAPI")
    """Use the Responses API instead of Chat Completions (openai, azure, openaicompat)."""
    azure_api_version: str | None = Field(None, alias="azureAPIVersion")
    """Azure OpenAI api-version (type azure; the runtime defaults to 2025-01-01-preview)."""
    vertex: VertexConfig | None = None
    """Serve the model from Vertex AI (anthropic, google)."""
    bedrock: bool | None = None
    """Serve the model from Amazon Bedrock (anthropic, bedrock)."""


class AnthropicDefaults(ApiModel):
    """Per-call defaults for Anthropic models."""

    effort: Literal["low", "medium", "high", "max"] | None = None
    """Reasoning effort."""
    thinking_budget_tokens: int | None = Field(None, ge=1024)
    """Extended-thinking budget in tokens (at least 1024)."""
    disable_parallel_tool_use: bool | None = None
    """Ask the model for at most one tool call per step."""


class OpenAIDefaults(ApiModel):
    """Per-call defaults for OpenAI-style models."""

    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    """Reasoning effort of reasoning models."""
    service_tier: str | None = Field(None, max_length=64)
    """Service tier, for example auto, default, flex or priority."""


class SafetySetting(ApiModel):
    """A Gemini safety threshold for one harm category."""

    category: str = Field(min_length=1)
    """Harm category, for example HARM_CATEGORY_HARASSMENT."""
    threshold: str = Field(min_length=1)
    """Block threshold, for example BLOCK_ONLY_HIGH."""


class GoogleDefaults(ApiModel):
    """Per-call defaults for Gemini models."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="!has(self.thinkingLevel) || !has(self.thinkingBudgetTokens)",
            message="thinkingLevel and thinkingBudgetTokens are mutually exclusive",
            field_path=".thinkingBudgetTokens",
            reason="FieldValueForbidden",
        ),
    )

    thinking_level: Literal["LOW", "MEDIUM", "HIGH", "MINIMAL"] | None = None
    """Thinking level (Gemini 3 and later)."""
    thinking_budget_tokens: int | None = Field(None, ge=128)
    """Thinking budget in tokens (at least 128)."""
    safety_settings: list[SafetySetting] | None = Field(None, max_length=16)
    """Safety thresholds per harm category; an override replaces the whole list."""


class ProviderCallDefaults(ApiModel):
    """Per-call defaults applied to every request sent through this provider."""

    anthropic: AnthropicDefaults | None = None
    """Defaults for Anthropic models (types anthropic, bedrock)."""
    openai: OpenAIDefaults | None = None
    """Defaults for OpenAI-style models (types openai, azure, openaicompat, openrouter)."""
    google: GoogleDefaults | None = None
    """Defaults for Gemini models (type google)."""


def _config_only_for(field: str, types: tuple[str, ...], truthy: bool = False) -> CelRule:
    """`config.<field>` (or `defaults.<field>`) is valid only for the listed types."""
    parent, _, leaf = field.partition(".")
    present = f"has(self.{parent}) && has(self.{parent}.{leaf})"
    if truthy:
        present += f" && self.{parent}.{leaf}"
    allowed = ", ".join(f"'{t}'" for t in types)
    names = (
        f"type {types[0]}" if len(types) == 1 else f"types {', '.join(types[:-1])} or {types[-1]}"
    )
    return CelRule(
        rule=f"!({present}) || self.type in [{allowed}]",
        message=f"{field} is only valid for {names}",
        field_path=f".{field}",
        reason="FieldValueForbidden",
    )


_OAUTH = "has(self.endpoint) && has(self.endpoint.oauth2ClientCredentials)"


class ProviderSpec(ApiModel):
    """Desired state of a Provider."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule=(
                "self.type != 'openaicompat' || (has(self.endpoint) && "
                "has(self.endpoint.baseURL) && size(self.endpoint.baseURL) > 0)"
            ),
            message="endpoint.baseURL is required for type openaicompat",
            field_path=".endpoint.baseURL",
            reason="FieldValueRequired",
        ),
        _config_only_for("config.vertex", ("anthropic", "google")),
        _config_only_for("config.bedrock", ("anthropic", "bedrock"), truthy=True),
        CelRule(
            rule=(
                "!has(self.config) || !has(self.config.vertex) || "
                "!has(self.config.bedrock) || !self.config.bedrock"
            ),
            message="config.vertex and config.bedrock are mutually exclusive",
            field_path=".config.bedrock",
            reason="FieldValueForbidden",
        ),
        _config_only_for("config.azureAPIVersion", ("azure",)),
        _config_only_for("config.organization", ("openai",)),
        _config_only_for("config.project", ("openai",)),
        _config_only_for(
            "config.useResponsesAPI", ("openai", "azure", "openaicompat"), truthy=True
        ),
        _config_only_for("defaults.anthropic", ("anthropic", "bedrock")),
        _config_only_for("defaults.openai", ("openai", "azure", "openaicompat", "openrouter")),
        _config_only_for("defaults.google", ("google",)),
        CelRule(
            rule=f"!has(self.apiKeySecret) || !({_OAUTH})",
            message="only one of apiKeySecret or endpoint.oauth2ClientCredentials may be set",
            field_path=".apiKeySecret",
            reason="FieldValueForbidden",
        ),
        CelRule(
            rule=(
                f"has(self.apiKeySecret) || ({_OAUTH}) || self.type in ['openaicompat', 'bedrock'] "
                "|| (has(self.config) && (has(self.config.vertex) || "
                "(has(self.config.bedrock) && self.config.bedrock)))"
            ),
            message=(
                "apiKeySecret is required unless endpoint.oauth2ClientCredentials, config.vertex "
                "or config.bedrock supplies the credentials"
            ),
            field_path=".apiKeySecret",
            reason="FieldValueRequired",
        ),
    )

    type: ProviderType
    """LLM API the provider speaks: anthropic, openai, google, azure, bedrock, openrouter or
    openaicompat (any OpenAI-compatible server)."""
    api_key_secret: SecretKeyRef | None = None
    """Secret key holding the API key. Agents receive it as <PROVIDER>_API_KEY. Not needed
    with OAuth2, Vertex, Bedrock or a keyless openaicompat server."""
    endpoint: ProviderEndpoint | None = None
    """Endpoint override, extra headers and OAuth2."""
    config: ProviderConfig | None = None
    """Type-specific settings."""
    defaults: ProviderCallDefaults | None = None
    """Per-call defaults; an Agent's providerRefs[].overrides win field by field."""


ProviderPhase = Literal["Pending", "Ready", "Failed"]


class ProviderStatus(ConditionedStatus):
    """Observed state of a Provider."""

    phase: ProviderPhase | None = None
    """Pending, Ready or Failed."""
    message: str | None = None
    """One-line summary of the phase."""
    bound_agents: int | None = Field(None, ge=0)
    """How many Agents in the namespace reference this provider."""


class Provider(Resource):
    """Provider is a shared LLM provider configuration: API type, credentials, endpoint and
    per-call defaults. Agents reference providers by name in spec.providerRefs."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        plural="providers",
        short_names=("prov",),
        printer_columns=(
            PrinterColumn("Type", ".spec.type"),
            PrinterColumn("Phase", ".status.phase"),
            PrinterColumn("Agents", ".status.boundAgents", "integer"),
            READY_COLUMN,
            AGE_COLUMN,
        ),
    )
    kind: Literal["Provider"] = "Provider"
    """Kind of the object."""
    spec: ProviderSpec
    """Desired state."""
    status: ProviderStatus | None = None
    """Observed state, written by the operator."""
