"""agents.agentops.io/v1alpha1: the six custom resources of AgentOps."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import Field

from agentops_services.api.model import ApiModel
from agentops_services.api.v1alpha1.agent import Agent, AgentSpec, AgentStatus
from agentops_services.api.v1alpha1.agentresource import (
    AgentResource,
    AgentResourceSpec,
    AgentResourceStatus,
)
from agentops_services.api.v1alpha1.agentrun import AgentRun, AgentRunSpec, AgentRunStatus
from agentops_services.api.v1alpha1.agenttool import AgentTool, AgentToolSpec, AgentToolStatus
from agentops_services.api.v1alpha1.channel import Channel, ChannelSpec, ChannelStatus
from agentops_services.api.v1alpha1.meta import (
    API_VERSION,
    GROUP,
    VERSION,
    Condition,
    ObjectMeta,
    Resource,
)
from agentops_services.api.v1alpha1.provider import Provider, ProviderSpec, ProviderStatus

KINDS: dict[str, type[Resource]] = {
    cls.kind_name(): cls for cls in (Agent, AgentRun, AgentTool, AgentResource, Channel, Provider)
}
"""Every kind of the group by name, in the order the console lists them."""

ResourceT = TypeVar("ResourceT", bound=Resource)


class ListMeta(ApiModel):
    """Metadata of a list response."""

    resource_version: str | None = None
    continue_: str | None = Field(None, alias="continue")
    remaining_item_count: int | None = None


class ResourceList(ApiModel, Generic[ResourceT]):
    """A list of one kind, as the API server returns it (AgentList, ProviderList, ...)."""

    api_version: Literal["agents.agentops.io/v1alpha1"] = API_VERSION
    kind: str
    metadata: ListMeta = Field(default_factory=ListMeta)
    items: list[ResourceT]


__all__ = [
    "API_VERSION",
    "GROUP",
    "KINDS",
    "VERSION",
    "Agent",
    "AgentResource",
    "AgentResourceSpec",
    "AgentResourceStatus",
    "AgentRun",
    "AgentRunSpec",
    "AgentRunStatus",
    "AgentSpec",
    "AgentStatus",
    "AgentTool",
    "AgentToolSpec",
    "AgentToolStatus",
    "Channel",
    "ChannelSpec",
    "ChannelStatus",
    "Condition",
    "ListMeta",
    "ObjectMeta",
    "Provider",
    "ProviderSpec",
    "ProviderStatus",
    "Resource",
    "ResourceList",
]
