"""`l`: the logs of an object's pod, followed live (k9s-style).

The stream comes from the backend; its lines go into a bounded buffer, the source of truth,
and reach the widget in batches a few times a second, so a chatty pod cannot starve the
keyboard. A new filter runs over the whole buffer in a thread, then over each batch as it
comes. Following keeps the newest line in view; scrolling up pauses it, `f` or the end key
resume it.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import ClassVar

from rich.highlighter import Highlighter
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.events import MouseScrollUp, Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Log, Static
from textual.worker import Worker

from agentops_services.kube.podlogs import LogLine, LogStatus
from agentops_tui.backends.base import Backend, BackendError
from agentops_tui.backends.catalog import ResourceKind
from agentops_tui.backends.pods import LogTarget
from agentops_tui.services.log_buffer import CAPACITY, LogBuffer, formatted, matching, plain
from agentops_tui.widgets.filter_bar import FilterBar, RowFilter
from agentops_tui.widgets.location_bar import LocationBar

FLUSH_INTERVAL = 0.1
"""Seconds between handing new lines to the widget: one render per batch, not per line."""
COPY_LIMIT = 256 * 1024
"""Characters `c` puts on the clipboard at most (the newest): terminals cap OSC 52 payloads."""
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)")
ERROR_WORDS = re.compile(r"(?i)\b(?:error|fatal|panic|exception|traceback|failed)\b")
WARNING_WORDS = re.compile(r"(?i)\b(?:warn|warning)\b")


async def open_logs(app: App[object], backend: Backend, kind: ResourceKind, name: str) -> None:
    """Show the logs of the object's pod, or say why it has none."""
    try:
        target = await backend.log_target(kind.kind, name)
    except BackendError as exc:
        app.notify(str(exc), severity="warning")
        return
    await app.push_screen(LogScreen(backend, kind, name, target))


def state_line(following: bool, status: LogStatus, row_filter: RowFilter, wrap: bool) -> str:
    """What the view is doing: following or paused, what the stream is waiting for or why it
    ended, and the filter and wrap in force."""
    if status.phase == "ended":
        parts = [f"ended: {status.reason}"]
    else:
        parts = ["following" if following else "paused"]
        if status.phase != "streaming":
            parts.append(f"{status.phase}: {status.reason}" if status.reason else status.phase)
    if row_filter.pattern is not None:
        inverse = "!" if row_filter.inverse else ""
        parts.append(f"filter {inverse}{row_filter.pattern.pattern}")
    if wrap:
        parts.append("wrap")
    return " · ".join(parts)


def redrawn(
    lines: list[LogLine], row_filter: RowFilter, timestamps: bool, width: int | None
) -> tuple[list[LogLine], list[str]]:
    """The lines a filter keeps and the widget's rows for them (run in a thread)."""
    kept = matching(lines, row_filter)
    return kept, formatted(kept, timestamps, width)


class LevelHighlighter(Highlighter):
    """Dims timestamps and colours the words that say something went wrong, as a row is
    drawn (only the rows on screen are)."""

    def highlight(self, text: Text) -> None:
        text.highlight_regex(TIMESTAMP, "dim")
        text.highlight_regex(ERROR_WORDS, "bold red")
        text.highlight_regex(WARNING_WORDS, "yellow")


class LogView(Log):
    """The rows (kept as strings and drawn only when visible, so ten thousand of them cost
    little); tells the screen when the reader scrolls away from the end or back."""

    class Moved(Message):
        def __init__(self, to_end: bool) -> None:
            super().__init__()
            self.to_end = to_end

    def action_scroll_up(self) -> None:
        self.post_message(self.Moved(to_end=False))
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self.post_message(self.Moved(to_end=False))
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self.post_message(self.Moved(to_end=False))
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        self.post_message(self.Moved(to_end=True))
        super().action_scroll_end()

    def _on_mouse_scroll_up(self, event: MouseScrollUp) -> None:
        self.post_message(self.Moved(to_end=False))
        super()._on_mouse_scroll_up(event)

    @property
    def wrap_width(self) -> int:
        return self.scrollable_content_region.width


