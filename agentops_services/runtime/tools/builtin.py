"""The built-in tools an agent may be given (`builtinTools`: omitted means all, [] none)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agentops_services.runtime.tooling import Tool
from agentops_services.runtime.tools.files import EditTool, LsTool, ReadTool, WriteTool
from agentops_services.runtime.tools.shell import BashTool, GlobTool, GrepTool
from agentops_services.runtime.tools.web import FetchTool
from agentops_services.runtime.tools.workspace import Workspace

LOG = logging.getLogger(__name__)
BUILTIN_TOOLS = ("bash", "read", "edit", "write", "grep", "ls", "glob", "fetch")


def builtin_tools(
    names: Sequence[str] | None,
    workspace: Workspace,
    blocked_commands: Sequence[str] = (),
    allow_private_fetch: bool = False,
) -> list[Tool]:
    """The selected built-ins, in the order `names` gives them (all of them when None)."""
    made: dict[str, Tool] = {
        "bash": BashTool(workspace, blocked=tuple(blocked_commands)),
        "read": ReadTool(workspace),
        "edit": EditTool(workspace),
        "write": WriteTool(workspace),
        "grep": GrepTool(workspace),
        "ls": LsTool(workspace),
        "glob": GlobTool(workspace),
        "fetch": FetchTool(allow_private=allow_private_fetch),
    }
    selected = BUILTIN_TOOLS if names is None else names
    unknown = [name for name in selected if name not in made]
    if unknown:
        LOG.warning("unknown builtinTools ignored: %s", ", ".join(unknown))
    return [made[name] for name in dict.fromkeys(selected) if name in made]
