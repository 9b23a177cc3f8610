"""The trace explorer: `:traces` finds traces in Tempo (agent, time range, minimum duration,
errors only, or a TraceQL query of one's own); a trace opens as a waterfall with zoom and pan,
span filters, a span's detail, and a live mode that follows a running turn.

A partial trace says so and why (spans whose parent is missing, Tempo's own partial answer, a
trace larger than the cap on spans kept) instead of drawing a tidy lie.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Footer, Input, Select, Static

from agentops_tui.backends.base import Backend, BackendError
from agentops_tui.backends.columns import age
from agentops_tui.services.traces.client import TempoClient, TempoError
from agentops_tui.services.traces.detail import span_detail
from agentops_tui.services.traces.filters import SpanFilter, select
from agentops_tui.services.traces.layout import format_duration
from agentops_tui.services.traces.search import TraceSummary
from agentops_tui.services.traces.traceql import parse_duration
from agentops_tui.services.traces.tree import Waterfall
from agentops_tui.widgets.location_bar import LocationBar
from agentops_tui.widgets.service_status import ServiceStatus
from agentops_tui.widgets.span_detail import span_view
from agentops_tui.widgets.waterfall import WaterfallView

if TYPE_CHECKING:
    from agentops_tui.app import AgentOpsApp

LIVE_INTERVAL = 2.0
"""Seconds between reloads of a trace followed live."""
LIVE_LIMIT = 600.0
"""Seconds a live trace is followed before the follow stops by itself."""
RANGES = (
    ("15 minutes", 15),
    ("1 hour", 60),
    ("6 hours", 360),
    ("24 hours", 1440),
    ("7 days", 10080),
)


async def tempo(backend: Backend) -> TempoClient:
    """Tempo through the backend's route to it (configured URL, port-forward or proxy)."""
    return TempoClient(await backend.service(backend.platform_services.tempo))


def summary_text(waterfall: Waterfall, live: bool) -> Text:
    errors = sum(node.error for node in waterfall.spans)
    services = sorted({node.service for node in waterfall.spans if node.service})
    text = Text(f"{len(waterfall.spans):,} spans  ", style="bold")
    text.append(format_duration(waterfall.duration_ns))
    text.append(f"  {', '.join(services)}", style="dim")
    if errors:
        text.append(f"  {errors} failed", style="bold red")
    if live:
        text.append("  ● live", style="bold green")
    for reason in waterfall.partial_reasons():
        text.append(f"\nPARTIAL: {reason}", style="yellow")
    return text


