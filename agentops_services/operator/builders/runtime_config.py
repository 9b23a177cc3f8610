"""config.json of an agent (§5.3): its Agent spec joined with the resolved Providers,
AgentTools and AgentResources.

Differences from upstream, on purpose:
- OAuth2 providers get an `oauth2` block naming the env variables that hold the client
  credentials; the agentops runtime runs the client-credentials grant itself, so there is no
  token-injector sidecar and the provider's baseURL is kept as is.
- MCP bindings carry their allow/deny policy in `mcpServers[].permissions` too, so the runtime
  filters what it advertises the same way the gateway filters what it forwards.
- contextFiles lists the Agent's own contextFiles (`/etc/context/<key>`), not only skills.
- There is no mcp.json: upstream mounted one at /etc/mcp, but the runtime only ever read
  `mcpServers` from config.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentops_services.api.runtime_config import (
    ContextFileEntry,
    DelegationConfig,
    McpServerEntry,
    MemoryConfig,
    OAuth2Config,
    ProviderEntry,
    ResourceEntry,
    RuntimeConfig,
    ToolEntry,
)
from agentops_services.api.v1alpha1.agent import Agent, ProviderBinding, ResourceBinding
from agentops_services.api.v1alpha1.agentresource import AgentResource
from agentops_services.api.v1alpha1.agenttool import AgentTool
from agentops_services.api.v1alpha1.provider import Provider, ProviderCallDefaults
from agentops_services.operator import names
from agentops_services.operator.builders.credentials import api_key_env, oauth2_env
from agentops_services.operator.builders.platform_protocol import platform_protocol
from agentops_services.operator.builders.tool_bindings import BoundTool, bind_tools, mcp_tools

FILE_TOOL_SOURCES = ("oci", "configMap", "inline")


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Override wins field by field; objects merge, lists (safetySettings) are replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def call_defaults(provider: Provider, ref: ProviderBinding) -> ProviderCallDefaults | None:
    """Provider.spec.defaults with the agent's providerRefs[].overrides on top."""
    layers = [d.model_dump(exclude_none=True) for d in (provider.spec.defaults, ref.overrides) if d]
    if not layers:
        return None
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _deep_merge(merged, layer)
    return ProviderCallDefaults.model_validate(merged)


def provider_entry(provider: Provider, ref: ProviderBinding) -> ProviderEntry:
    spec = provider.spec
    endpoint, config = spec.endpoint, spec.config
    oauth = endpoint.oauth2_client_credentials if endpoint else None
    oauth2 = None
    if oauth:
        id_env, secret_env = oauth2_env(ref.name)
        oauth2 = OAuth2Config(
            token_url=oauth.token_url,
            client_id_env=id_env,
            client_secret_env=secret_env,
            scopes=oauth.scope.split() if oauth.scope else None,
            audience=oauth.audience,
        )
    return ProviderEntry(
        name=ref.name,
        type=spec.type,
        base_url=endpoint.base_url if endpoint else None,
        headers=endpoint.headers if endpoint else None,
        organization=config.organization if config else None,
        project=config.project if config else None,
        use_responses_api=config.use_responses_api if config else None,
        azure_api_version=config.azure_api_version if config else None,
        vertex=config.vertex if config else None,
        bedrock=config.bedrock if config else None,
        oauth2=oauth2,
        call_defaults=call_defaults(provider, ref),
        api_key_env=api_key_env(ref.name) if spec.api_key_secret else None,
    )


def resource_entry(resource: AgentResource, binding: ResourceBinding) -> ResourceEntry:
    """What the runtime is told about an AgentResource; secret references stay out."""
    spec = resource.spec
    git = spec.git.model_copy(update={"ssh_key_secret": None}) if spec.git else None
    return ResourceEntry(
        name=resource.name,
        kind=spec.kind,
        display_name=spec.display_name,
        description=spec.description,
        read_only=binding.read_only,
        auto_context=binding.auto_context,
        github=spec.github,
        github_org=spec.github_org,
        gitlab=spec.gitlab,
        gitlab_group=spec.gitlab_group,
        git=git,
        s3=spec.s3,
        documentation=spec.documentation,
    )


