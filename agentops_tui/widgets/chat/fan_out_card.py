"""The live card of a delegation group: a progress line (done over total, the group's status)
above one row per child run (agent, phase, duration). Redrawn whole when its block changes; a
group has a handful of children, so that is a few short lines."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from agentops_tui.services.chat.fan_out import RUNNING, FanOutBlock

BAR_WIDTH = 20
PHASE_STYLES = {"Succeeded": "green", RUNNING: "yellow"}
"""Any other end phase (Failed, Cancelled, TimedOut) is red."""


def progress_line(block: FanOutBlock) -> Text:
    """`⇉ delegated to 4 runs  ██████████░░░░░░░░░░  2/4`, the status coloured."""
    total, done = block.total, block.done
    filled = round(BAR_WIDTH * done / total) if total else 0
    runs = "1 run" if total == 1 else f"{total} runs"
    line = Text.assemble(("⇉ ", "cyan"), (f"delegated to {runs}  ", "bold"))
    line.append("█" * filled, style="green" if block.state != "timed_out" else "red")
    line.append("░" * (BAR_WIDTH - filled), style="dim")
    status = block.status()
    style = "yellow"
    if block.state == "completed":
        style = "red" if block.failed else "green"
    elif block.state == "timed_out":
        style = "bold red"
    line.append(f"  {status}", style=style)
    if block.state != "running":
        took = f", {block.total_duration}" if block.total_duration else ""
        line.append(f"  ({done}/{total} done{took})", style="dim")
    return line


def fan_out_card(block: FanOutBlock) -> Table:
    """The progress line over the runs (a grid, so the line is not cut to the table's width)."""
    runs = Table(box=None, padding=(0, 1))
    for column in ("Run", "Agent", "Phase", "Duration"):
        runs.add_column(column, style="dim" if column == "Run" else "", no_wrap=True)
    for name, run in block.runs.items():
        phase = Text(run.phase, style=PHASE_STYLES.get(run.phase, "red"))
        runs.add_row(name, run.agent, phase, run.duration)
    card = Table.grid()
    card.add_row(progress_line(block))
    if block.runs:
        card.add_row(runs)
    return card
