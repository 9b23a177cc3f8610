"""An object as highlighted YAML, managedFields left out (they are noise to a reader)."""

from __future__ import annotations

import copy
from typing import ClassVar

import yaml
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, TextArea

from agentops_tui.backends.base import Location, Object
from agentops_tui.backends.catalog import ResourceKind
from agentops_tui.widgets.location_bar import LocationBar


def readable_yaml(obj: Object) -> str:
    shown = copy.deepcopy(obj)
    shown.get("metadata", {}).pop("managedFields", None)
    return yaml.safe_dump(shown, sort_keys=False, width=100)


class YamlScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="yaml.back"),
    ]

    def __init__(self, location: Location, kind: ResourceKind, obj: Object) -> None:
        super().__init__()
        self.location = location
        self.kind = kind
        self.obj = obj

    def compose(self) -> ComposeResult:
        name = self.obj["metadata"]["name"]
        yield LocationBar(self.location, (self.kind.title, name, "YAML"))
        yield TextArea(
            readable_yaml(self.obj),
            language="yaml",
            read_only=True,
            id="yaml",
            show_line_numbers=True,
        )
        yield Footer()
