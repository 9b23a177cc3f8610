"""`:ctx`: pick a kubeconfig context (k9s-style); enter switches, escape keeps the current."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class ContextPicker(ModalScreen[str | None]):
    DEFAULT_CSS = """
    ContextPicker { align: center middle; }
    ContextPicker > Vertical {
        width: 60; height: auto; max-height: 80%; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    ContextPicker OptionList { height: auto; max-height: 20; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="contexts.cancel"),
    ]

    def __init__(self, contexts: list[str], current: str) -> None:
        super().__init__()
        self.contexts = contexts
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Switch to context")
            yield OptionList(
                *(
                    Option(f"{name}  (current)" if name == self.current else name, id=name)
                    for name in self.contexts
                )
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current in self.contexts:
            options.highlighted = self.contexts.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
