"""The conversation, windowed: only the newest messages are mounted and older ones are mounted
a page at a time when the view is scrolled to its top, so a session of thousands of messages
opens at once and scrolls like a short one."""

from __future__ import annotations

from textual.containers import VerticalScroll

from agentops_tui.services.chat.transcript import Change, Transcript
from agentops_tui.widgets.chat.message_view import MessageView

WINDOW = 40
"""Messages mounted when a chat opens, and per page of older ones."""


class TranscriptView(VerticalScroll):
    DEFAULT_CSS = """
    TranscriptView { height: 1fr; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.transcript = Transcript()
        self.cards_open = False
        self._views: dict[int, MessageView] = {}

    @property
    def mounted_ids(self) -> list[int]:
        return list(self._views)

    async def show(self, transcript: Transcript) -> None:
        """Start over from a transcript: its newest WINDOW messages."""
        self.transcript = transcript
        await self.remove_children()
        self._views.clear()
        newest = list(transcript.messages.values())[-WINDOW:]
        views = [MessageView(m, cards_open=self.cards_open) for m in newest]
        self._views = {view.message.id: view for view in views}
        await self.mount_all(views)
        self.scroll_end(animate=False)
        self.anchor()

    async def apply(self, change: Change) -> None:
        """Draw what changed: dropped messages go, new ones are appended, changed blocks of
        mounted messages are updated (an unmounted older message is drawn when loaded)."""
        for message_id in change.removed:
            view = self._views.pop(message_id, None)
            if view is not None:
                await view.remove()
        new = [
            MessageView(self.transcript.messages[m], cards_open=self.cards_open)
            for m in change.messages
            if m in self.transcript.messages and m not in self._views
        ]
        if new:
            self._views.update((view.message.id, view) for view in new)
            await self.mount_all(new)
        fresh = set(change.messages)
        for ref in change.blocks:
            view = self._views.get(ref.message)
            if view is not None and ref.message not in fresh and view.is_mounted:
                await view.update_block(ref.block)

    async def load_older(self) -> int:
        """Mount the page of messages before the oldest mounted one; how many."""
        ids = list(self.transcript.messages)
        if not self._views:
            return 0
        first = ids.index(next(iter(self._views)))
        older = [self.transcript.messages[m] for m in ids[max(0, first - WINDOW) : first]]
        if not older:
            return 0
        views = [MessageView(m, cards_open=self.cards_open) for m in older]
        before = self.virtual_size.height
        await self.mount_all(views, before=0)
        self._views = {**{v.message.id: v for v in views}, **self._views}
        self.refresh(layout=True)
        self.call_after_refresh(self._keep_place, before)
        return len(views)

    def _keep_place(self, height_before: int) -> None:
        """Stay on the message that was at the top before older ones were put above it."""
        self.scroll_to(y=self.virtual_size.height - height_before, animate=False)

    def open_cards(self, opened: bool) -> None:
        self.cards_open = opened
        for view in self._views.values():
            view.open_cards(opened)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 < old:
            self.run_worker(self.load_older(), group="older", exclusive=True)