class TraceScreen(Screen[None]):
    DEFAULT_CSS = """
    TraceScreen #summary { padding: 0 1; height: auto; }
    TraceScreen #ruler { padding: 0 1; height: 1; color: $text-muted; }
    TraceScreen WaterfallView { padding: 0 1; }
    TraceScreen #span { height: 40%; border-top: solid $foreground 30%; padding: 0 1; }
    TraceScreen #span.-hidden { display: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="trace.back"),
        Binding("enter", "detail", "Span", id="trace.detail"),
        Binding("e", "only('errors')", "Errors", id="trace.errors"),
        Binding("t", "only('tools')", "Tools", id="trace.tools"),
        Binding("m", "only('llm')", "LLM", id="trace.llm"),
        Binding("a", "only('all')", "All", id="trace.all"),
        Binding("f", "live", "Live", id="trace.live"),
        Binding("r", "reload", "Reload", id="trace.reload"),
    ]

    def __init__(self, backend: Backend, trace_id: str, *, live: bool = False) -> None:
        super().__init__()
        self.backend = backend
        self.trace_id = trace_id
        self.live = live
        self.span_filter: SpanFilter = "all"
        self.waterfall: Waterfall | None = None
        self._followed = 0.0
        # asked for now, while the screen is built: Tempo answers as the screen mounts
        self._first: asyncio.Task[Waterfall] | None = asyncio.ensure_future(self._fetch())

    async def _fetch(self) -> Waterfall:
        return await (await tempo(self.backend)).trace(self.trace_id)

    def compose(self) -> ComposeResult:
        yield LocationBar(self.backend.location, ("Traces", self.trace_id[:16]))
        yield Static(Text("loading…", style="dim"), id="summary")
        yield Static(id="ruler")
        yield WaterfallView(id="waterfall")
        with VerticalScroll(id="span", classes="-hidden"):
            yield Static(id="span-text")
        yield ServiceStatus(self.backend)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(WaterfallView).focus()
        self.run_worker(self.load(), group="load", exclusive=True)
        self.set_interval(LIVE_INTERVAL, self._follow)

    def on_unmount(self) -> None:
        """Closed before the trace was shown: the request stops, and a failure nobody will
        see is not reported as unhandled."""
        if self._first is not None:
            self._first.cancel()
            self._first.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def load(self) -> None:
        asked, self._first = self._first, None
        try:
            waterfall = await (asked or self._fetch())
        except (TempoError, BackendError, ValueError) as exc:
            self.query_one("#summary", Static).update(Text(str(exc), style="bold red"))
            self.live = False
            return
        first = self.waterfall is None
        self.waterfall = waterfall
        self._draw(keep_view=not first)

    def _draw(self, *, keep_view: bool = True) -> None:
        waterfall = self.waterfall
        if waterfall is None:
            return
        view = self.query_one(WaterfallView)
        view.show(select(waterfall, self.span_filter), waterfall.duration_ns, keep_view=keep_view)
        self.query_one("#summary", Static).update(summary_text(waterfall, self.live))
        self.query_one("#ruler", Static).update(view.ruler_text())

    def _follow(self) -> None:
        if not self.live:
            return
        self._followed += LIVE_INTERVAL
        if self._followed > LIVE_LIMIT:
            self.live = False
            self.notify("Live follow stopped after 10 minutes (f resumes)")
        self.run_worker(self.load(), group="load", exclusive=True)

    def on_waterfall_view_highlighted(self, event: WaterfallView.Highlighted) -> None:
        self.query_one("#ruler", Static).update(self.query_one(WaterfallView).ruler_text())
        pane = self.query_one("#span")
        if event.shown is not None and not pane.has_class("-hidden"):
            self.query_one("#span-text", Static).update(span_view(span_detail(event.shown.node)))

    def action_detail(self) -> None:
        pane = self.query_one("#span")
        pane.toggle_class("-hidden")
        current = self.query_one(WaterfallView).highlighted
        if current is not None:
            self.query_one("#span-text", Static).update(span_view(span_detail(current.node)))

    def action_only(self, span_filter: SpanFilter) -> None:
        self.span_filter = span_filter
        self._draw()

    def action_live(self) -> None:
        self.live = not self.live
        self._followed = 0.0
        self._draw()
        if self.live:
            self.run_worker(self.load(), group="load", exclusive=True)

    def action_reload(self) -> None:
        self.run_worker(self.load(), group="load", exclusive=True)


class TracesScreen(Screen[None]):
    """`:traces [AGENT]`: what Tempo has, newest first."""

    DEFAULT_CSS = """
    TracesScreen #form { height: auto; padding: 0 1; }
    TracesScreen #form Input { width: 1fr; }
    TracesScreen #form Select { width: 22; }
    TracesScreen #traceql { margin: 0 1; }
    TracesScreen #found { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="traces.back"),
        Binding("ctrl+r", "search", "Search", id="traces.search"),
    ]

    def __init__(self, backend: Backend, agent: str | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.agent = agent
        self.found: list[TraceSummary] = []

    def compose(self) -> ComposeResult:
        yield LocationBar(self.backend.location, ("Traces",))
        with Horizontal(id="form"):
            yield Input(self.agent or "", placeholder="agent", id="agent")
            yield Select(RANGES, value=60, allow_blank=False, id="since")
            yield Input(placeholder="min duration (e.g. 2s)", id="min-duration")
            yield Checkbox("errors only", id="errors")
        yield Input(placeholder="or a TraceQL query, e.g. { status = error }", id="traceql")
        table: DataTable[Text] = DataTable(cursor_type="row", id="found")
        for column in ("Started", "Agent / root", "Duration", "Spans", "Errors", "Trace"):
            table.add_column(column, key=column)
        yield table
        yield ServiceStatus(self.backend)
        yield Footer()

    def on_mount(self) -> None:
        self.action_search()

    def on_input_submitted(self) -> None:
        self.action_search()
        self.query_one("#found", DataTable).focus()

    def on_checkbox_changed(self) -> None:
        self.action_search()

    def on_select_changed(self) -> None:
        self.action_search()

    def action_search(self) -> None:
        self.run_worker(self.search(), group="search", exclusive=True)

    async def search(self) -> None:
        agent = self.query_one("#agent", Input).value.strip() or None
        minutes = self.query_one("#since", Select).value
        text = self.query_one("#min-duration", Input).value.strip()
        traceql = self.query_one("#traceql", Input).value.strip() or None
        try:
            min_duration = parse_duration(text) if text else None
            client = await tempo(self.backend)
            found = await client.search(
                agent=None if traceql else agent,
                since=timedelta(minutes=minutes if isinstance(minutes, int) else 60),
                min_duration=None if traceql else min_duration,
                errors_only=False if traceql else self.query_one("#errors", Checkbox).value,
                traceql=traceql,
            )
        except (TempoError, BackendError, ValueError) as exc:
            self.notify(str(exc), severity="error")
            return
        self.found = found
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#found", DataTable)
        table.clear()
        app: AgentOpsApp = self.app  # type: ignore[assignment]
        now = app.clock()
        for trace in self.found:
            agent = trace.agent
            when = age(trace.started.isoformat(), now)
            table.add_row(
                when,
                agent or f"{trace.root_service_name} {trace.root_trace_name}".strip(),
                format_duration(trace.duration_ms * 1_000_000),
                str(trace.span_count or ""),
                Text(str(trace.error_count or ""), style="red"),
                trace.trace_id,
                key=trace.trace_id,
            )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(TraceScreen(self.backend, str(event.row_key.value)))
