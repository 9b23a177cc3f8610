"""`e` and `n`: edit an object's YAML like `kubectl edit`, in place or in $KUBE_EDITOR/$EDITOR.

The help pane follows the cursor (the CRD's field docs) and shows what the in-process checks
find as the user types; save shows the diff to confirm, then the apply. Whatever goes wrong,
the editor stays open with the user's text and the error at the top as comments.
"""

from __future__ import annotations

import os
from typing import ClassVar

from rich.syntax import Syntax
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static, TextArea

from agentops_tui.backends.base import Location
from agentops_tui.services.editing import (
    Applied,
    Cancelled,
    Diff,
    EditSession,
    Invalid,
)
from agentops_tui.services.external_editor import EditorError, editor_command, run_editor
from agentops_tui.services.schema_help import field_help
from agentops_tui.services.yaml_cursor import path_at
from agentops_tui.widgets.location_bar import LocationBar

CHECK_DELAY = 0.3
"""Seconds of no typing before the in-process checks run."""


class DiffScreen(ModalScreen[bool]):
    """The change about to be applied: `y` applies, `n`/`escape` goes back to editing."""

    DEFAULT_CSS = """
    DiffScreen { align: center middle; }
    DiffScreen > VerticalScroll {
        width: 90%; height: 80%; border: thick $warning; background: $surface;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Apply", id="diff.apply"),
        Binding("n,escape", "answer(False)", "Keep editing", id="diff.back"),
    ]

    def __init__(self, diff: str) -> None:
        super().__init__()
        self.diff = diff

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("Apply this change? [b]y[/b] apply  [b]n[/b] keep editing")
            yield Static(Syntax(self.diff, "diff", theme="ansi_dark"), id="diff")

    def action_answer(self, apply: bool) -> None:
        self.dismiss(apply)


class EditorScreen(Screen[None]):
    DEFAULT_CSS = """
    EditorScreen #editor { width: 2fr; }
    EditorScreen #field-help { width: 1fr; padding: 0 1; border-left: solid $panel; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="editor.save"),
        Binding("ctrl+e", "external", "$EDITOR", id="editor.external"),
        Binding("escape", "app.pop_screen", "Cancel", id="editor.cancel"),
    ]

    def __init__(self, location: Location, session: EditSession, title: str) -> None:
        super().__init__()
        self.location = location
        self.session = session
        self.title_text = title
        self.kind = session.kind.kind

    def compose(self) -> ComposeResult:
        yield LocationBar(self.location, (self.kind, self.title_text, "edit"))
        with Horizontal():
            yield TextArea(self.session.text, language="yaml", show_line_numbers=True, id="editor")
            yield Static("", id="field-help")
        yield Footer()

    @property
    def editor(self) -> TextArea:
        return self.query_one("#editor", TextArea)

    def on_text_area_changed(self, _: TextArea.Changed) -> None:
        self.set_timer(CHECK_DELAY, self._check, name="check")

    def _check(self) -> None:
        problems = self.session.check(self.editor.text)
        if problems:
            lines = "\n".join(f"line {p.line}: {p.message}" for p in problems[:8])
            self.query_one("#field-help", Static).update(f"[b red]Problems[/]\n{lines}")

    def on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        line, column = event.selection.end
        path = path_at(self.editor.text, line, column)
        found = field_help(self.kind, path) if path else None
        if found is None:
            return
        body = f"[b]{found.path}[/b] ({found.type})\n{found.description}"
        if found.enum:
            body += "\none of: " + ", ".join(map(str, found.enum))
        self.query_one("#field-help", Static).update(body)

    def _reopen(self, text: str, message: str) -> None:
        self.editor.load_text(text)
        self.notify(message, severity="error", timeout=8)

    def action_save(self) -> None:
        outcome = self.session.submit(self.editor.text)
        if isinstance(outcome, Cancelled):
            self.notify(f"Nothing saved: {outcome.reason}")
            self.app.pop_screen()
        elif isinstance(outcome, Invalid):
            self._reopen(outcome.reopen_text, "Not saved: see the problems at the top")
        elif isinstance(outcome, Diff):
            self.app.push_screen(DiffScreen(outcome.diff), self._confirmed)

    async def _confirmed(self, apply: bool | None) -> None:
        if not apply:
            return
        outcome = await self.session.apply()
        if isinstance(outcome, Applied):
            name = outcome.object["metadata"]["name"]
            self.notify(f"{self.kind} {name} saved")
            self.app.pop_screen()
        else:
            self._reopen(outcome.reopen_text, f"Not saved: {outcome.message}")

    def action_external(self) -> None:
        """Edit in $KUBE_EDITOR/$EDITOR with the terminal handed over, then save."""
        command = editor_command(os.environ)
        try:
            with self.app.suspend():
                text = run_editor(self.editor.text, command, self.kind.lower())
        except EditorError as exc:
            self._reopen(exc.text, str(exc))
            return
        except SuspendNotSupported:
            self.notify(
                "This terminal cannot be handed to an external editor; edit here",
                severity="warning",
            )
            return
        self.editor.load_text(text)
        self.action_save()
