"""Channel: an ingress bridge from a chat platform or webhook source to an Agent."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from agentops_services.api.model import ApiModel, CelRule
from agentops_services.api.v1alpha1.common import (
    ImagePullPolicy,
    Name,
    ResourceRequirements,
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
    block_rules,
    name_rule,
)

ChannelType = Literal["telegram", "slack", "discord", "gitlab", "github", "webhook"]
CHAT_TYPES: tuple[ChannelType, ...] = ("telegram", "slack", "discord")
EVENT_TYPES: tuple[ChannelType, ...] = ("gitlab", "github", "webhook")

BLOCK_FOR_TYPE: dict[ChannelType, str] = {
    "telegram": "telegram",
    "slack": "slack",
    "discord": "discord",
    "gitlab": "gitlab",
    "github": "github",
    "webhook": "webhookConfig",
}
"""Which configuration block each type takes (wire names)."""
REQUIRED_BLOCK_TYPES: tuple[ChannelType, ...] = ("telegram", "slack", "discord", "gitlab", "github")


class TelegramConfig(ApiModel):
    """A Telegram bot."""

    bot_token_secret: SecretKeyRef
    """Secret key holding the bot token."""
    allowed_users: list[str] | None = Field(None, max_length=256)
    """User ids allowed to talk to the agent; everyone when omitted."""
    allowed_chats: list[str] | None = Field(None, max_length=256)
    """Chat ids the bot answers in; all when omitted."""


class ChatBotConfig(ApiModel):
    """A Slack or Discord bot."""

    bot_token_secret: SecretKeyRef
    """Secret key holding the bot token."""
    allowed_channels: list[str] | None = Field(None, max_length=256)
    """Channel ids the bot answers in; all when omitted."""


class ForgeEventConfig(ApiModel):
    """Which GitLab or GitHub webhook events start runs."""

    events: list[str] = Field(min_length=1, max_length=64)
    """Event types, for example "Merge Request Hook" (GitLab) or pull_request (GitHub)."""
    actions: list[str] | None = Field(None, max_length=64)
    """Event actions accepted, for example open or synchronize; all when omitted."""
    labels: list[str] | None = Field(None, max_length=64)
    """Labels the issue or merge request must carry."""
    secret: SecretKeyRef
    """Secret key holding the webhook secret or token."""


class WebhookConfig(ApiModel):
    """A generic webhook source."""

    secret: SecretKeyRef | None = None
    """Secret key holding the HMAC secret that signs deliveries."""


class WebhookTLS(ApiModel):
    """TLS of the webhook Ingress, through cert-manager."""

    cluster_issuer: str | None = None
    """cert-manager ClusterIssuer."""
    issuer: str | None = None
    """cert-manager Issuer in the namespace (wins over clusterIssuer)."""


class WebhookIngress(ApiModel):
    """The Ingress that exposes the bridge's webhook."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="self.path.startsWith('/')",
            message="webhook.path must start with '/'",
            field_path=".path",
        ),
    )

    host: str = Field(min_length=1, max_length=253)
    """Public host name."""
    path: str = Field("/", max_length=1024)
    """Path prefix routed to the bridge."""
    ingress_class_name: str | None = None
    """IngressClass name."""
    tls: WebhookTLS | None = None
    """Serve HTTPS with a cert-manager certificate."""


class ChannelSpec(ApiModel):
    """Desired state of a Channel."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        *block_rules("type", BLOCK_FOR_TYPE, required=REQUIRED_BLOCK_TYPES),
        CelRule(
            rule=(
                "!(self.type in ['gitlab', 'github', 'webhook']) || "
                "(has(self.prompt) && size(self.prompt) > 0)"
            ),
            message="prompt is required for event channels (gitlab, github, webhook)",
            field_path=".prompt",
            reason="FieldValueRequired",
        ),
    )

    type: ChannelType
    """telegram, slack or discord (chat), or gitlab, github or webhook (events)."""
    agent_ref: Name
    """Agent that handles the messages or events."""
    telegram: TelegramConfig | None = None
    """For type telegram."""
    slack: ChatBotConfig | None = None
    """For type slack."""
    discord: ChatBotConfig | None = None
    """For type discord."""
    gitlab: ForgeEventConfig | None = None
    """For type gitlab."""
    github: ForgeEventConfig | None = None
    """For type github."""
    webhook_config: WebhookConfig | None = None
    """For type webhook."""
    prompt: str | None = None
    """Prompt template rendered from the event payload (required for event channels)."""
    webhook: WebhookIngress | None = None
    """Expose the bridge through an Ingress."""
    image: str = Field(min_length=1, max_length=512)
    """Bridge image."""
    image_pull_policy: ImagePullPolicy = "IfNotPresent"
    """When the kubelet pulls the image."""
    replicas: int = Field(1, ge=1, le=10)
    """Bridge replicas."""
    resources: ResourceRequirements | None = None
    """Compute resources of the bridge container."""
    security: SecurityOverrides | None = None
    """Overrides of the restricted security floor."""


class ChannelStatus(ConditionedStatus):
    """Observed state of a Channel."""

    phase: Literal["Pending", "Ready", "Failed"] | None = None
    """Pending, Ready or Failed."""
    service_url: str | None = Field(None, alias="serviceURL")
    """In-cluster URL of the bridge."""
    webhook_url: str | None = Field(None, alias="webhookURL")
    """Public URL to configure at the event source."""


class Channel(Resource):
    """Channel bridges a chat platform (Telegram, Slack, Discord) or an event source (GitLab,
    GitHub, a generic webhook) to an Agent."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        name_rule(63, label=True, why="the channel's Service is named after it"),
    )
    crd: ClassVar[CrdInfo] = CrdInfo(
        plural="channels",
        short_names=("ch",),
        printer_columns=(
            PrinterColumn("Type", ".spec.type"),
            PrinterColumn("Agent", ".spec.agentRef"),
            PrinterColumn("Phase", ".status.phase"),
            PrinterColumn("Webhook", ".status.webhookURL"),
            READY_COLUMN,
            AGE_COLUMN,
        ),
    )
    kind: Literal["Channel"] = "Channel"
    """Kind of the object."""
    spec: ChannelSpec
    """Desired state."""
    status: ChannelStatus | None = None
    """Observed state, written by the operator."""
