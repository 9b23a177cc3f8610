"""Chat with one agent: the transcript streaming in, tool cards, the permission and question
panels, the composer with context chips, steering and abort.

The chat itself lives in a `ChatSession` that outlives this screen (the agent keeps being
followed in the background); the screen draws the session's changes, coalesced to one redraw
per `REDRAW_INTERVAL`, so a reply streaming at hundreds of tokens a second costs a few dozen
small appends a second and never holds up a key press.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer

from agentops_tui.backends.base import Backend
from agentops_tui.screens.trace_picker import TracePicker
from agentops_tui.services.chat.client import ChatError, LinkNotice
from agentops_tui.services.chat.session import ChatSession
from agentops_tui.services.chat.transcript import Change, ErrorBlock
from agentops_tui.services.chat.turns import TracedTurn, traced_turns
from agentops_tui.services.composer import (
    CommandError,
    SlashCommand,
    parse_command,
    prompt_text,
    turn_number,
)
from agentops_tui.services.external_editor import EditorError, editor_command, run_editor
from agentops_tui.widgets.chat.chat_status import ChatStatus
from agentops_tui.widgets.chat.requests import PermissionPanel, QuestionPanel
from agentops_tui.widgets.chat.transcript_view import TranscriptView
from agentops_tui.widgets.composer import Composer
from agentops_tui.widgets.context_chips import ContextChips, ResourcePicker, resource_context
from agentops_tui.widgets.location_bar import LocationBar

if TYPE_CHECKING:
    from agentops_tui.app import AgentOpsApp

REDRAW_INTERVAL = 1 / 30
"""Seconds between redraws while events arrive, at least."""
REDRAW_SHARE = 3
"""A redraw waits this many times as long as the last one took: appending to a long
markdown block costs more as it grows, and the keyboard must keep most of the time."""


class ChatScreen(Screen[None]):
    CSS_PATH = "chat.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "abort_or_back", "Abort/Back", id="chat.abort-or-back"),
        Binding("ctrl+b", "app.pop_screen", "Background", id="chat.background"),
        Binding("ctrl+o", "open_cards", "Open cards", id="chat.open-cards"),
        Binding("ctrl+r", "retry", "Retry", id="chat.retry"),
        Binding("ctrl+g", "pick_resources", "Context", id="chat.context"),
        Binding("ctrl+t", "trace", "Trace", id="chat.trace"),
    ]

    def __init__(self, backend: Backend, session: ChatSession) -> None:
        super().__init__()
        self.backend = backend
        self.session = session
        self.last_prompt: str | None = None
        self._pending = Change()
        self._redraw_scheduled = False
        self._interval = REDRAW_INTERVAL
        self._redraw_timer: Timer | None = None
        self._unlisten: list[Callable[[], None]] = []

    def compose(self) -> ComposeResult:
        yield LocationBar(self.backend.location, ("Agents", self.session.agent, "chat"))
        yield ChatStatus()
        yield TranscriptView(id="transcript")
        with Vertical(id="bottom"):
            yield Vertical(id="requests")
            yield ContextChips(id="chips")
            yield Composer(id="composer")
        yield Footer()

    async def on_mount(self) -> None:
        self._unlisten = [
            self.session.listen(self._changed),
            self.session.listen_link(self._linked),
        ]
        self.query_one(Composer).focus()
        self.run_worker(self._load(), group="load")

    def on_unmount(self) -> None:
        """Left (ctrl+b, esc): the session goes on without this screen, and a redraw that
        was due must not run on it."""
        for unlisten in self._unlisten:
            unlisten()
        if self._redraw_timer is not None:
            self._redraw_timer.stop()

    async def _load(self) -> None:
        await self.session.ready.wait()
        await self.query_one(TranscriptView).show(self.session.transcript)
        self._pending = Change()
        await self._redraw_requests()
        self._show_status()

    # -- following the session ------------------------------------------------------------

    def _changed(self, change: Change) -> None:
        self._pending = self._pending | change
        if change.status and self._redraw_timer is not None:
            # a turn starting or ending, a request opening: drawn at the next frame, not after
            # the pause a long reply's redraws have earned
            self._redraw_timer.stop()
            self._redraw_scheduled = False
        if not self._redraw_scheduled:
            self._redraw_scheduled = True
            delay = REDRAW_INTERVAL if change.status else self._interval
            self._redraw_timer = self.set_timer(delay, self._redraw)

    def _linked(self, _notice: LinkNotice) -> None:
        self._show_status()

    async def _redraw(self) -> None:
        started = time.perf_counter()
        await self._draw_pending()
        self.call_after_refresh(self._paced, started)

    def _paced(self, started: float) -> None:
        """The next redraw waits in proportion to what this one cost, measured to the end of
        the frame it caused: the layout and painting of a growing reply, not the append, are
        most of it."""
        took = time.perf_counter() - started
        self._interval = max(REDRAW_INTERVAL, took * REDRAW_SHARE)

    async def _draw_pending(self) -> None:
        self._redraw_scheduled = False
        change, self._pending = self._pending, Change()
        view = self.query_one(TranscriptView)
        if view.transcript is not self.session.transcript:  # loaded (or reloaded) meanwhile
            await view.show(self.session.transcript)
        else:
            await view.apply(change)
        if change.status:
            await self._redraw_requests()
        self._show_status()

    def _show_status(self) -> None:
        self.query_one(ChatStatus).show(
            self.session.transcript, self.session.link, self.session.error
        )

    async def _redraw_requests(self) -> None:
        """The oldest open permission request, else the oldest open question, else nothing."""
        holder = self.query_one("#requests", Vertical)
        transcript = self.session.transcript
        permission = next(iter(transcript.permissions.values()), None)
        question = next(iter(transcript.questions.values()), None)
        shown = next(iter(holder.children), None)
        wanted = permission or question
        current = getattr(shown, "request", None)
        if current is wanted:
            return
        await holder.remove_children()
        if permission is not None:
            await holder.mount(PermissionPanel(permission))
        elif question is not None:
            await holder.mount(QuestionPanel(question))

    # -- the person's side ----------------------------------------------------------------

    async def on_composer_submitted(self, event: Composer.Submitted) -> None:
        try:
            command = parse_command(event.text)
        except CommandError as exc:
            self.notify(str(exc), severity="error")
            return
        if command is not None:
            await self._command(command)
        elif event.steer or self.session.busy:
            await self._call(self.session.steer(prompt_text(event.text)), "steered")
        else:
            await self._send(prompt_text(event.text))

    async def _send(self, prompt: str) -> None:
        self.last_prompt = prompt
        chips = self.query_one(ContextChips)
        await self._call(self.session.send(prompt, chips.take()))

    async def _command(self, command: SlashCommand) -> None:
        if command.name == "steer":
            await self._call(self.session.steer(command.text), "steered")
        elif command.name == "abort":
            await self.action_abort()
        elif command.name == "trace":
            self._trace_command(command)
        elif command.name == "ctx":
            self.action_pick_resources()
        else:
            app: AgentOpsApp = self.app  # type: ignore[assignment]
            await app.memory_command(self.session, command)

    async def _call(self, request: Awaitable[None], done: str | None = None) -> None:
        """Run a request to the runtime; its refusal is a notification, not a traceback."""
        try:
            await request
        except ChatError as exc:
            self.notify(str(exc), severity="error")
            return
        if done:
            self.notify(done)

    async def action_abort(self) -> None:
        """Really ends the turn (`DELETE /abort`), not just this screen's stream."""
        await self._call(self.session.abort(), "aborted")

    async def action_abort_or_back(self) -> None:
        if self.session.busy:
            await self.action_abort()
        else:
            self.app.pop_screen()

    def action_open_cards(self) -> None:
        view = self.query_one(TranscriptView)
        view.open_cards(not view.cards_open)

    async def action_retry(self) -> None:
        """Send the last prompt again after the turn failed."""
        last = next(reversed(self.session.transcript.messages.values()), None)
        failed = last is not None and any(isinstance(b, ErrorBlock) for b in last.blocks)
        if not failed or self.last_prompt is None or self.session.busy:
            self.notify("Nothing to retry", severity="warning")
            return
        await self._send(self.last_prompt)

    def action_pick_resources(self) -> None:
        agent = next(
            (a for a in self.backend.items("Agent") if a["metadata"]["name"] == self.session.agent),
            None,
        )
        bound = {
            b.get("name") for b in ((agent or {}).get("spec") or {}).get("resourceBindings") or []
        }
        resources = [
            r for r in self.backend.items("AgentResource") if r["metadata"]["name"] in bound
        ]
        if not resources:
            self.notify(f"{self.session.agent} has no AgentResources bound", severity="warning")
            return
        chips = self.query_one(ContextChips)
        chosen = {item.resource_name for item in chips.items}

        def picked(names: list[str] | None) -> None:
            if names is not None:
                by_name = {r["metadata"]["name"]: r for r in resources}
                chips.show([resource_context(by_name[n]) for n in names if n in by_name])
            self.query_one(Composer).focus()

        self.app.push_screen(ResourcePicker(resources, chosen), picked)

    def _traced_turns(self) -> list[TracedTurn]:
        turns = traced_turns(self.session.transcript)
        if not turns:
            self.notify("No turn has a trace yet", severity="warning")
        return turns

    def action_trace(self) -> None:
        """Pick the turn whose trace to open (the one there is opens at once)."""
        turns = self._traced_turns()
        if len(turns) == 1:
            self._open_trace(turns[0])
        elif turns:
            self.app.push_screen(TracePicker(turns), self._open_trace)

    def _trace_command(self, command: SlashCommand) -> None:
        """`/trace` the latest turn's trace, `/trace N` the N-th turn's from the newest."""
        turns = self._traced_turns()
        if not turns:
            return
        try:
            number = turn_number(command, len(turns))
        except CommandError as exc:
            self.notify(str(exc), severity="error")
            return
        self._open_trace(turns[number - 1])

    def _open_trace(self, turn: TracedTurn | None) -> None:
        if turn is not None:
            app: AgentOpsApp = self.app  # type: ignore[assignment]
            app.open_trace(turn.trace_id, live=turn.running)  # a running turn is followed

    async def on_permission_panel_replied(self, event: PermissionPanel.Replied) -> None:
        await self._call(self.session.reply_permission(event.request_id, event.response))
        self.query_one(Composer).focus()

    async def on_question_panel_answered(self, event: QuestionPanel.Answered) -> None:
        await self._call(self.session.reply_question(event.request_id, event.answers))
        self.query_one(Composer).focus()

    def on_composer_external_requested(self) -> None:
        """ctrl+e: write the prompt in $EDITOR (the terminal is handed over meanwhile)."""
        composer = self.query_one(Composer)
        try:
            with self.app.suspend():
                text = run_editor(composer.text, editor_command(os.environ), "prompt")
        except EditorError as exc:
            self.notify(str(exc), severity="error")
            return
        except SuspendNotSupported:
            self.notify("This terminal cannot be handed to an editor", severity="warning")
            return
        composer.load_text(text.strip())
        composer.focus()
