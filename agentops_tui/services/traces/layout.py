"""The waterfall on a grid of character cells: a name column indented by depth, a duration
column, and a time bar scaled to the cells left, over a zoomable, pannable window of time.

Bars are drawn in eighths of a cell (▏▎▍▌▋▊▉█), so a bar's length is honest to 1/8 of a
cell; its start is rounded down to the cell. A span outside the window shows an arrow at the
edge it lies beyond, so zooming in never hides that there is more. Rows are laid out for a
slice of the shown spans, so a view lays out only what is on screen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

from agentops_tui.services.traces.filters import Shown
from agentops_tui.services.traces.otlp import gc_paused

MIN_WIDTH = 20
MIN_WINDOW_NS = 1_000
"""The deepest zoom, 1 µs: finer than anything a span's timestamps resolve in practice."""
DURATION_CELLS = 8
"""The widest duration text ('123.4ms' or '59m59s') and a space before it."""
_BAR_MIN = 8
_NAME_MIN = 8
_NAME_MAX = 60
_DAY = 86_400 * 10**9
_STEPS = (
    *(m * 10**k for k in range(10) for m in (1, 2, 5)),
    *(s * 10**9 for s in (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200)),
    _DAY,
)
"""Tick intervals in ns, ascending."""
_EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
ERROR_MARK = "✗"
ORPHAN_MARK = "…"
"""Before a span whose parent the trace does not hold: something above it is missing."""


def format_duration(ns: int) -> str:
    """At most 7 characters, 3 significant digits: 850ns, 12.3µs, 1.52s, 2m05s, 1h07m."""
    if ns < 1_000:
        return f"{ns}ns"
    if ns < 999_500:  # what would round to 1000µs is 1ms
        return f"{ns / 1e3:.3g}µs"
    if ns < 999_500_000:
        return f"{ns / 1e6:.3g}ms"
    if ns < 59_950_000_000:
        return f"{ns / 1e9:.3g}s"
    seconds = round(ns / 1e9)
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    minutes = round(ns / 6e10)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes < 60_000 else ">999h"


@dataclass(frozen=True, slots=True)
class Viewport:
    """The stretch of the trace's time axis on screen, in ns from the trace's start."""

    total_ns: int
    start_ns: int
    end_ns: int

    @classmethod
    def whole(cls, total_ns: int) -> Viewport:
        total = max(total_ns, 1)
        return cls(total, 0, total)

    @property
    def width_ns(self) -> int:
        return self.end_ns - self.start_ns

    def zoom(self, factor: float, anchor: float = 0.5) -> Viewport:
        """`factor` above 1 zooms in, below 1 out, keeping the instant at `anchor` (0 the left
        edge, 1 the right) where it is on screen, as far as the trace's ends allow."""
        if factor <= 0:
            raise ValueError(f"a zoom factor is positive, not {factor}")
        floor = min(MIN_WINDOW_NS, self.total_ns)
        width = min(max(round(self.width_ns / factor), floor), self.total_ns)
        pivot = self.start_ns + anchor * self.width_ns
        return self._placed(round(pivot - anchor * width), width)

    def pan(self, fraction: float) -> Viewport:
        """Move by `fraction` of the window (negative: earlier), stopping at the trace's ends."""
        return self._placed(self.start_ns + round(fraction * self.width_ns), self.width_ns)

    def _placed(self, start: int, width: int) -> Viewport:
        start = min(max(start, 0), self.total_ns - width)
        return Viewport(self.total_ns, start, start + width)


