"""The AgentOps console: a thin shell. Screens do the work; the backend (cluster or embedded)
is chosen by the caller and is the only thing the screens talk to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from agentops_tui.backends.base import Backend
from agentops_tui.backends.catalog import find
from agentops_tui.config import ConsoleConfig
from agentops_tui.screens.help import HelpScreen
from agentops_tui.screens.resource_list import ResourceListScreen
from agentops_tui.widgets.command_line import CommandLine

HOME = "agents"


class AgentOpsApp(App[None]):
    backend: Backend

    CSS_PATH = "app.tcss"
    TITLE = "AgentOps"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("colon", "command_line", "Command", id="app.command-line"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
    ]

    def __init__(
        self,
        connect: Callable[[], Awaitable[Backend]],
        config: ConsoleConfig | None = None,
        *,
        readonly: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.connect = connect
        self.config = config or ConsoleConfig()
        self.readonly = readonly
        self.clock = clock

    async def on_mount(self) -> None:
        if self.config.theme:
            self.theme = self.config.theme
        if self.config.keymap:
            self.set_keymap(dict(self.config.keymap))
        self.backend = await self.connect()
        await self.backend.start()
        self.open_view(HOME)

    async def on_unmount(self) -> None:
        await self.backend.stop()

    def open_view(self, name: str) -> bool:
        """Show the view a `:` command names; False when no kind has that name."""
        kind = find(name)
        if kind is None:
            return False
        self.push_screen(ResourceListScreen(self.backend, kind, self.clock, self.readonly))
        return True

    def action_command_line(self) -> None:
        self.screen.query_one(CommandLine).open() if self.screen.query(
            CommandLine
        ) else self._command_line().open()

    def _command_line(self) -> CommandLine:
        line = CommandLine()
        self.screen.mount(line)
        return line

    def on_command_line_run(self, event: CommandLine.Run) -> None:
        if not self.open_view(event.command):
            self.notify(
                f"unknown command {event.command!r}: try ag, ar, ch, prov", severity="error"
            )

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.screen))
