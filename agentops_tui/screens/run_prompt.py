"""`r`: start an AgentRun of the highlighted Agent; the prompt is typed in a small form."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class RunPromptScreen(ModalScreen[str | None]):
    """Answers the prompt (enter), or None (escape)."""

    DEFAULT_CSS = """
    RunPromptScreen { align: center middle; }
    RunPromptScreen > Vertical {
        width: 80%; max-width: 100; height: auto; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="run.cancel"),
    ]

    def __init__(self, agent: str) -> None:
        super().__init__()
        self.agent = agent

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Start a run of [b]{self.agent}[/b]: what should it do?")
            yield Input(placeholder="prompt (enter starts, escape cancels)", id="prompt")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        prompt = event.value.strip()
        if not prompt:
            self.notify("A run needs a prompt", severity="warning")
            return
        self.dismiss(prompt)

    def action_cancel(self) -> None:
        self.dismiss(None)