@dataclass(frozen=True, slots=True)
class Columns:
    name: int
    duration: int
    bar: int

    @classmethod
    def fit(cls, width: int) -> Columns:
        """Two fifths for names (8 to 60 cells), the duration, the rest for bars."""
        if width < MIN_WIDTH:
            raise ValueError(f"the waterfall needs at least {MIN_WIDTH} columns, not {width}")
        name = min(max(width * 2 // 5, _NAME_MIN), _NAME_MAX)
        if width - name - DURATION_CELLS < _BAR_MIN:
            name = max(_NAME_MIN, width - DURATION_CELLS - _BAR_MIN)
        return cls(name, DURATION_CELLS, width - name - DURATION_CELLS)


@dataclass(frozen=True, slots=True)
class Row:
    shown: Shown
    name: str
    """Indent, marks for a failed (✗) and an orphaned (…) span, the name: `Columns.name`
    cells."""
    duration: str
    bar: str
    bar_cells: tuple[int, int]
    """The cells of `bar` the span (or the arrow pointing at it) covers, for colouring."""

    @property
    def text(self) -> str:
        return self.name + self.duration + self.bar


def bar(offset_ns: int, duration_ns: int, viewport: Viewport, cells: int) -> tuple[str, int, int]:
    """The bar of a span `cells` wide, and the cells [first, last) it covers."""
    if cells <= 0:
        return "", 0, 0
    start = offset_ns - viewport.start_ns
    end = start + duration_ns
    window = viewport.end_ns - viewport.start_ns
    if end < 0 or (duration_ns and end == 0):
        return "◂".ljust(cells), 0, 1
    if start > window or (duration_ns and start == window):
        return "▸".rjust(cells), cells - 1, cells
    scale = cells * 8 / window
    start8 = min(max(math.floor(start * scale), 0), cells * 8 - 1)
    end8 = min(max(math.ceil(end * scale), start8 + 1), cells * 8)
    first = start8 // 8
    full, rest = divmod(end8 - start8, 8)
    text = " " * first + "█" * full + _EIGHTHS[rest]
    return text.ljust(cells), first, first + full + (rest > 0)


def _name(shown: Shown, cells: int) -> str:
    node = shown.node
    indent = "  " * min(node.depth, cells // 4)  # at most half the column: the name needs room
    mark = ERROR_MARK * node.error + ORPHAN_MARK * node.orphan
    text = indent + (mark + " " if mark else "") + node.name
    if len(text) <= cells and text.isascii():
        return text.ljust(cells)
    if cell_len(text) > cells:
        return set_cell_size(text, cells - 1) + "…"
    return set_cell_size(text, cells)


def layout(
    shown: Sequence[Shown],
    viewport: Viewport,
    width: int,
    *,
    first: int = 0,
    count: int | None = None,
) -> list[Row]:
    """Rows of exactly `width` cells for `shown[first:first + count]`."""
    columns = Columns.fit(width)
    rows: list[Row] = []
    with gc_paused():  # up to one row per span, none of them in a cycle
        for item in shown[first : None if count is None else first + count]:
            node = item.node
            text, start, end = bar(node.offset_ns, node.duration_ns, viewport, columns.bar)
            rows.append(
                Row(
                    item,
                    _name(item, columns.name),
                    format_duration(node.duration_ns).rjust(columns.duration - 1) + " ",
                    text,
                    (start, end),
                )
            )
    return rows


def ticks(viewport: Viewport, cells: int, target: int = 5) -> list[tuple[int, str]]:
    """About `target` ticks at round intervals (1, 2 or 5 times a power of ten up to seconds,
    then 10 s, 15 s, 30 s, minutes, hours as a clock divides them), as (cell, label) with
    labels in time from the trace's start."""
    if cells <= 0:
        return []
    raw = viewport.width_ns / target
    step = next((s for s in _STEPS if s >= raw), math.ceil(raw / _DAY) * _DAY)
    at = math.ceil(viewport.start_ns / step) * step
    marks: list[tuple[int, str]] = []
    while at <= viewport.end_ns:
        cell = math.floor((at - viewport.start_ns) * cells / viewport.width_ns)
        marks.append((min(cell, cells - 1), format_duration(at) if at else "0"))
        at += step
    return marks


def ruler(viewport: Viewport, cells: int) -> str:
    """The ticks as a line `cells` wide, each label starting at its tick; a label that would
    run into the previous one or off the end is left out."""
    line = ""
    for cell, label in ticks(viewport, cells):
        if cell >= len(line) + (1 if line else 0) and cell + len(label) <= cells:
            line = line.ljust(cell) + label
    return line.ljust(cells)
