"""An open chat with one agent that outlives its screen: the transcript keeps following the
runtime's event stream while the user looks elsewhere, so a permission request, a question, a
finished turn or a failure of an agent in the background can be announced (marker,
notification, bell) and the chat reopens exactly where it is.

`ChatSessions` keeps at most `MAX_SESSIONS` open (the least recently used idle one is closed
first); each session's follower is one streaming request, nothing polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import httpx

from agentops_services.api import fep
from agentops_services.api.runtime_api import ResourceContext
from agentops_tui.services.chat.client import (
    ChatClient,
    ChatError,
    LinkNotice,
    PermissionResponse,
)
from agentops_tui.services.chat.transcript import Change, Transcript

LOG = logging.getLogger(__name__)
MAX_SESSIONS = 16
AlertKind = Literal["permission", "question", "finished", "failed"]
Opener = Callable[[str], Awaitable[httpx.AsyncClient]]
"""Agent name -> an HTTP client reaching its runtime (the backend's service access)."""


@dataclass(frozen=True)
class Alert:
    """Something in a chat that a person should know about even when not looking at it."""

    agent: str
    kind: AlertKind
    text: str


ChangeListener = Callable[[Change], None]
AlertListener = Callable[[Alert], None]
LinkStateListener = Callable[[LinkNotice], None]


class ChatSession:
    """One agent's chat: its transcript, kept current by a background follower."""

    def __init__(self, agent: str, client: ChatClient) -> None:
        self.agent = agent
        self.client = client
        self.transcript = Transcript()
        self.link: LinkNotice | None = None
        """The stream's latest connection news (None: fine so far)."""
        self.error: str | None = None
        """Why the chat could not be loaded or followed, for the view."""
        self._listeners: list[ChangeListener] = []
        self._link_listeners: list[LinkStateListener] = []
        self._alerts: AlertListener = lambda _alert: None
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        """Set once the history is loaded and the follower runs (or loading failed)."""
        client.on_link = self._linked

    def listen(self, listener: ChangeListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def listen_link(self, listener: LinkStateListener) -> Callable[[], None]:
        self._link_listeners.append(listener)
        return lambda: self._link_listeners.remove(listener)

    def start(self, alerts: AlertListener) -> None:
        self._alerts = alerts
        self._task = asyncio.create_task(self._run(), name=f"chat {self.agent}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def busy(self) -> bool:
        return self.transcript.state != "idle"

    async def _run(self) -> None:
        """Load the history, then follow every event from there on."""
        try:
            status = await self.client.status()
            history = await self.client.history()
        except ChatError as exc:
            self.error = str(exc)
            self.ready.set()
            self._announce(Change(status=True))
            return
        running = status.state != "idle"
        self.transcript = Transcript.from_history(history, running=running)
        self.transcript.model = status.model
        self.transcript.budget = status.context_budget
        # a runtime restarted since the last turn has no trace in /status; the history has
        self.transcript.trace_id = status.trace_id or self.transcript.trace_id
        self.ready.set()
        self._announce(Change(status=True))
        after = None if running else status.last_event_id
        try:
            async for item in self.client.events(after=after):
                self._apply(item.event)
        except ChatError as exc:
            self.error = str(exc)
            self._announce(Change(status=True))

    def _apply(self, event: fep.FepEventBase) -> None:
        change = self.transcript.apply(event)
        if self.transcript.missed_events:
            LOG.warning("chat %s: %d events missed", self.agent, self.transcript.missed_events)
        if change:
            self._announce(change)
        alert = _alert_for(self.agent, event)
        if alert is not None:
            self._alerts(alert)

    def _announce(self, change: Change) -> None:
        for listener in list(self._listeners):
            listener(change)

    def _linked(self, notice: LinkNotice) -> None:
        self.link = None if notice.kind == "restored" else notice
        for listener in list(self._link_listeners):
            listener(notice)

    async def send(self, prompt: str, context: Sequence[ResourceContext] = ()) -> None:
        """Start a turn; its events arrive through the follower (ChatError if refused)."""
        await self.client.start(prompt, list(context) or None)

    async def steer(self, text: str) -> None:
        await self.client.steer(text)

    async def abort(self) -> None:
        await self.client.abort()

    async def reply_permission(self, request_id: str, response: PermissionResponse) -> None:
        await self.client.reply_permission(request_id, response)

    async def reply_question(self, request_id: str, answers: Sequence[Sequence[str]]) -> None:
        await self.client.reply_question(request_id, answers)


def _alert_for(agent: str, event: fep.FepEventBase) -> Alert | None:
    if isinstance(event, fep.PermissionAsked):
        return Alert(agent, "permission", f"{agent} asks to run {event.tool_name}")
    if isinstance(event, fep.QuestionAsked):
        first = event.questions[0].question if event.questions else "a question"
        return Alert(agent, "question", f"{agent} asks: {first}")
    if isinstance(event, fep.AgentError):
        return Alert(agent, "failed", f"{agent}: {event.error}")
    if isinstance(event, fep.AgentFinish):
        return Alert(agent, "finished", f"{agent} finished its turn")
    return None


class ChatSessions:
    """The console's open chats, by agent."""

    def __init__(self, opener: Opener, alerts: AlertListener, limit: int = MAX_SESSIONS) -> None:
        self.opener = opener
        self.alerts = alerts
        self.limit = limit
        self._sessions: OrderedDict[str, ChatSession] = OrderedDict()

    def get(self, agent: str) -> ChatSession | None:
        return self._sessions.get(agent)

    async def open(self, agent: str) -> ChatSession:
        """The agent's chat, opened (and following) on first use."""
        session = self._sessions.get(agent)
        if session is not None:
            self._sessions.move_to_end(agent)
            return session
        http = await self.opener(agent)
        session = ChatSession(agent, ChatClient(http))
        session.start(self.alerts)
        self._sessions[agent] = session
        await self._trim()
        return session

    async def _trim(self) -> None:
        """Close the least recently used idle chats beyond the limit (a busy one keeps its
        follower: its end must still be announced)."""
        for agent in list(self._sessions):
            if len(self._sessions) <= self.limit:
                return
            session = self._sessions[agent]
            if not session.busy:
                del self._sessions[agent]
                await session.close()

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
