"""The `:` prompt (k9s): a kind's name, short name or alias opens its view."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

HINT = "ag  ar  agtool  ares  ch  prov  pods  jobs  events  (esc closes)"


class CommandLine(Input):
    DEFAULT_CSS = """
    CommandLine { dock: bottom; height: 1; border: none; padding: 0 1; display: none; }
    CommandLine.-open { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="command-line.close"),
    ]

    class Run(Message):
        """The user entered a command."""

        def __init__(self, command: str) -> None:
            super().__init__()
            self.command = command

    def __init__(self) -> None:
        super().__init__(placeholder=HINT, id="command-line")

    def open(self) -> None:
        self.value = ""
        self.add_class("-open")
        self.focus()

    def action_close(self) -> None:
        self.remove_class("-open")
        self.screen.focus_next()

    async def action_submit(self) -> None:
        command = self.value.strip().lstrip(":")
        self.action_close()
        if command:
            self.post_message(self.Run(command))
