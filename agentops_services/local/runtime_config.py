"""config.json of a local runtime: the operator's (build_runtime_config), with what a pod gets
from its mounts and Services given as loopback URLs and files instead.

Locally supported, as in a cluster: providers (their keys as environment variables, see
runtime_env.py), the model and its fallbacks, prompts, built-in tools, tool hooks, permission
and question gates, resources, budgets.

Different locally:
- the offline demo model: a Provider whose baseURL is scripted://offline-demo replays the demo
  script (local/demo.py), written beside config.json.
- memory: every Agent with `memory` uses the embedded memory service (`memory_url`), whatever
  its serverRef names; without a memory service the agent runs without memory.
- mcpEndpoint tools: the runtime connects to the endpoint itself (its transport and headers),
  with the binding's allow/deny policy enforced by the runtime; there is no gateway sidecar.
  An endpoint with OAuth2 client credentials needs the gateway and is left out.
- mcpServer tools: reached at the AgentTool's published status.serviceURL; without one (the
  operator deploys the server in a cluster, nothing does locally) they are left out.
- inline tools: the script is written to `tools/<binding>/index.js` beside config.json, where a
  pod has it mounted.
- configMap tools and contextFiles: there are no ConfigMaps locally; their content is taken
  from `config_maps` when given (name -> key -> text) and written beside config.json,
  otherwise they are left out.
- oci tools and skills: need an image pull (crane in an init container): left out.
Not applicable locally: image, resources, storage, networkPolicy, security, serviceAccount,
podAnnotations.

What is left out is said in `left_out`, one sentence each, for the Agent's status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agentops_services.api.runtime_config import (
    ContextFileEntry,
    McpServerEntry,
    RuntimeConfig,
    ToolEntry,
)
from agentops_services.api.v1alpha1 import Agent, AgentResource, AgentTool, Provider
from agentops_services.local.atomic import replace_file
from agentops_services.local.demo import SCRIPT_FILE as DEMO_SCRIPT_FILE
from agentops_services.local.demo import demo_script_yaml, use_scripted_models
from agentops_services.operator.builders.pod import SCRIPT_FILE
from agentops_services.operator.builders.runtime_config import build_runtime_config
from agentops_services.operator.builders.tool_bindings import BoundTool, bind_tools

DEFAULT_SECRETS_FILE = "secrets.env"
ConfigMaps = Mapping[str, Mapping[str, str]]
"""ConfigMap name -> key -> content."""


@dataclass(frozen=True)
class LocalRuntimeConfig:
    """What a local runtime reads: config.json and the files it names."""

    config: RuntimeConfig
    files: dict[str, str] = field(default_factory=dict)
    """Path relative to the runtime's directory -> content (tool scripts, context files)."""
    left_out: list[str] = field(default_factory=list)
    """What of the Agent does not run locally, one sentence each."""

    def write(self, root: Path, config_path: Path) -> None:
        """Write config.json and the files (each only readable by the user)."""
        for relative, content in self.files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            replace_file(target, content.encode())
        replace_file(config_path, self.config.to_json().encode())


def _config_map_text(config_maps: ConfigMaps, name: str, key: str) -> str | None:
    return (config_maps.get(name) or {}).get(key)


def _file_tool(
    bound: BoundTool, entry: ToolEntry, root: Path, config_maps: ConfigMaps, out: LocalRuntimeConfig
) -> ToolEntry | None:
    spec = bound.tool.spec
    if spec.inline:
        content = spec.inline.content
    elif spec.config_map:
        found = _config_map_text(config_maps, spec.config_map.name, spec.config_map.key)
        if found is None:
            out.left_out.append(
                f'tool {bound.name}: ConfigMap "{spec.config_map.name}" key '
                f'"{spec.config_map.key}" is not available locally'
            )
            return None
        content = found
    else:
        out.left_out.append(f"tool {bound.name}: oci tools need an image pull, not done locally")
        return None
    out.files[f"tools/{bound.name}/{SCRIPT_FILE}"] = content
    return entry.model_copy(update={"path": str(root / "tools" / bound.name)})


