"""The chat's status line: what the agent is doing, the model, this turn's tokens, how full
the context window is (green under 50%, yellow under 75%, red above) and the stream's link."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from agentops_tui.services.chat.client import LinkNotice
from agentops_tui.services.chat.transcript import Transcript

GAUGE_CELLS = 10
PHASE_STYLES = {"idle": "green", "waiting": "bold magenta"}


def context_gauge(transcript: Transcript) -> Text:
    budget = transcript.budget
    if budget is None or not budget.context_window:
        return Text("")
    used = budget.actual_input_tokens or budget.prompt_tokens
    share = min(1.0, used / budget.context_window)
    style = "green" if share < 0.5 else "yellow" if share < 0.75 else "red"
    filled = round(share * GAUGE_CELLS)
    gauge = Text("ctx ")
    gauge.append("█" * filled, style=style)
    gauge.append("░" * (GAUGE_CELLS - filled), style="dim")
    gauge.append(f" {share:.0%}")
    return gauge


def status_line(transcript: Transcript, link: LinkNotice | None, error: str | None) -> Text:
    line = Text()
    line.append(f"● {transcript.phase}", style=PHASE_STYLES.get(transcript.phase, "yellow"))
    if transcript.model:
        line.append(f"  {transcript.model}", style="bold")
    usage = transcript.usage
    if usage.input_tokens or usage.output_tokens:
        line.append(f"  ↑{usage.input_tokens:,} ↓{usage.output_tokens:,}", style="dim")
    gauge = context_gauge(transcript)
    if gauge:
        line.append("  ")
        line.append_text(gauge)
    if link is not None and link.kind == "lost":
        retry = f", retrying in {link.retry_in:.0f}s" if link.retry_in else ""
        line.append(f"  link lost: {link.detail}{retry}", style="bold red")
    if error:
        line.append(f"  {error}", style="bold red")
    return line


class ChatStatus(Static):
    DEFAULT_CSS = """
    ChatStatus { height: 1; padding: 0 1; background: $panel; }
    """

    def show(self, transcript: Transcript, link: LinkNotice | None, error: str | None) -> None:
        self.update(status_line(transcript, link, error))
