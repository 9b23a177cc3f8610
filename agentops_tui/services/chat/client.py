"""One agent's conversation over its runtime's HTTP API: start turns, follow the event stream,
answer the agent's permission requests and questions, steer, abort.

The stream is the runtime's event log (agentops_services.runtime.events): every FEP event
carries its sequence number as the SSE `id:`, and `GET /events?after=N` replays whatever is
still in the log after N. So a stream remembers the last number it passed on and, when the
connection drops (a laptop sleeps, a port-forward follows a restarted pod, a proxy times out),
reconnects with backoff from there: no event is lost and none is passed on twice. A turn runs
detached from the request that started it, so a dropped `POST /prompt/stream` loses nothing
either; it resumes on `/events` up to the turn's `session_idle`.

A restarted runtime numbers from 1 again. Before resuming, a stream asks `/status` for the
newest number: below its own means a new process, whose log does not hold what was missed. A
follower says so (LinkNotice `restarted`: reload the history) and goes on with the new
process's events from its first; a turn's stream raises TurnLostError (the turn died with the
process). A new process that got past our number before we reconnect is not noticed (that
needs a process identity the runtime does not expose); with reconnects a few seconds apart at
most, it takes a whole turn run in between.

Timeouts: every request has one. A stream may be quiet for as long as a tool runs or a person
thinks, but the runtime writes a heartbeat comment every 15 s on a quiet stream, so 45 s without
a byte (three missed heartbeats) means the link is dead even where no socket error says so (a
NAT or a forward that silently stopped); the stream then reconnects like after any drop.
Nothing is queued here: a stream hands each event on as it is read, so a slow reader slows the
socket, and the runtime's log (bounded, with `events_gap` for what fell out) is the only buffer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from httpx_sse import EventSource, ServerSentEvent
from pydantic import TypeAdapter, ValidationError

from agentops_services.api.conversation import Message
from agentops_services.api.fep import EventsGap, FepEvent, SessionIdle, parse_event
from agentops_services.api.runtime_api import (
    ExtractedObservation,
    ResourceContext,
    StatusResponse,
)

LOG = logging.getLogger(__name__)

REQUEST_TIMEOUT = httpx.Timeout(10.0)
ABORT_TIMEOUT = httpx.Timeout(10.0, read=30.0)
EXTRACT_TIMEOUT = httpx.Timeout(10.0, read=120.0)
"""`DELETE /abort` answers once the turn has unwound (the runtime waits up to 5 s for tools)."""
HEARTBEAT_SECONDS = 15.0
"""How often the runtime writes a comment on a quiet stream (runtime.events.HEARTBEAT_SECONDS)."""
MISSED_HEARTBEATS = 3
SSE_HEADERS = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
GATEWAY_ERRORS = frozenset({502, 503, 504})
"""What a port-forward, proxy or ingress answers while the runtime behind it is away."""

PermissionResponse = Literal["once", "always", "deny"]
_HISTORY = TypeAdapter(list[Message])


class ChatError(Exception):
    """The runtime refused or could not answer; the message is for people."""


class RuntimeUnreachableError(ChatError):
    """No connection to the runtime (or a gateway in front of it answered that it has none)."""


class AgentBusyError(ChatError):
    """A turn is already running: one conversation, one turn at a time."""


class RequestClosedError(ChatError):
    """The permission request or question was answered already, timed out or withdrawn."""


class TurnLostError(ChatError):
    """The runtime restarted before the stream saw the end of the turn."""


@dataclass(frozen=True, slots=True)
class StreamedEvent:
    seq: int | None
    """The event's number in the runtime's log; None for an `events_gap` notice."""
    event: FepEvent


LinkKind = Literal["lost", "restored", "restarted"]


@dataclass(frozen=True, slots=True)
class LinkNotice:
    """What happened to a stream's connection, for a status line: `lost` (with the delay
    before the next attempt), `restored`, or `restarted` (the runtime is a new process whose
    numbers began again; a view should reload the history)."""

    kind: LinkKind
    detail: str
    retry_in: float | None = None


LinkListener = Callable[[LinkNotice], None]


@dataclass(frozen=True)
class Backoff:
    """How a dropped stream is retried: after `first` seconds, doubling up to `cap`; once it
    has stayed down for `give_up_after` seconds it raises (None: never)."""

    first: float = 0.25
    cap: float = 5.0
    give_up_after: float | None = 60.0


class _Retries:
    def __init__(self, backoff: Backoff) -> None:
        self.backoff = backoff
        self.delay = backoff.first
        self.failing_since: float | None = None

    def connected(self) -> None:
        """The stream is open again: patience starts over, the delay keeps growing until an
        event arrives (a link that drops right after connecting is not hammered)."""
        self.failing_since = None

    def reset(self) -> None:
        self.delay = self.backoff.first
        self.failing_since = None

    def next_delay(self, reason: str) -> float:
        """The wait before the next attempt, or RuntimeUnreachableError once out of patience."""
        now = asyncio.get_running_loop().time()
        if self.failing_since is None:
            self.failing_since = now
        limit = self.backoff.give_up_after
        if limit is not None and now - self.failing_since >= limit:
            raise RuntimeUnreachableError(f"the stream stayed down {limit:g} s: {reason}")
        delay, self.delay = self.delay, min(self.backoff.cap, self.delay * 2)
        return delay


class StreamCursor:
    """Where a stream is in the runtime's log: the last number passed on (None before the
    first event of a stream opened at the runtime's default position)."""

    def __init__(self, last: int | None, fallback: int) -> None:
        self.last = last
        self.fallback = fallback
        """Where to resume when the stream dropped before its first event."""

    @property
    def resume_after(self) -> int:
        return self.last if self.last is not None else self.fallback

    def accept(self, sse: ServerSentEvent) -> StreamedEvent | None:
        """The frame as an event, or None when it was passed on already or is unreadable."""
        seq = int(sse.id) if sse.id.isdigit() else None
        try:
            event = parse_event(sse.data)
        except ValidationError:
            event = None
        if isinstance(event, EventsGap):
            # It has no id of its own (the decoder repeats the previous one); the log resumes
            # at first_available.
            self.last = event.first_available - 1
            return StreamedEvent(None, event)
        if seq is not None:
            if self.last is not None and seq <= self.last:
                return None
            self.last = seq
        if event is None:
            # Not its text: events carry tool output, which may hold anything.
            LOG.warning("skipped an unreadable event (id %s, %d chars)", sse.id, len(sse.data))
            return None
        return StreamedEvent(seq, event)


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


