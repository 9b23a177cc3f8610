"""The line above the key bar saying how each opened service is reached (port-forward state,
proxy, direct URL); hidden until the console opens one."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.text import Text
from textual.widgets import Static

from agentops_tui.backends.base import Backend

STYLES = {"ready": "green", "reconnecting": "yellow", "failed": "red", "connecting": "yellow"}


def describe(states: Mapping[str, str]) -> Text:
    text = Text()
    for label, state in sorted(states.items()):
        if text:
            text.append("  ·  ")
        style = next((s for word, s in STYLES.items() if word in state), "")
        text.append(f"{label} ", style="bold")
        text.append(state, style=style)
    return text


class ServiceStatus(Static):
    DEFAULT_CSS = """
    ServiceStatus { dock: bottom; height: 1; padding: 0 1; background: $panel; display: none; }
    ServiceStatus.-shown { display: block; }
    """

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend
        self._unlisten: Callable[[], None] | None = None

    def on_mount(self) -> None:
        self._unlisten = self.backend.listen_services(self._changed)

    def on_unmount(self) -> None:
        if self._unlisten is not None:
            self._unlisten()

    def _changed(self, states: Mapping[str, str]) -> None:
        """Called from the backend's tasks, on the app's loop."""
        self.set_class(bool(states), "-shown")
        self.update(describe(states))
