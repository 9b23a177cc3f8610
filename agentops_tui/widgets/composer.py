"""The chat composer: a multi-line TextArea where enter sends, ctrl+j (or shift+enter where the
terminal tells them apart) breaks the line, up/down at the first/last line walk the history,
ctrl+s switches to steering the running turn and ctrl+e composes in $EDITOR."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

from agentops_tui.services.composer import PromptHistory


class Composer(TextArea):
    DEFAULT_CSS = """
    Composer { height: auto; min-height: 3; max-height: 12; border: round $primary; }
    Composer.-steer { border: round $warning; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+j,shift+enter", "newline", "Newline", show=False, id="composer.newline"),
        Binding("ctrl+s", "toggle_steer", "Steer", id="composer.steer"),
        Binding("ctrl+e", "external", "$EDITOR", id="composer.external"),
    ]

    class Submitted(Message):
        """Enter on a non-empty composer: the text, and whether it steers the running turn."""

        def __init__(self, composer: Composer, text: str, steer: bool) -> None:
            super().__init__()
            self.composer = composer
            self.text = text
            self.steer = steer

    class ExternalRequested(Message):
        """ctrl+e: the screen hands the terminal to $EDITOR (only a screen can suspend)."""

    def __init__(self, prompts: PromptHistory | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.prompts = prompts or PromptHistory()
        self.steer = False

    async def _on_key(self, event: events.Key) -> None:
        """Enter sends; up/down move through the history only at the text's edges, so a
        multi-line prompt is still edited with the arrows."""
        if event.key == "enter":
            event.prevent_default()
            event.stop()
            self._submit()
            return
        row = self.cursor_location[0]
        if event.key == "up" and row == 0:
            older = self.prompts.older(self.text)
            if older is not None:
                event.prevent_default()
                event.stop()
                self._show(older)
            return
        if event.key == "down" and row == self.document.line_count - 1:
            newer = self.prompts.newer()
            if newer is not None:
                event.prevent_default()
                event.stop()
                self._show(newer)
            return
        await super()._on_key(event)

    def _show(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)

    def _submit(self) -> None:
        text = self.text.strip()
        if not text:
            return
        self.prompts.add(text)
        self.post_message(self.Submitted(self, text, self.steer))
        self.load_text("")

    def action_newline(self) -> None:
        self.insert("\n")

    def action_toggle_steer(self) -> None:
        self.steer = not self.steer
        self.set_class(self.steer, "-steer")
        self.border_title = "steer the running turn" if self.steer else None

    def action_external(self) -> None:
        self.post_message(self.ExternalRequested())
