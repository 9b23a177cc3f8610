"""The first frame: where the console is connecting, shown while the heavy parts (Kubernetes
client, API models) load and the first listings arrive."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Label, LoadingIndicator


class ConnectingScreen(Screen[None]):
    DEFAULT_CSS = """
    ConnectingScreen Label { width: auto; }
    ConnectingScreen LoadingIndicator { height: 1; }
    """

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Label(f"AgentOps: connecting to {self.where}")
            yield LoadingIndicator()

    def failed(self, message: str) -> None:
        self.query_one(LoadingIndicator).display = False
        self.query_one(Label).update(f"AgentOps: {message}   (ctrl+q quits)")
