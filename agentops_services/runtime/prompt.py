"""The system prompt of every model call: platform protocol, the agent's own prompt, and the
context blocks of the turn (memory, the resources the user picked).

Unlike upstream, the blocks are injected even when the agent has no system prompt of its own,
and the agent's prompt (the stable part) carries the prompt-cache breakpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agentops_services.api.runtime_api import ResourceContext
from agentops_services.api.runtime_config import ResourceEntry
from agentops_services.runtime.providers.base import SystemPart

LOG = logging.getLogger(__name__)
MAX_RESOURCE_ITEMS = 20
MAX_DESCRIPTION_CHARS = 500
RESOURCE_HEADER = "[Resource Context — the user selected the following items for this message]"


def system_parts(
    platform_protocol: str,
    system_prompt: str,
    memory_context: str = "",
    resource_context: str = "",
) -> list[SystemPart]:
    parts = []
    if platform_protocol:
        parts.append(SystemPart(platform_protocol))
    if system_prompt:
        parts.append(SystemPart(system_prompt, cache=True))
    elif parts:
        parts[-1] = SystemPart(platform_protocol, cache=True)
    if memory_context:
        parts.append(SystemPart(memory_context))
    if resource_context:
        parts.append(SystemPart(resource_context))
    return parts


def _item_line(item: ResourceContext) -> str:
    source = f" from {item.resource_name}"
    match item.item_type:
        case "file":
            ref = f" (ref: {item.ref})" if item.ref else ""
            return f"- File: `{item.path}`{ref}{source}"
        case "commit":
            return f"- Commit: {(item.sha or '')[:7]} — {item.title or ''}{source}"
        case "branch":
            return f"- Branch: `{item.path}`{source}"
        case "issue":
            return f"- Issue #{item.number}: {item.title or ''} ({item.url or ''}){source}"
        case "merge_request":
            return f"- MR/PR #{item.number}: {item.title or ''} ({item.url or ''}){source}"
        case other:
            return f"- {other}: {item.path or item.title or ''}{source}"


def resource_context(items: Sequence[ResourceContext] | None) -> str:
    """The block listing the items the user attached to the prompt (at most 20)."""
    if not items:
        return ""
    if len(items) > MAX_RESOURCE_ITEMS:
        LOG.warning("prompt has %d resource items; using the first %d", len(items), 20)
    lines = [RESOURCE_HEADER, ""]
    for item in items[:MAX_RESOURCE_ITEMS]:
        lines.append(_item_line(item))
        if item.description:
            description = item.description
            if len(description) > MAX_DESCRIPTION_CHARS:
                description = description[:MAX_DESCRIPTION_CHARS] + "..."
            lines.append(f"  {description}")
    return "\n".join(lines) + "\n\n"


def _where(resource: ResourceEntry) -> str:
    """Where a resource lives, in a line."""
    if resource.github:
        branch = (
            f", default branch {resource.github.default_branch}"
            if resource.github.default_branch
            else ""
        )
        return f"github.com/{resource.github.owner}/{resource.github.repo}{branch}"
    if resource.github_org:
        return f"GitHub organisation {resource.github_org.org}"
    if resource.gitlab:
        return f"{resource.gitlab.base_url.rstrip('/')}/{resource.gitlab.project}"
    if resource.gitlab_group:
        return f"{resource.gitlab_group.base_url.rstrip('/')}/{resource.gitlab_group.group}"
    if resource.git:
        return resource.git.url + (
            f" (branch {resource.git.branch})" if resource.git.branch else ""
        )
    if resource.s3:
        return f"s3://{resource.s3.bucket}/{resource.s3.prefix or ''}"
    if resource.documentation and resource.documentation.urls:
        return ", ".join(resource.documentation.urls[:5])
    return resource.kind


def resources_block(resources: Sequence[ResourceEntry] | None) -> str:
    """The AgentResources bound with autoContext: what the agent works with, in its system
    prompt (stable across turns, so it is cached with it)."""
    chosen = [r for r in resources or () if r.auto_context]
    if not chosen:
        return ""
    lines = ["## Resources", "You work with these resources:"]
    for resource in chosen:
        access = " [read-only: do not change it]" if resource.read_only else ""
        lines.append(f"- {resource.display_name} ({resource.kind}): {_where(resource)}{access}")
        if resource.description:
            lines.append(f"  {resource.description[:MAX_DESCRIPTION_CHARS]}")
    return "\n".join(lines)