class LogScreen(Screen[None]):
    CSS_PATH = "logs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "follow", "Follow", id="logs.follow"),
        Binding("slash", "filter", "Filter", id="logs.filter"),
        Binding("w", "wrap", "Wrap", id="logs.wrap"),
        Binding("t", "timestamps", "Timestamps", id="logs.timestamps"),
        Binding("o", "container", "Container", id="logs.container"),
        Binding("c", "copy", "Copy", id="logs.copy"),
        Binding("j", "down", "Down", show=False, id="logs.down"),
        Binding("k", "up", "Up", show=False, id="logs.up"),
        Binding("g", "top", "Top", show=False, id="logs.top"),
        Binding("G", "bottom", "Bottom", show=False, id="logs.bottom"),
        Binding("escape", "app.pop_screen", "Back", id="logs.back"),
    ]

    def __init__(
        self,
        backend: Backend,
        kind: ResourceKind,
        name: str,
        target: LogTarget,
        *,
        capacity: int = CAPACITY,
    ) -> None:
        super().__init__(name="logs")
        self.backend = backend
        self.kind = kind
        self.object_name = name
        self.target = target
        self.container = target.containers[0] if target.containers else ""
        self.buffer = LogBuffer(capacity)
        self.shown: deque[LogLine] = deque(maxlen=capacity)
        """The lines in the widget (the filter's survivors): what `c` copies."""
        self.row_filter = RowFilter()
        self.following = True
        self.wrap = False
        self.timestamps = False
        self.status = LogStatus("connecting")
        self._refilling: Worker[None] | None = None
        """The redraw under way: new lines wait for it."""

    def compose(self) -> ComposeResult:
        yield LocationBar(self.backend.location, self._crumbs())
        yield Static(id="state")
        view = LogView(highlight=True, max_lines=self.buffer.capacity, id="log")
        view.highlighter = LevelHighlighter()
        yield view
        filter_bar = FilterBar()
        filter_bar.placeholder = "regex or !regex"
        yield filter_bar
        yield Footer()

    def _crumbs(self) -> tuple[str, ...]:
        where = f"{self.target.pod}/{self.container}"
        return (self.kind.title, self.object_name, "logs", where)

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def state_text(self) -> str:
        return state_line(self.following, self.status, self.row_filter, self.wrap)

    def on_mount(self) -> None:
        self.set_interval(FLUSH_INTERVAL, self._flush)
        self._show_state()
        self.view.focus()
        self._stream()

    def _stream(self) -> None:
        """Follow the chosen container, replacing the stream of the one before."""
        if not self.container:
            self.status = LogStatus("ended", f"pod {self.target.pod} has no containers")
            self._show_state()
            return
        self.run_worker(self._follow(self.container), group="stream", exclusive=True)

    async def _follow(self, container: str) -> None:
        try:
            async for event in self.backend.pod_logs(self.target, container):
                if isinstance(event, LogStatus):
                    self.status = event
                    self._show_state()
                else:
                    self.buffer.append(event)
        except Exception as exc:  # shown, not raised: the view stays usable
            self.status = LogStatus("ended", f"{type(exc).__name__}: {exc}")
            self._show_state()

    def _show_state(self) -> None:
        if self.status.phase == "ended":
            style = "bold red"
        elif self.following and self.status.phase == "streaming":
            style = "green"
        else:
            style = "yellow"
        self.query_one("#state", Static).update(Text(self.state_text, style=style))

    def _flush(self) -> None:
        """Hand the lines that arrived since the last flush to the widget, filtered."""
        if self._refilling is not None:
            return
        kept = matching(self.buffer.take_unshown(), self.row_filter)
        if kept:
            self._write(kept, formatted(kept, self.timestamps, self._width))

    def _write(self, lines: list[LogLine], rows: list[str]) -> None:
        self.shown.extend(lines)
        self.view.write_lines(rows, scroll_end=self.following)

    @property
    def _width(self) -> int | None:
        return (self.view.wrap_width or None) if self.wrap else None

    def _redraw(self) -> None:
        """Filter the whole buffer in a thread, then show the result; new lines wait."""
        lines = self.buffer.snapshot()
        row_filter, timestamps, width = self.row_filter, self.timestamps, self._width

        async def refill() -> None:
            await self._refill(lines, row_filter, timestamps, width)

        # A function, not a coroutine: typing a filter replaces workers before they start.
        self._refilling = self.run_worker(refill, group="redraw", exclusive=True)

    async def _refill(
        self, lines: list[LogLine], row_filter: RowFilter, timestamps: bool, width: int | None
    ) -> None:
        kept, rows = await asyncio.to_thread(redrawn, lines, row_filter, timestamps, width)
        view = self.view
        # Paused, the reader keeps their place (as a share of the height: wrapping changes it).
        place = view.scroll_y / view.max_scroll_y if view.max_scroll_y else 1.0
        view.clear()
        self.shown.clear()
        if kept:
            self._write(kept, rows)
            if not self.following:
                view.scroll_to(y=round(place * view.max_scroll_y), animate=False, immediate=True)
        self._refilling = None
        self._flush()

    def on_filter_bar_applied(self, event: FilterBar.Applied) -> None:
        event.stop()
        if event.row_filter.labels:
            self.notify("label selectors do not apply to logs", severity="warning", timeout=3)
            return
        self.row_filter = event.row_filter
        self._show_state()
        self._redraw()

    def on_log_view_moved(self, event: LogView.Moved) -> None:
        if event.to_end != self.following:
            self._set_following(event.to_end)

    def on_resize(self, _event: Resize) -> None:
        if self.wrap:  # wrapped lines were cut for the old width
            self._redraw()

    def _set_following(self, following: bool) -> None:
        self.following = following
        if following:
            self.view.scroll_end(animate=False)
        self._show_state()

    def action_follow(self) -> None:
        self._set_following(not self.following)

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def action_wrap(self) -> None:
        self.wrap = not self.wrap
        self.view.set_class(self.wrap, "-wrap")
        self._show_state()
        self._redraw()

    def action_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self._redraw()

    def action_container(self) -> None:
        """The next container of the pod (sidecars, init containers), from its tail again."""
        containers = self.target.containers
        if len(containers) < 2:
            self.notify(f"pod {self.target.pod} has only container {self.container}")
            return
        self.container = containers[(containers.index(self.container) + 1) % len(containers)]
        if self._refilling is not None:
            self._refilling.cancel()
            self._refilling = None
        self.buffer.clear()
        self.shown.clear()
        self.view.clear()
        self.status = LogStatus("connecting")
        self.query_one(LocationBar).crumbs = self._crumbs()
        self._show_state()
        self._stream()

    def action_copy(self) -> None:
        """The lines shown (filter applied) to the terminal's clipboard, via OSC 52 like the
        other views; the newest ones when they are too many for a terminal to take."""
        lines = [self._copied(line) for line in self.shown]
        text = "\n".join(lines)
        if not text:
            self.notify("nothing to copy")
            return
        if len(text) > COPY_LIMIT:
            text = text[-COPY_LIMIT:].partition("\n")[2]
        count = text.count("\n") + 1
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {count} lines" + (f" of {len(lines)}" if count < len(lines) else ""))

    def _copied(self, line: LogLine) -> str:
        text = plain(line.text)
        return f"{line.time} {text}" if self.timestamps and line.time else text

    def action_down(self) -> None:
        self.view.action_scroll_down()

    def action_up(self) -> None:
        self.view.action_scroll_up()

    def action_top(self) -> None:
        self.view.action_scroll_home()

    def action_bottom(self) -> None:
        self.view.action_scroll_end()