def _mcp_server(
    bound: BoundTool, entry: McpServerEntry, out: LocalRuntimeConfig
) -> McpServerEntry | None:
    spec, status = bound.tool.spec, bound.tool.status
    published = status.service_url if status else None
    if spec.mcp_endpoint is not None:
        endpoint = spec.mcp_endpoint
        if endpoint.oauth is not None:
            out.left_out.append(
                f"tool {bound.name}: an MCP endpoint with OAuth2 needs the gateway, not run locally"
            )
            return None
        return entry.model_copy(
            update={
                "port": None,
                "url": published or endpoint.url,
                "transport": endpoint.transport,
                "headers": endpoint.headers,
            }
        )
    if published:
        return entry.model_copy(update={"port": None, "url": published})
    out.left_out.append(
        f"tool {bound.name}: an mcpServer tool is deployed by the operator; locally it needs a "
        "published serviceURL"
    )
    return None


def _context_files(
    agent: Agent, root: Path, config_maps: ConfigMaps, out: LocalRuntimeConfig
) -> list[ContextFileEntry]:
    entries = []
    for context in agent.spec.context_files or ():
        ref = context.config_map_ref
        content = _config_map_text(config_maps, ref.name, ref.key)
        if content is None:
            out.left_out.append(
                f'context file {ref.key}: ConfigMap "{ref.name}" is not available locally'
            )
            continue
        out.files[f"context/{ref.key}"] = content
        entries.append(ContextFileEntry(path=str(root / "context" / ref.key)))
    return entries


def _scripted(
    out: LocalRuntimeConfig, providers: Mapping[str, Provider], secrets_file: Path | None
) -> RuntimeConfig:
    """The offline demo model (demo.py): its Providers' entries replay the demo script,
    written beside config.json. A scripted:// URL naming another script is kept (the runtime
    then fails on it honestly) and said in left_out."""
    try:
        config = use_scripted_models(out.config, providers)
    except ValueError as exc:
        out.left_out.append(str(exc))
        return out.config
    if any(entry.type == "scripted" for entry in config.providers or ()):
        out.files[DEMO_SCRIPT_FILE] = demo_script_yaml(secrets_file or Path(DEFAULT_SECRETS_FILE))
    return config


def runtime_config_for(
    agent: Agent,
    providers: Mapping[str, Provider],
    tools: Mapping[str, AgentTool],
    resources: Mapping[str, AgentResource],
    *,
    root: Path,
    memory_url: str | None,
    config_maps: ConfigMaps | None = None,
    secrets_file: Path | None = None,
) -> LocalRuntimeConfig:
    """The local config of `agent`, whose runtime directory is `root` (absolute paths in the
    config point there). `secrets_file` is named in the offline demo's advice. Pure:
    `LocalRuntimeConfig.write` writes it."""
    maps = config_maps or {}
    out = LocalRuntimeConfig(build_runtime_config(agent, providers, tools, resources))
    config = _scripted(out, providers, secrets_file)
    bound = {b.name: b for b in bind_tools(agent, tools)}
    file_tools = [
        t
        for entry in config.tools or ()
        if (t := _file_tool(bound[entry.name], entry, root, maps, out)) is not None
    ]
    mcp = [
        m
        for entry in config.mcp_servers or ()
        if (m := _mcp_server(bound[entry.name], entry, out)) is not None
    ]
    skills = [b.name for b in bound.values() if b.source == "skill"]
    out.left_out.extend(
        f"skill {name}: skills need an image pull, not done locally" for name in skills
    )
    memory = config.memory
    if memory is not None and memory_url is None:
        out.left_out.append("memory: no memory service runs locally")
    update = {
        "tools": file_tools or None,
        "mcp_servers": mcp or None,
        "context_files": _context_files(agent, root, maps, out) or None,
        "memory": memory.model_copy(update={"server_url": memory_url})
        if memory and memory_url
        else None,
    }
    return LocalRuntimeConfig(config.model_copy(update=update), out.files, out.left_out)
