"""AgentResources picked to go with the next prompt, as a row of chips above the composer;
they are sent once (`context[]` of the prompt) and then cleared, like the web console's."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList
from textual.widgets.selection_list import Selection

from agentops_services.api.runtime_api import ResourceContext
from agentops_tui.backends.base import Object


def resource_context(resource: Object) -> ResourceContext:
    """A whole AgentResource as prompt context (the runtime shows its kind and title)."""
    spec = resource.get("spec") or {}
    return ResourceContext(
        resource_name=resource["metadata"]["name"],
        kind=str(spec.get("kind", "")),
        title=spec.get("displayName"),
        description=spec.get("description"),
    )


class ContextChips(Horizontal):
    DEFAULT_CSS = """
    ContextChips { height: auto; display: none; }
    ContextChips.-shown { display: block; }
    ContextChips Label { background: $accent 30%; padding: 0 1; margin-right: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[ResourceContext] = []

    def show(self, items: list[ResourceContext]) -> None:
        self.items = items
        self.remove_children()
        self.mount_all(
            Label(f"{item.kind or 'resource'}: {item.title or item.resource_name}")
            for item in items
        )
        self.set_class(bool(items), "-shown")

    def take(self) -> list[ResourceContext]:
        """The chips for the prompt being sent; they are cleared."""
        items = self.items
        self.show([])
        return items


class ResourcePicker(ModalScreen[list[str] | None]):
    """Space toggles an AgentResource bound to the agent, enter confirms (the list does not
    take it: in a picker enter means done), escape cancels."""

    DEFAULT_CSS = """
    ResourcePicker { align: center middle; }
    ResourcePicker > Vertical {
        width: 70; height: auto; max-height: 80%; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    ResourcePicker SelectionList { height: auto; max-height: 20; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "Use", priority=True, id="resources-picker.confirm"),
        Binding("escape", "dismiss(None)", "Cancel", id="resources-picker.cancel"),
    ]

    def __init__(self, resources: list[Object], chosen: set[str]) -> None:
        super().__init__()
        self.resources = resources
        self.chosen = chosen

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Send with the next prompt (space toggles, enter confirms)")
            yield SelectionList[str](
                *(
                    Selection(
                        f"{(r.get('spec') or {}).get('kind', '')}  {r['metadata']['name']}",
                        r["metadata"]["name"],
                        r["metadata"]["name"] in self.chosen,
                    )
                    for r in self.resources
                )
            )

    def on_mount(self) -> None:
        choices = self.query_one(SelectionList)
        if choices.option_count:
            choices.highlighted = 0

    def action_confirm(self) -> None:
        self.dismiss(list(self.query_one(SelectionList).selected))
