"""How a tool call reads in the transcript: one summary line (what ran, on what, how it went)
and, when expanded, a body chosen by the card hint the runtime sends (`metadata.ui`), else by
the tool's name, else a generic view of the arguments and the result.

Rich renderables only (no Textual), so the rules are tested without an app and the body is
only built when a card is opened.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from rich.console import Group, RenderableType
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text

from agentops_tui.services.chat.transcript import ToolBlock

BODY_CHARS = 20_000
"""Characters of a result shown in a card; the rest is counted, not drawn."""
ARGUMENT_CHARS = 80
STATUS_MARKS = {
    "composing": ("…", "dim"),
    "running": ("◌", "yellow"),
    "completed": ("✓", "green"),
    "error": ("✗", "bold red"),
}
BY_TOOL = {
    "bash": "terminal",
    "read": "code",
    "write": "file-created",
    "edit": "diff",
    "ls": "file-tree",
    "glob": "file-tree",
    "grep": "search-results",
    "fetch": "web-fetch",
    "run_agent": "agent-run",
    "get_agent_run": "agent-run",
}
"""The card of a tool whose result carries no hint (a history entry, an old runtime)."""
SUMMARY_KEYS = ("command", "path", "pattern", "url", "agent", "query", "name")
"""The argument that says most about a call, in order of preference."""


def card_kind(tool: ToolBlock) -> str:
    hint = tool.metadata.get("ui")
    return str(hint) if hint else BY_TOOL.get(tool.tool_name, "generic")


def summary(tool: ToolBlock) -> Text:
    """`✓ bash  pytest -q  (1.2s)`: status, tool, its telling argument, duration, permission."""
    mark, style = STATUS_MARKS[tool.status]
    line = Text(f"{mark} ", style=style)
    line.append(tool.tool_name or "tool", style="bold")
    arguments = tool.arguments() or {}
    telling = next((arguments[k] for k in SUMMARY_KEYS if isinstance(arguments.get(k), str)), "")
    if telling:
        line.append(f"  {_clip(telling.splitlines()[0], ARGUMENT_CHARS)}")
    if tool.duration_ms is not None:
        line.append(f"  ({_seconds(tool.duration_ms)})", style="dim")
    if tool.permission == "asked":
        line.append("  waiting for permission", style="bold magenta")
    elif tool.permission in ("deny", "timeout", "withdrawn"):
        line.append(f"  permission: {tool.permission}", style="red")
    exit_code = tool.metadata.get("exitCode")
    if isinstance(exit_code, int) and exit_code != 0:
        line.append(f"  exit {exit_code}", style="red")
    return line


def body(tool: ToolBlock) -> RenderableType:
    """What an opened card shows."""
    render = BODIES.get(card_kind(tool), _generic)
    return render(tool)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f}s" if ms >= 100 else f"{ms:.0f}ms"


def _output(tool: ToolBlock) -> str:
    output = tool.output[:BODY_CHARS]
    if len(tool.output) > BODY_CHARS:
        output += f"\n… {len(tool.output) - BODY_CHARS:,} more characters"
    return output


def _argument(tool: ToolBlock, key: str) -> str:
    value = (tool.arguments() or {}).get(key)
    return value if isinstance(value, str) else ""


def _terminal(tool: ToolBlock) -> RenderableType:
    command = Text("$ ", style="bold green")
    command.append(_argument(tool, "command"))
    return Group(command, Text(_output(tool)))


def _code(tool: ToolBlock) -> RenderableType:
    path = _argument(tool, "path")
    lexer = Syntax.guess_lexer(path, tool.output[:2_000]) if path else "text"
    return Group(Text(path, style="bold"), Syntax(_output(tool), lexer, word_wrap=True))


def _diff(tool: ToolBlock) -> RenderableType:
    return Syntax(_output(tool), "diff", word_wrap=True)


def _lines(tool: ToolBlock) -> RenderableType:
    """Listings (file trees, search hits, created files): the path, then the result."""
    path = _argument(tool, "path") or str(tool.metadata.get("path", ""))
    head = Text(str(PurePosixPath(path)) if path else "", style="bold")
    return Group(head, Text(_output(tool)))


def _web(tool: ToolBlock) -> RenderableType:
    url = str(tool.metadata.get("finalUrl") or _argument(tool, "url"))
    link = Text(url, style=Style(underline=True, link=url)) if url else Text()
    return Group(link, Text(_output(tool)))


def _generic(tool: ToolBlock) -> RenderableType:
    """Arguments as JSON, then the result (JSON when it is JSON)."""
    parts: list[RenderableType] = []
    arguments = tool.arguments()
    if arguments is not None:
        parts.append(Syntax(json.dumps(arguments, indent=2), "json", word_wrap=True))
    elif tool.input:
        parts.append(Text(tool.input))
    parts.append(_json_or_text(_output(tool)))
    return Group(*parts)


def _json_or_text(text: str) -> RenderableType:
    try:
        decoded: Any = json.loads(text)
    except ValueError:
        return Text(text)
    return Syntax(json.dumps(decoded, indent=2), "json", word_wrap=True)


BODIES: dict[str, Callable[[ToolBlock], RenderableType]] = {
    "terminal": _terminal,
    "code": _code,
    "diff": _diff,
    "file-created": _lines,
    "file-tree": _lines,
    "search-results": _lines,
    "web-fetch": _web,
    "kubernetes": _generic,
    "agent-run": _generic,
}
