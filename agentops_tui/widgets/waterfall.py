"""A trace's waterfall as a virtual list: only the rows on screen are laid out and drawn, so a
10,000-span trace opens and scrolls like a short one. Bars are coloured by what the span is
(blue turns, magenta model calls, cyan tools, green memory), failures red, spans shown only as
the way to a filtered match dim."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agentops_tui.services.traces.classify import Category
from agentops_tui.services.traces.filters import Shown
from agentops_tui.services.traces.layout import MIN_WIDTH, Row, Viewport, layout, ruler

BAR_STYLES: dict[Category, Style] = {
    "agent": Style(color="blue"),
    "llm": Style(color="magenta"),
    "tool": Style(color="cyan"),
    "memory": Style(color="green"),
    "other": Style(color="bright_black"),
}
ERROR_STYLE = Style(color="red", bold=True)
DIM = Style(dim=True)
CURSOR = Style(reverse=True)
ZOOM_STEP = 2.0
PAN_STEP = 0.25


class WaterfallView(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    WaterfallView { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "move(1)", "Down", show=False, id="trace.down"),
        Binding("k,up", "move(-1)", "Up", show=False, id="trace.up"),
        Binding("g,home", "first", "Top", show=False, id="trace.top"),
        Binding("G,end", "last", "Bottom", show=False, id="trace.bottom"),
        Binding("pagedown", "move(20)", show=False, id="trace.page-down"),
        Binding("pageup", "move(-20)", show=False, id="trace.page-up"),
        Binding("plus,equals_sign", "zoom(2)", "Zoom in", id="trace.zoom-in"),
        Binding("minus", "zoom(0.5)", "Zoom out", id="trace.zoom-out"),
        Binding("left,h", "pan(-1)", "Earlier", show=False, id="trace.earlier"),
        Binding("right,l", "pan(1)", "Later", show=False, id="trace.later"),
        Binding("0", "whole", "Whole trace", id="trace.whole"),
    ]

    cursor: reactive[int] = reactive(0)

    class Highlighted(Message):
        def __init__(self, shown: Shown | None) -> None:
            super().__init__()
            self.shown = shown

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: list[Shown] = []
        self.viewport = Viewport.whole(1)

    def show(self, shown: list[Shown], total_ns: int, *, keep_view: bool = False) -> None:
        """New rows (a new trace, filter or refresh); the cursor stays on its span if shown."""
        current = self.highlighted
        self.shown = shown
        if not keep_view or self.viewport.total_ns != max(total_ns, 1):
            self.viewport = Viewport.whole(max(total_ns, 1))
        self.virtual_size = Size(self.size.width, len(shown))
        index = 0
        if current is not None:
            index = next((i for i, s in enumerate(shown) if s.index == current.index), 0)
        self.cursor = min(index, max(len(shown) - 1, 0))
        self.refresh()
        self.post_message(self.Highlighted(self.highlighted))

    @property
    def highlighted(self) -> Shown | None:
        return self.shown[self.cursor] if 0 <= self.cursor < len(self.shown) else None

    def ruler_text(self) -> str:
        width = self.scrollable_content_region.width
        return ruler(self.viewport, width) if width >= MIN_WIDTH else ""

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_offset.y) + y
        if index >= len(self.shown) or width < MIN_WIDTH:
            return Strip.blank(width)
        row = layout(self.shown, self.viewport, width, first=index, count=1)[0]
        return self._strip(row, selected=index == self.cursor)

    def _strip(self, row: Row, *, selected: bool) -> Strip:
        node = row.shown.node
        name_style = ERROR_STYLE if node.error else Style() if row.shown.matched else DIM
        first, last = row.bar_cells
        bar_style = ERROR_STYLE if node.error else BAR_STYLES[node.category]
        segments = [
            Segment(row.name, name_style),
            Segment(row.duration, DIM),
            Segment(row.bar[:first]),
            Segment(row.bar[first:last], bar_style),
            Segment(row.bar[last:]),
        ]
        strip = Strip(segments)
        return strip.apply_style(CURSOR) if selected else strip

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.shown))

    def watch_cursor(self, old: int, new: int) -> None:
        self._refresh_row(old - int(self.scroll_offset.y))
        self._refresh_row(new - int(self.scroll_offset.y))
        top = int(self.scroll_offset.y)
        height = self.scrollable_content_region.height
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif height and new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False)
        self.post_message(self.Highlighted(self.highlighted))

    def _refresh_row(self, y: int) -> None:
        if 0 <= y < self.size.height:
            self.refresh_line(y)

    def action_move(self, rows: int) -> None:
        if self.shown:
            self.cursor = min(max(self.cursor + rows, 0), len(self.shown) - 1)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(len(self.shown) - 1, 0)

    def action_zoom(self, factor: float) -> None:
        """Zoom around the highlighted span's start (or the middle)."""
        current = self.highlighted
        anchor = 0.5
        if current is not None and self.viewport.width_ns:
            start = current.node.offset_ns - self.viewport.start_ns
            anchor = min(max(start / self.viewport.width_ns, 0.0), 1.0)
        self.viewport = self.viewport.zoom(factor, anchor)
        self.refresh()
        self.post_message(self.Highlighted(self.highlighted))

    def action_pan(self, direction: int) -> None:
        self.viewport = self.viewport.pan(direction * PAN_STEP)
        self.refresh()
        self.post_message(self.Highlighted(self.highlighted))

    def action_whole(self) -> None:
        self.viewport = Viewport.whole(self.viewport.total_ns)
        self.refresh()
        self.post_message(self.Highlighted(self.highlighted))
