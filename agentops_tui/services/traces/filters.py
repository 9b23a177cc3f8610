"""Which spans the waterfall shows: all, or those that failed, the tool calls or the model calls.

A match keeps its ancestors, marked as context, so a failed tool call still shows the turn and
step it happened in (Tempo's `keep_hierarchy` does the same for its filtered traces).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from agentops_tui.services.traces.otlp import gc_paused
from agentops_tui.services.traces.tree import SpanNode, Waterfall

SpanFilter = Literal["all", "errors", "tools", "llm"]

_TESTS: Mapping[SpanFilter, Callable[[SpanNode], bool]] = {
    "all": lambda _node: True,
    "errors": lambda node: node.error,
    "tools": lambda node: node.category == "tool",
    "llm": lambda node: node.category == "llm",
}


@dataclass(frozen=True, slots=True)
class Shown:
    index: int
    """Position in `Waterfall.spans`."""
    node: SpanNode
    matched: bool
    """False for an ancestor shown only as the way to a match (drawn dim)."""


def select(waterfall: Waterfall, span_filter: SpanFilter = "all") -> list[Shown]:
    """The spans to show, in display order."""
    spans = waterfall.spans
    if span_filter == "all":
        with gc_paused():  # one Shown per span, none of them in a cycle
            return [Shown(index, node, True) for index, node in enumerate(spans)]
    test = _TESTS[span_filter]
    kept = bytearray(len(spans))  # 0 hidden, 1 context, 2 matched
    for index, node in enumerate(spans):
        if not test(node):
            continue
        kept[index] = 2
        parent = node.parent
        while parent >= 0 and not kept[parent]:
            kept[parent] = 1
            parent = spans[parent].parent
    return [
        Shown(index, spans[index], kept[index] == 2) for index in range(len(spans)) if kept[index]
    ]
