"""Where the agent waits for a person: the oldest open permission request (allow once, always,
deny) and the oldest open question (options or free text), pinned above the composer. Both go
away by themselves when the request closes, whoever answered it."""

from __future__ import annotations

import json

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, SelectionList, Static
from textual.widgets.selection_list import Selection

from agentops_services.api import fep
from agentops_tui.services.chat.client import PermissionResponse

ARGUMENTS_SHOWN = 2_000
RESPONSES: dict[str, PermissionResponse] = {"once": "once", "always": "always", "deny": "deny"}
"""Button id -> the reply it sends."""


class PermissionPanel(Vertical):
    DEFAULT_CSS = """
    PermissionPanel { height: auto; max-height: 16; border: round $warning; padding: 0 1; }
    PermissionPanel Horizontal { height: auto; }
    PermissionPanel Button { margin-right: 1; min-width: 12; }
    """

    class Replied(Message):
        def __init__(self, request_id: str, response: PermissionResponse) -> None:
            super().__init__()
            self.request_id = request_id
            self.response = response

    def __init__(self, request: fep.PermissionAsked) -> None:
        super().__init__(id="permission")
        self.request = request
        self.border_title = "Permission required"

    def compose(self) -> ComposeResult:
        yield Label(Text.assemble(("Run ", ""), (self.request.tool_name, "bold"), "?"))
        if self.request.description:
            yield Static(Text(self.request.description, style="dim"))
        yield Static(_arguments(self.request.input))
        with Horizontal():
            yield Button("Allow once", id="once", variant="primary")
            yield Button("Always", id="always")
            yield Button("Deny", id="deny", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Replied(self.request.id, RESPONSES[str(event.button.id)]))


def _arguments(text: str) -> Syntax | Text:
    try:
        pretty = json.dumps(json.loads(text), indent=2)
    except ValueError:
        return Text(text[:ARGUMENTS_SHOWN])
    return Syntax(pretty[:ARGUMENTS_SHOWN], "json", word_wrap=True)


class QuestionPanel(Vertical):
    DEFAULT_CSS = """
    QuestionPanel { height: auto; max-height: 24; border: round $accent; padding: 0 1; }
    QuestionPanel RadioSet, QuestionPanel SelectionList { height: auto; max-height: 8; }
    QuestionPanel .header { text-style: bold; }
    """

    class Answered(Message):
        def __init__(self, request_id: str, answers: list[list[str]]) -> None:
            super().__init__()
            self.request_id = request_id
            self.answers = answers

    def __init__(self, request: fep.QuestionAsked) -> None:
        super().__init__(id="question")
        self.request = request
        self.border_title = "The agent asks"

    def compose(self) -> ComposeResult:
        for index, question in enumerate(self.request.questions):
            if question.header:
                yield Label(question.header, classes="header")
            yield Label(question.question)
            options = question.options or []
            if not options:
                yield Input(placeholder="your answer", id=f"answer-{index}")
            elif question.multiple:
                yield SelectionList[str](
                    *(Selection(_option(o), o.label) for o in options), id=f"answer-{index}"
                )
            else:
                yield RadioSet(*(RadioButton(_option(o)) for o in options), id=f"answer-{index}")
        yield Button("Answer", id="submit", variant="primary")

    def answers(self) -> list[list[str]]:
        """The chosen labels (or the typed text) per question, in order."""
        found: list[list[str]] = []
        for index, question in enumerate(self.request.questions):
            widget = self.query_one(f"#answer-{index}")
            if isinstance(widget, Input):
                found.append([widget.value] if widget.value.strip() else [])
            elif isinstance(widget, SelectionList):
                found.append([str(label) for label in widget.selected])
            elif isinstance(widget, RadioSet):
                chosen = widget.pressed_index
                options = question.options or []
                found.append([options[chosen].label] if 0 <= chosen < len(options) else [])
        return found

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Answered(self.request.id, self.answers()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Answered(self.request.id, self.answers()))


def _option(option: fep.QuestionOption) -> Text:
    label = Text(option.label)
    if option.description:
        label.append(f"  {option.description}", style="dim")
    return label
