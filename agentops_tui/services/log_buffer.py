"""The log view's lines: the last N lines of the stream, which the view renders from (so a
filter, wrap or timestamps change can redraw everything), which of them a filter keeps, and
how they read on screen. The functions are pure, so a redraw can run them in a thread."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable

from rich.cells import cell_len, chop_cells

from agentops_services.kube.podlogs import LogLine
from agentops_tui.widgets.filter_bar import RowFilter

CAPACITY = 10_000
"""Lines kept per view; older ones are dropped (k9s keeps a similar window)."""
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
"""Colour and cursor sequences, which the view, the filter and the clipboard leave out."""


def plain(text: str) -> str:
    return ANSI.sub("", text) if "\x1b" in text else text


class LogBuffer:
    """The last `capacity` lines, and those of them not yet handed to the view."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._lines: deque[LogLine] = deque(maxlen=capacity)
        self._unshown: deque[LogLine] = deque(maxlen=capacity)
        self.received = 0
        """Lines received since the last clear, dropped ones included."""

    def __len__(self) -> int:
        return len(self._lines)

    def append(self, line: LogLine) -> None:
        self._lines.append(line)
        self._unshown.append(line)
        self.received += 1

    def take_unshown(self) -> list[LogLine]:
        """The lines that arrived since the last take (or snapshot)."""
        lines = list(self._unshown)
        self._unshown.clear()
        return lines

    def snapshot(self) -> list[LogLine]:
        """Every line kept, for a full redraw; nothing is unshown after it."""
        self._unshown.clear()
        return list(self._lines)

    def clear(self) -> None:
        self._lines.clear()
        self._unshown.clear()
        self.received = 0


def matching(lines: Iterable[LogLine], row_filter: RowFilter) -> list[LogLine]:
    """The lines the filter keeps, matched on their text as shown (colours left out). Pure,
    so the view can run it over the whole buffer in a thread."""
    if row_filter.pattern is None:
        return list(lines)
    return [line for line in lines if row_filter.keeps([plain(line.text)], {})]


def formatted(lines: Iterable[LogLine], timestamps: bool, width: int | None) -> list[str]:
    """The widget's rows for the lines: timestamps in front when asked for, and cut into
    pieces of `width` cells when wrapping (an empty line stays a row)."""
    rows: list[str] = []
    for line in lines:
        text = plain(line.text)
        if timestamps and line.time:
            text = f"{line.time} {text}"
        if width and cell_len(text) > width:
            rows.extend(chop_cells(text, width))
        else:
            rows.append(text or " ")
    return rows
