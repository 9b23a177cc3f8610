"""The top line: mode, context and namespace (always shown, k9s-style), then the breadcrumbs."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from agentops_tui.backends.base import Location


class LocationBar(Static):
    DEFAULT_CSS = """
    LocationBar { dock: top; height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    crumbs: reactive[tuple[str, ...]] = reactive(())
    warning: reactive[str] = reactive("")
    """What needs fixing whatever the screen (the resource folder's problems), kept in view
    until it is fixed; the app sets it on every bar."""

    def __init__(self, location: Location, crumbs: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.location = location
        self.set_reactive(LocationBar.crumbs, crumbs)

    def on_mount(self) -> None:
        self.warning = str(getattr(self.app, "warning", ""))

    def render(self) -> Text:
        where = self.location
        text = Text.assemble(
            ("AgentOps", "bold"),
            "  ",
            (where.mode, "bold green" if where.mode == "cluster" else "bold cyan"),
            f"  ctx {where.context}  ns {where.namespace}",
        )
        if self.crumbs:
            text.append("  ›  " + " › ".join(self.crumbs), style="bold")
        if self.warning:
            text.append(f"  {self.warning}", style="bold yellow")
        return text