def memory_server_url(agent: Agent, tools: Mapping[str, AgentTool]) -> str | None:
    """memory.serverRef as the memory service's base URL: an AgentTool of that name (its
    published MCP URL without the /mcp path: the memory service serves its HTTP API and MCP on
    one port), else a Service of that name on the memory port."""
    if agent.spec.memory is None:
        return None
    ref = agent.spec.memory.server_ref
    tool = tools.get(ref)
    if tool and tool.status and tool.status.service_url:
        return tool.status.service_url.removesuffix(names.MCP_PATH)
    return f"http://{ref}.{agent.namespace or 'default'}.svc:{names.MEMORY_PORT}"


def _tool_entry(bound: BoundTool) -> ToolEntry:
    spec = bound.tool.spec
    return ToolEntry(
        name=bound.name,
        path=bound.path,
        description=spec.description,
        category=spec.category,
        ui_hint=spec.ui_hint,
    )


def _mcp_entry(bound: BoundTool) -> McpServerEntry:
    spec = bound.tool.spec
    return McpServerEntry(
        name=bound.name,
        port=bound.gateway_port,
        direct_tools=bound.binding.direct_tools,
        permissions=bound.policy(),
        description=spec.description,
        category=spec.category,
        ui_hint=spec.ui_hint,
    )


def _context_files(agent: Agent, bound: list[BoundTool]) -> list[ContextFileEntry]:
    skills = [ContextFileEntry(path=b.path) for b in bound if b.source == "skill"]
    own = [
        ContextFileEntry(path=f"{names.CONTEXT_MOUNT}/{c.config_map_ref.key}")
        for c in agent.spec.context_files or ()
    ]
    return skills + own


def _memory(agent: Agent, tools: Mapping[str, AgentTool]) -> MemoryConfig | None:
    memory, url = agent.spec.memory, memory_server_url(agent, tools)
    if memory is None or url is None:
        return None
    return MemoryConfig(
        server_url=url,
        project=memory.project or agent.name,
        context_limit=memory.context_limit,
        auto_summarize=memory.auto_summarize,
        auto_save=memory.auto_save,
        auto_search=memory.auto_search,
    )


def build_runtime_config(
    agent: Agent,
    providers: Mapping[str, Provider],
    tools: Mapping[str, AgentTool],
    resources: Mapping[str, AgentResource],
) -> RuntimeConfig:
    """config.json of `agent`. Each mapping is name -> resolved object; names the agent refers
    to but the mapping lacks are left out. `tools` may also hold the AgentTool named by
    memory.serverRef, which then gives the memory URL."""
    spec = agent.spec
    bound = bind_tools(agent, tools)
    delegation = spec.delegation
    return RuntimeConfig(
        providers=[
            provider_entry(providers[ref.name], ref)
            for ref in spec.provider_refs
            if ref.name in providers
        ],
        primary_provider=spec.primary_provider,
        primary_model=spec.model,
        fallback_models=spec.fallback_models,
        title_model=spec.title_model,
        system_prompt=spec.system_prompt,
        platform_protocol=platform_protocol(agent),
        builtin_tools=list(spec.builtin_tools) if spec.builtin_tools is not None else None,
        tools=[_tool_entry(b) for b in bound if b.source in FILE_TOOL_SOURCES] or None,
        mcp_servers=[_mcp_entry(b) for b in mcp_tools(bound)] or None,
        context_files=_context_files(agent, bound) or None,
        tool_hooks=spec.tool_hooks,
        temperature=spec.temperature,
        max_output_tokens=spec.max_output_tokens,
        max_steps=spec.max_steps,
        permission_tools=spec.permission_tools,
        enable_question_tool=spec.enable_question_tool or None,
        resources=[
            resource_entry(resources[b.name], b)
            for b in spec.resource_bindings or ()
            if b.name in resources
        ]
        or None,
        memory=_memory(agent, tools),
        delegation=(
            DelegationConfig(team=list(delegation.team), max_fan_out=delegation.max_fan_out)
            if delegation
            else None
        ),
    )
