"""AgentTool: a catalogue entry for a tool, from exactly one source."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from agentops_services.api.model import ApiModel, CelRule, JsonObject
from agentops_services.api.v1alpha1.common import (
    ImagePullPolicy,
    Name,
    ResourceRequirements,
    SecretEnvVar,
    SecretKeyRef,
    SecurityOverrides,
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

OCI_REF_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._\-/:@+]+$"
SOURCES = ("oci", "configMap", "inline", "mcpServer", "mcpEndpoint", "skill")
SourceType = Literal["oci", "configMap", "inline", "mcpServer", "mcpEndpoint", "skill"]
INLINE_MAX_BYTES = 4096


class OciSource(ApiModel):
    """An MCP stdio server binary packaged as an OCI artifact."""

    ref: str = Field(max_length=512, pattern=OCI_REF_PATTERN)
    """Artifact reference, for example ghcr.io/org/tools/kubectl:1.0.0."""
    digest: str | None = Field(None, max_length=128)
    """Expected digest (sha256:...)."""
    pull_policy: ImagePullPolicy | None = None
    """When to pull the artifact."""
    pull_secret: SecretKeyRef | None = None
    """Secret key holding a docker config.json for the registry."""


class ConfigMapSource(ApiModel):
    """A script kept in a ConfigMap key."""

    name: Name
    """ConfigMap name."""
    key: str = Field(min_length=1, max_length=253)
    """Key holding the script."""


class InlineSource(ApiModel):
    """A small script written into the resource itself."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule=f"size(bytes(self.content)) <= {INLINE_MAX_BYTES}",
            message=(
                f"inline content must be at most {INLINE_MAX_BYTES} bytes; "
                "use a configMap source for larger scripts"
            ),
            field_path=".content",
        ),
    )

    content: str = Field(min_length=1, max_length=4 * INLINE_MAX_BYTES)
    """The script."""


class HealthCheck(ApiModel):
    """How the tool server's health is checked."""

    path: str | None = Field(None, max_length=512)
    """HTTP path probed on the server (mcpServer)."""
    url: str | None = Field(None, max_length=2048)
    """Full URL probed (mcpEndpoint); the endpoint URL when omitted."""
    interval_seconds: int = Field(30, ge=5, le=3600)
    """Seconds between checks."""


class McpServerSource(ApiModel):
    """An MCP server the operator deploys (a Deployment and a Service)."""

    image: str = Field(min_length=1, max_length=512)
    """Image containing the MCP server."""
    port: int = Field(8080, ge=1, le=65535)
    """Port the server serves MCP on (streamable HTTP at /mcp)."""
    command: list[str] = Field(min_length=1, max_length=64)
    """Command that starts the server serving MCP over streamable HTTP on `port` at /mcp.
    A stdio-only server belongs in an oci tool, which the agent runtime spawns itself."""
    env: dict[str, str] | None = None
    """Environment variables of the server."""
    secrets: list[SecretEnvVar] | None = Field(None, max_length=64)
    """Environment variables taken from Secret keys."""
    service_account_name: str | None = Field(None, max_length=253)
    """ServiceAccount of the server's pods."""
    resources: ResourceRequirements | None = None
    """Compute resources of the server container."""
    health_check: HealthCheck | None = None
    """Liveness and readiness probing."""
    security: SecurityOverrides | None = None
    """Overrides of the restricted security floor."""


class McpOAuth(ApiModel):
    """OAuth2 client credentials for a remote MCP endpoint."""

    client_id_secret: SecretKeyRef
    """Secret key holding the client id."""
    client_secret_secret: SecretKeyRef
    """Secret key holding the client secret."""


class McpEndpointSource(ApiModel):
    """A remote MCP server reached over HTTP."""

    url: str = Field(min_length=1, max_length=2048)
    """Endpoint URL."""
    transport: Literal["sse", "streamable-http"] = "sse"
    """MCP transport: sse (the upstream default) or streamable-http."""
    headers: dict[str, str] | None = None
    """Extra HTTP headers."""
    oauth: McpOAuth | None = None
    """OAuth2 client credentials."""
    health_check: HealthCheck | None = None
    """Reachability checks."""


class SkillSource(ApiModel):
    """A markdown skill packaged as an OCI artifact, added to the agent's prompt."""

    ref: str = Field(max_length=512, pattern=OCI_REF_PATTERN)
    """Artifact reference."""
    digest: str | None = Field(None, max_length=128)
    """Expected digest (sha256:...)."""
    pull_policy: ImagePullPolicy | None = None
    """When to pull the artifact."""
    pull_secret: SecretKeyRef | None = None
    """Secret key holding a docker config.json for the registry."""


