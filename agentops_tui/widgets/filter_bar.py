"""The `/` filter (k9s): a regular expression over a row's cells, `!` in front inverts it,
`-l key=value,...` selects by labels. Applied as the user types."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FilterError(ValueError):
    """The filter text is not a valid expression; the message says why."""


@dataclass(frozen=True)
class RowFilter:
    pattern: re.Pattern[str] | None = None
    inverse: bool = False
    labels: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> RowFilter:
        text = text.strip()
        if not text:
            return cls()
        if text.startswith("-l"):
            pairs = []
            for part in text[2:].split(","):
                key, equals, value = part.strip().partition("=")
                if not equals or not key:
                    raise FilterError(f"label selector {part.strip()!r}: use key=value")
                pairs.append((key.strip(), value.strip()))
            return cls(labels=tuple(pairs))
        inverse = text.startswith("!")
        try:
            pattern = re.compile(text[1:] if inverse else text, re.IGNORECASE)
        except re.error as exc:
            raise FilterError(f"not a regular expression: {exc}") from None
        return cls(pattern=pattern, inverse=inverse)

    def keeps(self, cells: list[str], obj: dict[str, Any]) -> bool:
        if self.labels:
            have = obj.get("metadata", {}).get("labels") or {}
            return all(have.get(k) == v for k, v in self.labels)
        if self.pattern is None:
            return True
        found = any(self.pattern.search(cell) for cell in cells)
        return found != self.inverse


class FilterBar(Input):
    DEFAULT_CSS = """
    FilterBar { dock: bottom; height: 1; border: none; padding: 0 1; display: none; }
    FilterBar.-open { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear", "Clear filter", id="filter.clear"),
    ]

    class Applied(Message):
        def __init__(self, row_filter: RowFilter) -> None:
            super().__init__()
            self.row_filter = row_filter

    def __init__(self) -> None:
        super().__init__(placeholder="regex, !regex or -l key=value", id="filter")

    def open(self) -> None:
        self.add_class("-open")
        self.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        try:
            row_filter = RowFilter.parse(event.value)
        except FilterError as exc:
            self.notify(str(exc), severity="warning", timeout=3)
            return
        self.post_message(self.Applied(row_filter))

    def action_clear(self) -> None:
        self.value = ""
        self.remove_class("-open")
        self.post_message(self.Applied(RowFilter()))
        self.screen.focus_next()

    async def action_submit(self) -> None:
        if not self.value:
            self.remove_class("-open")
        self.screen.focus_next()
