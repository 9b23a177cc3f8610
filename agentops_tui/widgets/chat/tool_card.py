"""A tool call: one summary line, opened (enter or click) to the body its card hint asks for;
the body is built only while open, so a long session of closed cards costs one line each."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from agentops_tui.services.chat.cards import body, summary
from agentops_tui.services.chat.transcript import ToolBlock


class ToolCard(Vertical, can_focus=True):
    DEFAULT_CSS = """
    ToolCard { height: auto; padding: 0 1; }
    ToolCard:focus { background: $boost; }
    ToolCard > .card-body { display: none; padding: 0 0 0 2; color: $text-muted; }
    ToolCard.-open > .card-body { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "flip", "Open", id="chat.card-toggle"),
    ]

    def __init__(self, tool: ToolBlock, *, open: bool = False) -> None:
        super().__init__()
        self.tool = tool
        self.set_class(open, "-open")

    def compose(self) -> ComposeResult:
        yield Static(summary(self.tool), classes="card-summary")
        yield Static(classes="card-body")

    def on_mount(self) -> None:
        self.refresh_card()

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def set_open(self, opened: bool) -> None:
        self.set_class(opened, "-open")
        self.refresh_card()

    def action_flip(self) -> None:
        self.set_open(not self.is_open)

    def on_click(self) -> None:
        self.action_flip()

    def refresh_card(self) -> None:
        self.query_one(".card-summary", Static).update(summary(self.tool))
        if self.is_open:
            self.query_one(".card-body", Static).update(body(self.tool))
