"""From config.json and settings to a ready agent: providers, model chain, tools and gates,
budget, loop and checkpoint."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from agentops_services.api.runtime_config import RuntimeConfig
from agentops_services.api.v1alpha1.agent import ToolHooksSpec
from agentops_services.runtime.agent import Agent
from agentops_services.runtime.budget import TOKENS_PER_TOOL, ContextBudget, estimate_tokens
from agentops_services.runtime.events import EventLog
from agentops_services.runtime.gates import Gates, PermissionGate, QuestionTool
from agentops_services.runtime.hooks import ToolHooks
from agentops_services.runtime.loop import AgentLoop, LoopSettings
from agentops_services.runtime.mcp_client import McpTools
from agentops_services.runtime.memory_client import MemoryClient, MemoryIntegration
from agentops_services.runtime.prompt import resources_block
from agentops_services.runtime.providers.http import HttpSettings
from agentops_services.runtime.providers.registry import ProviderSet
from agentops_services.runtime.settings import RuntimeSettings
from agentops_services.runtime.status_writer import StatusWriter
from agentops_services.runtime.tooling import Tool, ToolRegistry
from agentops_services.runtime.tools.builtin import builtin_tools
from agentops_services.runtime.tools.memory import memory_tools
from agentops_services.runtime.tools.workspace import Workspace
from agentops_services.runtime.working_memory import CheckpointFile

LOG = logging.getLogger(__name__)


def _is_anthropic(config: RuntimeConfig, provider_type: str) -> bool:
    model = (config.primary_model or "").lower()
    return provider_type == "anthropic" or model.startswith(("anthropic/", "claude-"))


def _checkpoint(state_dir: Path | None) -> CheckpointFile | None:
    if state_dir is None:
        return None
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        LOG.warning("no checkpoints: cannot create %s (%s)", state_dir, exc.strerror or exc)
        return None
    return CheckpointFile(state_dir)


def _memory(config: RuntimeConfig, agent_name: str) -> MemoryIntegration | None:
    if config.memory is None:
        return None
    client = MemoryClient(
        config.memory.server_url, (config.memory.project or agent_name).lower(), str(uuid.uuid4())
    )
    return MemoryIntegration(
        client,
        context_limit=config.memory.context_limit,
        inject_context=config.memory.auto_search,
        summarize=config.memory.auto_summarize,
    )


def _registry(
    config: RuntimeConfig,
    settings: RuntimeSettings,
    extra: Sequence[Tool],
    memory: MemoryIntegration | None,
    gates: Gates,
) -> tuple[ToolRegistry, McpTools | None]:
    """Tools in advertising order: built-ins, MCP servers' tools, memory tools, the caller's
    extra tools, the question tool; hooks and the permission gate around all of them."""
    hooks_spec = config.tool_hooks or ToolHooksSpec()
    workspace = Workspace.create(settings.workspace, hooks_spec.allowed_paths)
    tools: list[Tool] = builtin_tools(
        config.builtin_tools,
        workspace,
        hooks_spec.blocked_commands or (),
        settings.allow_private_fetch,
    )
    builtin = frozenset(tool.name for tool in tools)
    if memory is not None:
        tools += memory_tools(memory.client)
    tools += extra
    daemon = settings.prompt is None
    if daemon and config.enable_question_tool:
        gates.question = QuestionTool()
        tools.append(gates.question)
    if daemon and config.permission_tools:
        gates.permission = PermissionGate(frozenset(config.permission_tools))
    mcp = None
    if config.tools or config.mcp_servers:
        mcp = McpTools.from_config(
            config.tools or (), config.mcp_servers or (), workspace.environment()
        )
    hooks = (
        ToolHooks(hooks_spec, workspace, memory.client if memory else None, builtin)
        if config.tool_hooks
        else None
    )
    registry = ToolRegistry(
        tools,
        config.max_tool_result_chars,
        gates.permission,
        hooks,
        sources=[mcp] if mcp is not None else (),
    )
    return registry, mcp


def build_agent(
    config: RuntimeConfig,
    settings: RuntimeSettings,
    env: Mapping[str, str],
    *,
    tools: Sequence[Tool] = (),
    http: HttpSettings | None = None,
    loop_settings: LoopSettings | None = None,
) -> tuple[Agent, ProviderSet]:
    """The agent a config describes (raises ConfigError). `tools` are added after the
    configured ones (tests and embedders use them)."""
    providers = ProviderSet.from_config(config, env, http, settings.config_path.parent)
    models = providers.models(config)
    daemon = settings.prompt is None
    gates = Gates()
    memory = _memory(config, settings.agent_name)
    registry, mcp = _registry(config, settings, tools, memory, gates)
    events = EventLog()
    base = loop_settings or LoopSettings()
    loop = AgentLoop(
        session_id=settings.agent_name,
        models=models,
        tools=registry,
        settings=LoopSettings(
            max_steps=config.max_steps,
            temperature=config.temperature,
            max_output_tokens=config.max_output_tokens,
            max_retries=config.max_retries,
            retry_delay=base.retry_delay,
            max_retry_delay=base.max_retry_delay,
            idle_timeout=base.idle_timeout,
            cache_prompt=_is_anthropic(config, models[0].provider.type),
        ),
        emit=events.append,
        backpressure=events,
    )
    platform_protocol = config.platform_protocol or ""
    system_prompt = "\n\n".join(
        part for part in (config.system_prompt, resources_block(config.resources)) if part
    )
    budget = ContextBudget(
        model=models[0].label,
        fraction=config.budget_fraction,
        system_prompt_tokens=estimate_tokens(platform_protocol + "\n" + system_prompt),
        tool_tokens=len(registry) * TOKENS_PER_TOOL,
    )
    agent = Agent(
        name=settings.agent_name,
        loop=loop,
        budget=budget,
        events=events,
        platform_protocol=platform_protocol,
        system_prompt=system_prompt,
        checkpoint=_checkpoint(settings.state_dir) if daemon else None,
        namespace=settings.namespace,
        mode="daemon" if daemon else "task",
        gates=gates,
        long_term=memory,
        mcp=mcp,
        status_writer=_status_writer(env) if daemon else None,
    )
    return agent, providers


def _status_writer(env: Mapping[str, str]) -> StatusWriter | None:
    """A daemon with API access (in a pod: its service account; elsewhere AGENT_KUBECONFIG)
    writes its AgentRuns' status and whether it waits for a person; without it, both are only
    visible at GET /runs/{name} and GET /status."""
    kubeconfig = env.get("AGENT_KUBECONFIG") or None
    if kubeconfig is None and not env.get("KUBERNETES_SERVICE_HOST"):
        return None
    return StatusWriter(kubeconfig)
