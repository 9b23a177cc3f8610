"""The system prompt of every model call: platform protocol, the agent's own prompt, and the
context blocks of the turn (memory, the resources the user picked).

Unlike upstream, the blocks are injected even when the agent has no system prompt of its own,
and the agent's prompt (the stable part) carries the prompt-cache breakpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agentops_services.api.runtime_api import ResourceContext
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
