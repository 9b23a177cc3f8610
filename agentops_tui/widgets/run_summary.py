"""What an AgentRun was asked, what it answered and what it produced: the part of a run's
detail people read first. Artifacts are terminal hyperlinks (OSC 8), so a merge request opens
from an SSH session with a click where the terminal supports it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.style import Style
from rich.table import Table
from rich.text import Text

from agentops_tui.backends.base import Object
from agentops_tui.backends.columns import duration

OUTPUT_SHOWN = 8_000
"""Characters of the output rendered; the YAML view has all of it."""


def run_summary(run: Object, now: datetime) -> RenderableType:
    spec = run.get("spec") or {}
    status = run.get("status") or {}
    facts = Table(show_header=False, box=None, padding=(0, 1))
    source = str(spec.get("source", ""))
    if spec.get("sourceRef"):
        source += f" ({spec['sourceRef']})"
    for label, value in (
        ("Source", source),
        ("Model", status.get("model")),
        ("Tokens", status.get("tokensUsed")),
        ("Tool calls", status.get("toolCalls")),
        ("Cost", status.get("cost")),
        ("Duration", duration(status, now)),
        ("Trace", status.get("traceID")),
    ):
        if value not in (None, ""):
            facts.add_row(Text(label, style="dim"), str(value))
    parts: list[RenderableType] = [
        Text("Prompt", style="bold"),
        Text(str(spec.get("prompt", ""))),
        facts,
    ]
    output = str(status.get("output") or "")
    if output:
        clipped = output[:OUTPUT_SHOWN]
        parts += [Text("Output", style="bold"), Markdown(clipped)]
        if len(output) > OUTPUT_SHOWN:
            parts.append(Text(f"… {len(output) - OUTPUT_SHOWN:,} more characters (y)", "dim"))
    outcome = status.get("outcome") or {}
    if outcome:
        parts.append(Text(f"Outcome: {outcome.get('intent') or 'unstated'}", style="bold"))
        if outcome.get("summary"):
            parts.append(Text(str(outcome["summary"])))
        parts += [artifact_line(a) for a in outcome.get("artifacts") or []]
    return Group(*parts)


def artifact_line(artifact: dict[str, Any]) -> Text:
    """`mr  Fix the flaky test  !42` with the title linked to the artifact's URL."""
    line = Text(f"{artifact.get('kind', '')}  ", style="dim")
    title = str(artifact.get("title") or artifact.get("url") or artifact.get("ref") or "")
    url = artifact.get("url")
    line.append(title, style=Style(link=url, underline=True) if url else "")
    if artifact.get("ref"):
        line.append(f"  {artifact['ref']}", style="dim")
    return line
