"""Ctrl+P: the command palette's AgentOps entries: open any view, jump to any Agent, run or
resource by name, start a run, switch context."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from agentops_tui.app import AgentOpsApp

NAMED_KINDS = ("Agent", "AgentRun", "AgentResource")
"""Kinds whose objects the palette lists by name."""


class ConsoleCommands(Provider):
    def _entries(self) -> list[tuple[str, Callable[[], object], str]]:
        """(text, what it does, help) for every entry, views first."""
        app: AgentOpsApp = self.app  # type: ignore[assignment]
        if not hasattr(app, "backend"):
            return []  # still connecting
        from agentops_tui.backends.catalog import KINDS_SHOWN  # noqa: PLC0415

        entries: list[tuple[str, Callable[[], object], str]] = [
            (f"Open {kind.title}", partial(app.open_view, kind.kind.lower()), f":{kind.names[-1]}")
            for kind in KINDS_SHOWN
            if kind.ours or app.backend.location.mode == "cluster"
        ]
        for kind in NAMED_KINDS:
            for obj in app.backend.items(kind):
                name = obj["metadata"]["name"]
                entries.append((f"{kind} {name}", partial(app.show_object, kind, name), "details"))
        for obj in app.backend.items("Agent"):
            name = obj["metadata"]["name"]
            entries.append((f"Start a run of {name}", partial(app.start_run, name), "r"))
        current = app.backend.location.context
        entries += [
            (f"Switch to context {name}", partial(app.use_context, name), ":ctx")
            for name in app.contexts()
            if name != current
        ]
        return entries

    async def discover(self) -> Hits:
        for text, action, help_text in self._entries()[:12]:
            yield DiscoveryHit(text, action, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, action, help_text in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), action, help=help_text)
