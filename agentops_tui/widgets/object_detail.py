"""One object's conditions, its Events and what it is related to, kept current as they change:
the body of the detail screen and the side pane of a wide list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from agentops_tui.backends.base import Backend, Object
from agentops_tui.backends.catalog import find
from agentops_tui.backends.columns import age
from agentops_tui.widgets.run_summary import run_summary

REFRESH_DELAY = 0.25
RECENT_RUNS = 10
GOOD_WHEN_FALSE = frozenset({"SecurityPolicyViolations"})
"""Conditions that are good when False."""


@dataclass(frozen=True)
class Related:
    """An object this one refers to or owns; `kind` is a console view when it has one."""

    kind: str
    name: str
    note: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.name}  {self.note}".rstrip()

    @property
    def openable(self) -> bool:
        """The console has a view of it: a listed kind, or a trace."""
        return self.kind == "Trace" or find(self.kind) is not None


def conditions_table(obj: Object, now: datetime) -> Table:
    table = Table("Type", "Status", "Reason", "Message", "Since", expand=True, box=None)
    for c in (obj.get("status") or {}).get("conditions") or []:
        good = c.get("status") == ("False" if c.get("type") in GOOD_WHEN_FALSE else "True")
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


def related(backend: Backend, kind: str, obj: Object) -> list[Related]:
    """What the detail links this object to: an Agent's newest runs, tools, providers,
    resources and workload; a run's Agent, Job and trace."""
    name = obj["metadata"]["name"]
    spec = obj.get("spec") or {}
    found: list[Related] = []
    if kind == "Agent":
        runs = [
            r for r in backend.items("AgentRun") if (r.get("spec") or {}).get("agentRef") == name
        ]
        runs.sort(
            key=lambda r: (r["metadata"].get("creationTimestamp") or "", r["metadata"]["name"])
        )
        for run in runs[-RECENT_RUNS:]:
            phase = str((run.get("status") or {}).get("phase", ""))
            found.append(Related("AgentRun", run["metadata"]["name"], phase))
        found += [Related("AgentTool", str(t.get("name"))) for t in spec.get("tools") or []]
        found += [Related("Provider", str(p.get("name"))) for p in spec.get("providerRefs") or []]
        found += [
            Related("AgentResource", str(r.get("name"))) for r in spec.get("resourceBindings") or []
        ]
        if spec.get("mode") == "daemon":
            found.append(Related("Deployment", name))
    elif kind == "AgentRun":
        status = obj.get("status") or {}
        found.append(Related("Agent", str(spec.get("agentRef"))))
        if status.get("jobName"):
            found.append(Related("Job", str(status["jobName"])))
        if status.get("traceID"):
            found.append(Related("Trace", str(status["traceID"])))
    return found


class ObjectDetail(Vertical):
    """Follows one object (`show` switches to another) and re-renders, coalesced, when it, its
    Events or its runs change."""

    DEFAULT_CSS = """
    ObjectDetail { height: auto; }
    ObjectDetail .section { text-style: bold; margin-top: 1; }
    ObjectDetail #related { height: auto; max-height: 14; }
    """

    def __init__(
        self,
        backend: Backend,
        kind: str,
        obj: Object | None,
        clock: Callable[[], datetime],
        *,
        navigable: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.navigable = navigable
        """Related objects as a list to pick from (enter opens one), else plain lines."""
        self.backend = backend
        self.kind = kind
        self.obj = obj
        self.clock = clock
        self.related: list[Related] = []
        self._unlisten: Callable[[], None] | None = None
        self._pending = False

    def compose(self) -> ComposeResult:
        if self.kind == "AgentRun":
            yield Static(id="run")
        yield Static("Conditions", classes="section")
        yield Static(id="conditions")
        yield Static("Events", classes="section")
        yield Static(id="events")
        yield Static("Related", classes="section")
        yield OptionList(id="related") if self.navigable else Static(id="related")

    def on_mount(self) -> None:
        self._unlisten = self.backend.listen(self._changed)
        try:
            self.refresh_detail()
        except NoMatches:
            # The console closed (or left the screen) while this pane was still mounting:
            # its children are already gone and there is nothing to draw.
            return

    def on_unmount(self) -> None:
        if self._unlisten is not None:
            self._unlisten()

    def show(self, obj: Object | None) -> None:
        """Follow another object from now on (None: nothing selected)."""
        self.obj = obj
        self._schedule()

    def _changed(self, kind: str, _event: str, obj: Object) -> None:
        current = self.obj
        if current is None:
            return
        if kind == self.kind and obj["metadata"]["name"] == current["metadata"]["name"]:
            self.obj = obj
        elif kind not in ("Event", "AgentRun"):
            return
        self._schedule()

    def _schedule(self) -> None:
        if not self._pending:
            self._pending = True
            self.set_timer(REFRESH_DELAY, self.refresh_detail)

    def refresh_detail(self) -> None:
        self._pending = False
        obj = self.obj
        conditions = self.query_one("#conditions", Static)
        events_view = self.query_one("#events", Static)
        if obj is None:
            self.related = []
            for view in self.query("#conditions, #events, #run").results(Static):
                view.update(Text("none", style="dim"))
            self._show_related()
            return
        now = self.clock()
        name = obj["metadata"]["name"]
        if self.kind == "AgentRun":
            self.query_one("#run", Static).update(run_summary(obj, now))
        events = [
            e
            for e in self.backend.items("Event")
            if (e.get("involvedObject") or {}).get("name") == name
            and (e.get("involvedObject") or {}).get("kind") == self.kind
        ]
        conditions.update(conditions_table(obj, now))
        events_view.update(events_table(events, now) if events else Text("none", style="dim"))
        self.related = related(self.backend, self.kind, obj)
        self._show_related()

    def _show_related(self) -> None:
        if not self.navigable:
            lines = "\n".join(map(str, self.related))
            self.query_one("#related", Static).update(lines or Text("none", style="dim"))
            return
        options = self.query_one("#related", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(
            Option(str(item), id=f"{item.kind}/{item.name}", disabled=not item.openable)
            for item in self.related
        )
        if self.related:
            options.highlighted = min(highlighted or 0, len(self.related) - 1)
