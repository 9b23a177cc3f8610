"""From config.json and settings to a ready agent: providers, model chain, tools and gates,
budget, loop and checkpoint."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from agentops_services.api.runtime_config import RuntimeConfig
from agentops_services.runtime.agent import Agent
from agentops_services.runtime.budget import TOKENS_PER_TOOL, ContextBudget, estimate_tokens
from agentops_services.runtime.events import EventLog
from agentops_services.runtime.gates import Gates, PermissionGate, QuestionTool
from agentops_services.runtime.loop import AgentLoop, LoopSettings
from agentops_services.runtime.providers.http import HttpSettings
from agentops_services.runtime.providers.registry import ProviderSet
from agentops_services.runtime.settings import RuntimeSettings
from agentops_services.runtime.tooling import Tool, ToolRegistry
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


def build_agent(
    config: RuntimeConfig,
    settings: RuntimeSettings,
    env: Mapping[str, str],
    *,
    tools: Sequence[Tool] = (),
    http: HttpSettings | None = None,
    loop_settings: LoopSettings | None = None,
) -> tuple[Agent, ProviderSet]:
    """The agent a config describes (raises ConfigError). `tools` are the agent's tools before
    the runtime's own (the question tool); the permission gate wraps them all."""
    providers = ProviderSet.from_config(config, env, http, settings.config_path.parent)
    models = providers.models(config)
    daemon = settings.prompt is None
    own: list[Tool] = list(tools)
    gates = Gates()
    if daemon and config.enable_question_tool:
        gates.question = QuestionTool()
        own.append(gates.question)
    if daemon and config.permission_tools:
        gates.permission = PermissionGate(frozenset(config.permission_tools))
    registry = ToolRegistry(own, config.max_tool_result_chars, gates.permission)
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
    system_prompt = config.system_prompt or ""
    budget = ContextBudget(
        model=models[0].label,
        fraction=config.budget_fraction,
        system_prompt_tokens=estimate_tokens(platform_protocol + "\n" + system_prompt),
        tool_tokens=len(tools) * TOKENS_PER_TOOL,
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
    )
    return agent, providers