class DefaultPermissions(ApiModel):
    """Permissions an Agent inherits when its binding sets none (MCP sources)."""

    require_approval: bool | None = None
    """Every call waits for a person's approval."""
    mode: Literal["deny", "allow"] | None = None
    """deny blocks matching calls; allow permits only matching calls."""
    rules: list[str] | None = Field(None, max_length=128)
    """Rules: tool, tool:arg=value, tool:arg=prefix*, tool:*=value."""


def _count_sources() -> str:
    return " + ".join(f"(has(self.{s}) ? 1 : 0)" for s in SOURCES)


class AgentToolSpec(ApiModel):
    """Desired state of an AgentTool."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule=f"{_count_sources()} >= 1",
            message=(
                "exactly one source must be set: oci, configMap, inline, mcpServer, "
                "mcpEndpoint or skill"
            ),
        ),
        CelRule(
            rule=f"{_count_sources()} <= 1",
            message="exactly one source must be set, found multiple",
        ),
        CelRule(
            rule=(
                "!has(self.defaultPermissions) || !has(self.defaultPermissions.mode) || "
                "has(self.mcpServer) || has(self.mcpEndpoint)"
            ),
            message="defaultPermissions.mode is only valid for mcpServer and mcpEndpoint sources",
            field_path=".defaultPermissions.mode",
            reason="FieldValueForbidden",
        ),
    )

    description: str | None = Field(None, max_length=4096)
    """What the tool does; shown to the model and in the console."""
    category: str | None = Field(None, max_length=64)
    """Free-form category, for example infrastructure or git."""
    ui_hint: str | None = Field(None, max_length=64)
    """Console card renderer for its results, for example terminal, diff or
    kubernetes-resources."""
    oci: OciSource | None = None
    """MCP stdio server from an OCI artifact."""
    config_map: ConfigMapSource | None = None
    """Script from a ConfigMap key."""
    inline: InlineSource | None = None
    """Script written inline (at most 4096 bytes)."""
    mcp_server: McpServerSource | None = None
    """MCP server deployed by the operator."""
    mcp_endpoint: McpEndpointSource | None = None
    """Remote MCP endpoint."""
    skill: SkillSource | None = None
    """Markdown skill from an OCI artifact."""
    default_permissions: DefaultPermissions | None = None
    """Permissions inherited by agent bindings that set none."""

    def source_type(self) -> SourceType | None:
        """The source block that is set (the first one, if several are)."""
        values: dict[SourceType, object] = {
            "oci": self.oci,
            "configMap": self.config_map,
            "inline": self.inline,
            "mcpServer": self.mcp_server,
            "mcpEndpoint": self.mcp_endpoint,
            "skill": self.skill,
        }
        return next((name for name, block in values.items() if block is not None), None)


class DiscoveredTool(ApiModel):
    """A tool the server advertised through MCP tools/list."""

    name: str
    """Tool name."""
    description: str | None = None
    """Tool description."""
    input_schema: JsonObject | None = None
    """JSON schema of the tool's arguments."""


ToolPhase = Literal["Pending", "Deploying", "Ready", "Failed"]


class AgentToolStatus(ConditionedStatus):
    """Observed state of an AgentTool."""

    phase: ToolPhase | None = None
    """Pending, Deploying (mcpServer), Ready or Failed."""
    source_type: SourceType | None = None
    """Which source block is set."""
    service_url: str | None = Field(None, alias="serviceURL")
    """URL of the MCP server (mcpServer, mcpEndpoint)."""
    discovered_tools: list[DiscoveredTool] | None = Field(None, max_length=512)
    """Tools the MCP server advertises, listed when it is reachable."""


class AgentTool(Resource):
    """AgentTool is a catalogue entry for a tool that Agents bind by name: an OCI-packaged MCP
    server, a script, an operator-deployed MCP server, a remote MCP endpoint or a skill."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        name_rule(56, label=False, why="its Service is named agtool-<name>"),
    )
    crd: ClassVar[CrdInfo] = CrdInfo(
        plural="agenttools",
        short_names=("agtool",),
        printer_columns=(
            PrinterColumn("Source", ".status.sourceType"),
            PrinterColumn("Category", ".spec.category"),
            PrinterColumn("Phase", ".status.phase"),
            PrinterColumn("URL", ".status.serviceURL"),
            READY_COLUMN,
            AGE_COLUMN,
        ),
    )
    kind: Literal["AgentTool"] = "AgentTool"
    """Kind of the object."""
    spec: AgentToolSpec
    """Desired state."""
    status: AgentToolStatus | None = None
    """Observed state, written by the operator."""
