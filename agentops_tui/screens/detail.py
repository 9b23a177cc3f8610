"""Enter on a row: the object's conditions, its Events and what it is related to (an Agent's
runs, tools, provider and workload; a run's Job), kept current as they change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from agentops_tui.backends.base import Backend, BackendError, Object, ServiceRef
from agentops_tui.backends.catalog import ResourceKind
from agentops_tui.backends.columns import age
from agentops_tui.services.runtime_status import STATE_STYLES, fetch_status, status_lines
from agentops_tui.widgets.location_bar import LocationBar
from agentops_tui.widgets.service_status import ServiceStatus

REFRESH_DELAY = 0.25
RUNTIME_REFRESH = 5.0
"""Seconds between asking the open daemon Agent's runtime how it is doing."""
PROBLEM_CONDITIONS = frozenset({"SecurityPolicyViolations"})
"""Conditions that are good when False."""


def conditions_table(obj: Object, now: datetime) -> Table:
    table = Table("Type", "Status", "Reason", "Message", "Since", expand=True, box=None)
    for c in (obj.get("status") or {}).get("conditions") or []:
        good = c.get("status") == (
            "False" if c.get("type") == "SecurityPolicyViolations" else "True"
        )
        status = Text(str(c.get("status", "")), style="green" if good else "red")
        table.add_row(
            str(c.get("type", "")),
            status,
            str(c.get("reason", "")),
            str(c.get("message", "")),
            age(c.get("lastTransitionTime"), now),
        )
    return table


def events_table(events: list[Object], now: datetime) -> Table:
    table = Table("Type", "Reason", "Message", "Age", expand=True, box=None)
    for event in sorted(events, key=lambda e: e.get("lastTimestamp") or "", reverse=True):
        style = "yellow" if event.get("type") == "Warning" else ""
        table.add_row(
            Text(str(event.get("type", "")), style=style),
            str(event.get("reason", "")),
            str(event.get("message", "")),
            age(event.get("lastTimestamp") or event.get("eventTime"), now),
        )
    return table


def runtime_table(rows: list[tuple[str, str]]) -> Table:
    table = Table(show_header=False, box=None)
    for label, value in rows:
        table.add_row(label, Text(value, style=STATE_STYLES.get(value, "")))
    return table


def related(backend: Backend, kind: str, obj: Object) -> list[str]:
    """One line per related object: what the detail view links this one to."""
    name = obj["metadata"]["name"]
    spec = obj.get("spec") or {}
    lines: list[str] = []
    if kind == "Agent":
        runs = [
            r for r in backend.items("AgentRun") if (r.get("spec") or {}).get("agentRef") == name
        ]
        for run in runs[-10:]:
            phase = (run.get("status") or {}).get("phase", "")
            lines.append(f"AgentRun {run['metadata']['name']}  {phase}".rstrip())
        lines += [f"AgentTool {t.get('name')}" for t in spec.get("tools") or []]
        lines += [f"Provider {p.get('name')}" for p in spec.get("providerRefs") or []]
        lines += [f"AgentResource {r.get('name')}" for r in spec.get("resourceBindings") or []]
        workload = "Deployment" if spec.get("mode") == "daemon" else "Jobs (one per run)"
        lines.append(f"{workload} {name if spec.get('mode') == 'daemon' else ''}".rstrip())
    elif kind == "AgentRun":
        status = obj.get("status") or {}
        lines.append(f"Agent {spec.get('agentRef')}")
        if status.get("jobName"):
            lines.append(f"Job {status['jobName']}")
        if status.get("traceID"):
            lines.append(f"Trace {status['traceID']}")
    return lines


class DetailScreen(Screen[None]):
    DEFAULT_CSS = """
    DetailScreen .section { text-style: bold; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="detail.back"),
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
        self._unlisten: Callable[[], None] | None = None
        self._pending = False
        self.related_lines: list[str] = []

    @property
    def name_(self) -> str:
        return str(self.obj["metadata"]["name"])

    def compose(self) -> ComposeResult:
        yield LocationBar(self.backend.location, (self.kind.title, self.name_))
        with VerticalScroll():
            yield Static("Conditions", classes="section")
            yield Static(id="conditions")
            yield Static("Events", classes="section")
            yield Static(id="events")
            yield Static("Related", classes="section")
            yield Static(id="related")
            if self.is_daemon:
                yield Static("Runtime", classes="section")
                yield Static(Text("asking…", style="dim"), id="runtime")
        yield ServiceStatus(self.backend)
        yield Footer()

    @property
    def is_daemon(self) -> bool:
        return self.kind.kind == "Agent" and (self.obj.get("spec") or {}).get("mode") == "daemon"

    def on_mount(self) -> None:
        self._unlisten = self.backend.listen(self._changed)
        self.show()
        if self.is_daemon:
            self._ask_again()
            self.set_interval(RUNTIME_REFRESH, self._ask_again)

    def _ask_again(self) -> None:
        self.run_worker(self.ask_runtime(), group="runtime", exclusive=True)

    async def ask_runtime(self) -> None:
        """The runtime's own view (state, model, context use), through whatever route the
        backend has to it."""
        try:
            http = await self.backend.service(ServiceRef.runtime(self.name_))
            answer = await fetch_status(http)
        except BackendError as exc:
            answer = str(exc)
        widget = self.query_one("#runtime", Static)
        if isinstance(answer, str):
            widget.update(Text(answer, style="yellow"))
        else:
            widget.update(runtime_table(status_lines(answer)))

    def on_unmount(self) -> None:
        if self._unlisten is not None:
            self._unlisten()

    def _changed(self, kind: str, _event: str, obj: Object) -> None:
        if kind == self.kind.kind and obj["metadata"]["name"] == self.name_:
            self.obj = obj
        elif kind not in ("Event", "AgentRun"):
            return
        if not self._pending:
            self._pending = True
            self.set_timer(REFRESH_DELAY, self.show)

    def show(self) -> None:
        self._pending = False
        now = self.clock()
        events = [
            e
            for e in self.backend.items("Event")
            if (e.get("involvedObject") or {}).get("name") == self.name_
            and (e.get("involvedObject") or {}).get("kind") == self.kind.kind
        ]
        self.query_one("#conditions", Static).update(conditions_table(self.obj, now))
        self.query_one("#events", Static).update(
            events_table(events, now) if events else Text("none", style="dim")
        )
        self.related_lines = related(self.backend, self.kind.kind, self.obj)
        self.query_one("#related", Static).update("\n".join(self.related_lines) or "none")
