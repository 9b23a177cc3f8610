"""`?`: every binding of the view underneath and of the app, with its key and its id (the name
to use in the config file's [keymap])."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 90%; max-width: 100; height: 80%; border: thick $accent; background: $surface;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark", "app.pop_screen", "Close", id="help.close"),
    ]

    def __init__(self, underneath: Screen[object]) -> None:
        super().__init__()
        self.underneath = underneath

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Keys of {self.underneath.name or 'this view'} (remap by id)")
            table: DataTable[str] = DataTable(cursor_type="row", id="help-table")
            table.add_columns("Key", "Action", "Id")
            seen = set()
            for active in self.underneath.active_bindings.values():
                binding = active.binding
                if binding.id is None or binding.id in seen:
                    continue
                seen.add(binding.id)
                table.add_row(self.app.get_key_display(binding), binding.description, binding.id)
            yield table
