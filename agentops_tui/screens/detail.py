"""Enter on a row: the object's conditions, Events and related objects (enter on one opens
it), and for a daemon Agent what its runtime says about itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static

from agentops_tui.backends.base import Backend, BackendError, Object, ServiceRef
from agentops_tui.backends.catalog import ResourceKind
from agentops_tui.screens.logs import open_logs
from agentops_tui.services.chat.client import ChatClient, ChatError
from agentops_tui.services.runtime_status import STATE_STYLES, status_lines
from agentops_tui.widgets.location_bar import LocationBar
from agentops_tui.widgets.object_detail import ObjectDetail
from agentops_tui.widgets.service_status import ServiceStatus

if TYPE_CHECKING:
    from agentops_tui.app import AgentOpsApp

RUNTIME_REFRESH = 5.0
"""Seconds between asking the open daemon Agent's runtime how it is doing."""


def runtime_table(rows: list[tuple[str, str]]) -> Table:
    table = Table(show_header=False, box=None)
    for label, value in rows:
        table.add_row(label, Text(value, style=STATE_STYLES.get(value, "")))
    return table


class DetailScreen(Screen[None]):
    DEFAULT_CSS = """
    DetailScreen .section { text-style: bold; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="detail.back"),
        Binding("l", "logs", "Logs", id="detail.logs"),
    ]

    def __init__(
        self,
        backend: Backend,
        kind: ResourceKind,
        obj: Object,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.backend = backend
        self.kind = kind
        self.obj = obj
        self.clock = clock

    @property
    def name_(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def related_lines(self) -> list[str]:
        return [str(item) for item in self.query_one(ObjectDetail).related]

    def compose(self) -> ComposeResult:
        yield LocationBar(self.backend.location, (self.kind.title, self.name_))
        with VerticalScroll():
            yield ObjectDetail(self.backend, self.kind.kind, self.obj, self.clock, navigable=True)
            if self.is_daemon:
                yield Static("Runtime", classes="section")
                yield Static(Text("asking…", style="dim"), id="runtime")
        yield ServiceStatus(self.backend)
        yield Footer()

    @property
    def is_daemon(self) -> bool:
        return self.kind.kind == "Agent" and (self.obj.get("spec") or {}).get("mode") == "daemon"

    def on_mount(self) -> None:
        if self.is_daemon:
            self._ask_again()
            self.set_interval(RUNTIME_REFRESH, self._ask_again)

    def _ask_again(self) -> None:
        self.run_worker(self.ask_runtime(), group="runtime", exclusive=True)

    async def ask_runtime(self) -> None:
        """The runtime's own view (state, model, context use), through whatever route the
        backend has to it."""
        widget = self.query_one("#runtime", Static)
        try:
            http = await self.backend.service(ServiceRef.runtime(self.name_))
            status = await ChatClient(http).status()
        except (BackendError, ChatError) as exc:
            widget.update(Text(str(exc), style="yellow"))
        else:
            widget.update(runtime_table(status_lines(status)))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a related object opens its detail (where the console has a view of it)."""
        kind, _, name = str(event.option.id).partition("/")
        app: AgentOpsApp = self.app  # type: ignore[assignment]
        if kind == "Trace":
            app.open_trace(name)
        else:
            app.show_object(kind, name)

    def action_logs(self) -> None:
        """The logs of this object's pod (`l`, as in k9s)."""
        self.run_worker(open_logs(self.app, self.backend, self.kind, self.name_), group="logs")
