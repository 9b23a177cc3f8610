"""One chat message: a widget per block, updated in place as its block changes.

Streamed text is appended to its Markdown widget (only the new suffix is parsed), never
re-rendered whole per token; a half-written code fence or table is simply drawn as far as it
goes and completes as the rest arrives.
"""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Collapsible, Markdown, Static

from agentops_tui.services.chat.fan_out import FanOutBlock
from agentops_tui.services.chat.transcript import (
    Block,
    ChatMessage,
    DelegationBlock,
    ErrorBlock,
    ReasoningBlock,
    SourceBlock,
    TextBlock,
    ToolBlock,
    WarningBlock,
)
from agentops_tui.widgets.chat.fan_out_card import fan_out_card
from agentops_tui.widgets.chat.tool_card import ToolCard


def delegation_table(block: DelegationBlock) -> Table:
    result = block.result
    table = Table(
        title=f"delegated: {result.succeeded} ok, {result.failed} failed ({result.total_duration})",
        box=None,
        title_justify="left",
    )
    for column in ("Run", "Agent", "Phase", "Duration"):
        table.add_column(column)
    for name, run in result.runs.items():
        style = "green" if run.phase == "Succeeded" else "red"
        table.add_row(name, run.agent_name or "", Text(run.phase, style), run.duration or "")
    return table


class MessageView(Vertical):
    DEFAULT_CSS = """
    MessageView { height: auto; margin-bottom: 1; }
    MessageView.-user { border-left: thick $primary; padding-left: 1; }
    MessageView.-steer { border-left: thick $warning; }
    MessageView .error { color: $error; }
    MessageView .warning { color: $warning; }
    MessageView Markdown { margin: 0; padding: 0 1; }
    MessageView Collapsible { padding: 0; border: none; }
    """

    def __init__(self, message: ChatMessage, *, cards_open: bool = False) -> None:
        super().__init__(id=f"message-{message.id}")
        self.message = message
        self.cards_open = cards_open
        self._widgets: dict[int, Widget] = {}
        self._shown: dict[int, str] = {}
        """Text already handed to a block's widget (to append only what is new)."""
        self.set_class(message.role == "user", "-user")
        self.set_class(message.steer, "-steer")

    async def on_mount(self) -> None:
        for index in range(len(self.message.blocks)):
            await self.update_block(index)

    async def update_block(self, index: int) -> None:
        """Draw block `index` of the message: mount it the first time, update it after."""
        block = self.message.blocks[index]
        widget = self._widgets.get(index)
        if widget is None:
            widget = self._make(block)
            self._widgets[index] = widget
            await self.mount(widget)
        await self._update(index, block, widget)

    def _make(self, block: Block) -> Widget:
        if isinstance(block, TextBlock):
            return Static() if self.message.role == "user" else Markdown()
        if isinstance(block, ReasoningBlock):
            return Collapsible(Static(classes="reasoning"), title="Reasoning", collapsed=True)
        if isinstance(block, ToolBlock):
            return ToolCard(block, open=self.cards_open)
        if isinstance(block, FanOutBlock):
            return Static(classes="fan-out")
        classes = "error" if isinstance(block, ErrorBlock) else "warning"
        return Static(classes=classes)

    async def _update(self, index: int, block: Block, widget: Widget) -> None:
        if isinstance(block, TextBlock) and isinstance(widget, Markdown):
            await self._stream(index, block.text, widget)
        elif isinstance(block, TextBlock) and isinstance(widget, Static):
            prefix = "⚡ " if self.message.steer else "› "
            widget.update(Text(prefix + block.text, style="bold"))
        elif isinstance(block, ReasoningBlock) and isinstance(widget, Collapsible):
            widget.query_one(".reasoning", Static).update(Text(block.text, style="dim italic"))
            widget.title = "Reasoning…" if block.streaming else "Reasoning"
        elif isinstance(block, ToolBlock) and isinstance(widget, ToolCard):
            widget.refresh_card()
        elif isinstance(widget, Static):
            widget.update(_line(block))

    async def _stream(self, index: int, text: str, widget: Markdown) -> None:
        shown = self._shown.get(index, "")
        if text.startswith(shown):
            if len(text) > len(shown):
                await widget.append(text[len(shown) :])
        else:
            await widget.update(text)
        self._shown[index] = text

    def open_cards(self, opened: bool) -> None:
        self.cards_open = opened
        for card in self.query(ToolCard):
            card.set_open(opened)


def _line(block: Block) -> Text | Table:
    if isinstance(block, ErrorBlock):
        retry = "  (ctrl+r retries)" if block.retryable else ""
        return Text(f"✗ {block.text}{retry}")
    if isinstance(block, WarningBlock):
        return Text(f"⚠ {block.text}")
    if isinstance(block, SourceBlock):
        title = block.title or block.url
        return Text(f"↗ {title}", style=Style(underline=True, link=block.url or None))
    if isinstance(block, DelegationBlock):
        return delegation_table(block)
    if isinstance(block, FanOutBlock):
        return fan_out_card(block)
    return Text("")