async def _problem(response: httpx.Response) -> str:
    """Why the runtime (or the API server's proxy in front of it) refused, in one line."""
    await response.aread()
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        reason = body.get("error") or body.get("message")
        if isinstance(reason, str):
            field = body.get("field")
            return f"{field}: {reason}" if isinstance(field, str) and field else reason
    text = " ".join(response.text.split())[:200]
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")


async def _refusal(
    response: httpx.Response, errors: Mapping[int, type[ChatError]] | None = None
) -> ChatError:
    problem = await _problem(response)
    if response.status_code in GATEWAY_ERRORS:
        return RuntimeUnreachableError(f"cannot reach the runtime behind {response.url}: {problem}")
    kind = (errors or {}).get(response.status_code, ChatError)
    return kind(problem)


class ChatClient:
    """One agent's runtime, over an HTTP client whose base URL reaches it (the one
    `Backend.service(ServiceRef.runtime(name))` gives, or any other)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        backoff: Backoff | None = None,
        on_link: LinkListener | None = None,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.http = http
        self.backoff = backoff or Backoff()
        self.on_link: LinkListener = on_link or (lambda _: None)
        self.stream_timeout = httpx.Timeout(10.0, read=MISSED_HEARTBEATS * heartbeat)
        """A stream that heard nothing, not even a heartbeat, for this long is dead."""

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        timeout: httpx.Timeout = REQUEST_TIMEOUT,
        errors: Mapping[int, type[ChatError]] | None = None,
    ) -> httpx.Response:
        try:
            response = await self.http.request(method, path, json=body, timeout=timeout)
        except httpx.TransportError as exc:
            raise RuntimeUnreachableError(
                f"cannot reach the runtime at {self.http.base_url}: {_describe(exc)}"
            ) from None
        if response.is_success:
            return response
        raise await _refusal(response, errors)

    async def status(self) -> StatusResponse:
        """`GET /status`: state, model, context budget, the newest event's number."""
        response = await self._call("GET", "/status")
        try:
            return StatusResponse.model_validate_json(response.content)
        except ValidationError as exc:
            raise ChatError(f"/status: unexpected answer ({exc.error_count()} fields)") from None

    async def history(self) -> list[Message]:
        """The conversation so far (`GET /working-memory`), what a chat view starts from."""
        response = await self._call("GET", "/working-memory")
        try:
            return _HISTORY.validate_json(response.content)
        except ValidationError as exc:
            raise ChatError(f"/working-memory: unexpected answer ({exc.error_count()})") from None

    async def steer(self, text: str) -> None:
        """Guidance the running turn's next step sees (or the next turn's first)."""
        await self._call("POST", "/steer", body={"message": text})

    async def abort(self) -> None:
        """End the running turn (`DELETE /abort`); returns once it has ended. Fine when idle."""
        await self._call("DELETE", "/abort", timeout=ABORT_TIMEOUT)

    async def extract(self) -> ExtractedObservation:
        """A memory drafted from the conversation so far (`POST /memory/extract`) for a person
        to review; nothing is saved. The model writes it, hence the long read timeout."""
        response = await self._call("POST", "/memory/extract", body={}, timeout=EXTRACT_TIMEOUT)
        try:
            return ExtractedObservation.model_validate_json(response.content)
        except ValidationError as exc:
            raise ChatError(f"/memory/extract: unexpected answer ({exc.error_count()})") from None

    async def reply_permission(self, request_id: str, response: PermissionResponse) -> None:
        """Answer a `permission_asked` (RequestClosedError when it is no longer open)."""
        await self._call(
            "POST",
            f"/permission/{request_id}/reply",
            body={"response": response},
            errors={404: RequestClosedError},
        )

    async def reply_question(self, request_id: str, answers: Sequence[Sequence[str]]) -> None:
        """Answer a `question_asked`: the chosen labels (or free text) per question, in order."""
        await self._call(
            "POST",
            f"/question/{request_id}/reply",
            body={"answers": [list(labels) for labels in answers]},
            errors={404: RequestClosedError},
        )

    async def _open_stream(
        self, request: httpx.Request, errors: Mapping[int, type[ChatError]] | None = None
    ) -> httpx.Response:
        """The response to `request` if it is an event stream, else the ChatError why not."""
        try:
            response = await self.http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise RuntimeUnreachableError(f"cannot reach {request.url}: {_describe(exc)}") from None
        content_type = response.headers.get("content-type", "")
        if response.status_code == httpx.codes.OK and content_type.startswith("text/event-stream"):
            return response
        try:
            if response.is_success:
                error = ChatError(f"{request.url}: not an event stream ({content_type})")
            else:
                error = await _refusal(response, errors)
        finally:
            await response.aclose()
        raise error

    async def _start_turn(
        self, prompt: str, context: Sequence[ResourceContext] | None
    ) -> httpx.Response:
        body: dict[str, Any] = {"prompt": prompt}
        if context:
            body["context"] = [item.model_dump(mode="json", exclude_none=True) for item in context]
        request = self.http.build_request(
            "POST", "/prompt/stream", json=body, headers=SSE_HEADERS, timeout=self.stream_timeout
        )
        return await self._open_stream(request, {429: AgentBusyError})

    async def start(self, prompt: str, context: Sequence[ResourceContext] | None = None) -> None:
        """Start a turn without reading it, for a view that already follows `events()` (the
        turn runs on when the request that started it goes away). AgentBusyError when one
        runs."""
        response = await self._start_turn(prompt, context)
        await response.aclose()

    async def send(
        self, prompt: str, context: Sequence[ResourceContext] | None = None
    ) -> AsyncGenerator[StreamedEvent, None]:
        """Run a turn and yield its events, `agent_start` to `session_idle`, resuming after a
        dropped connection. AgentBusyError when a turn runs already; TurnLostError when the
        runtime restarted before the turn's end was seen."""
        # The log position before the turn: where to resume if the stream drops before the
        # turn's first event has arrived.
        before = (await self.status()).last_event_id
        response = await self._start_turn(prompt, context)
        async for item in self._follow(StreamCursor(before, before), response, until_idle=True):
            yield item

    async def events(self, after: int | None = None) -> AsyncGenerator[StreamedEvent, None]:
        """Follow the agent's events for as long as the caller iterates: those after number
        `after`, or (None) from the running turn's `agent_start`, else from now. Reconnects
        after a drop; after a runtime restart it announces `restarted` and goes on with the
        new process's events from its first."""
        if after is None:
            fallback = (await self.status()).last_event_id
            url = "/events"
        else:
            fallback = after
            url = f"/events?after={after}"
        request = self.http.build_request(
            "GET", url, headers=SSE_HEADERS, timeout=self.stream_timeout
        )
        response = await self._open_stream(request)
        async for item in self._follow(StreamCursor(after, fallback), response, until_idle=False):
            yield item

    async def _resume(self, cursor: StreamCursor, until_idle: bool) -> httpx.Response:
        """Reopen the stream after the cursor; first make sure the runtime is the same process
        (its numbers only grow, so a newest number below ours means a new one)."""
        newest = (await self.status()).last_event_id
        if newest < cursor.resume_after:
            if until_idle:
                raise TurnLostError(
                    "the runtime restarted during the turn; the turn's end was not seen"
                )
            self.on_link(LinkNotice("restarted", f"the runtime restarted at event {newest}"))
            cursor.last = 0
        request = self.http.build_request(
            "GET",
            f"/events?after={cursor.resume_after}",
            headers=SSE_HEADERS,
            timeout=self.stream_timeout,
        )
        return await self._open_stream(request)

    async def _follow(
        self, cursor: StreamCursor, response: httpx.Response, *, until_idle: bool
    ) -> AsyncGenerator[StreamedEvent, None]:
        retries = _Retries(self.backoff)
        current: httpx.Response | None = response
        while True:
            try:
                if current is None:
                    current = await self._resume(cursor, until_idle)
                    retries.connected()
                    self.on_link(LinkNotice("restored", f"resumed after event {cursor.last}"))
                async for sse in EventSource(current).aiter_sse():
                    item = cursor.accept(sse)
                    if item is None:
                        continue
                    retries.reset()
                    yield item
                    if until_idle and isinstance(item.event, SessionIdle):
                        return
                reason = "the runtime ended the stream"
            except (httpx.TransportError, RuntimeUnreachableError) as exc:
                reason = _describe(exc)
            finally:
                if current is not None:
                    await current.aclose()
                    current = None
            delay = retries.next_delay(reason)
            self.on_link(LinkNotice("lost", reason, delay))
            await asyncio.sleep(delay)
