"""ctrl+t in a chat: pick the turn whose trace to open, newest first with the newest highlighted
(so ctrl+t, enter opens the latest); enter opens it, escape closes."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from agentops_tui.services.chat.turns import TracedTurn, turn_time


def turn_row(number: int, turn: TracedTurn) -> Text:
    """`N  HH:MM:SS  first line of the prompt`, the running turn marked; the list cuts it to
    its width."""
    row = Text(f"{number:>3}  ", style="dim")
    row.append(f"{turn_time(turn) or '--:--:--'}  ", style="dim")
    if turn.running:
        row.append("● running  ", style="bold yellow")
    row.append(turn.prompt or "(prompt not known)", style="" if turn.prompt else "dim italic")
    return row


class TracePicker(ModalScreen[TracedTurn | None]):
    DEFAULT_CSS = """
    TracePicker { align: center middle; }
    TracePicker > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 80%; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    TracePicker OptionList {
        height: auto; max-height: 20; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="trace-picker.cancel"),
    ]

    def __init__(self, turns: list[TracedTurn]) -> None:
        super().__init__()
        self.turns = turns
        """Newest first."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Open the trace of a turn (newest first; /trace N opens the N-th)")
            yield OptionList(*(Option(turn_row(n, t)) for n, t in enumerate(self.turns, 1)))

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.turns[event.option_index])
