"""The runtime's client of the memory service (REST on 7437): the conversation's session, the
context injected into each turn, and what the memory tools and hooks save and search.

Every call has a 10 s timeout, carries `traceparent`, and reads at most 2 MiB. Failures raise
MemoryUnavailableError; callers turn them into a warning event, never a failed turn.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from opentelemetry import trace
from pydantic import TypeAdapter, ValidationError

from agentops_services.api.conversation import Message, ToolResultPart
from agentops_services.api.memory import (
    ContextResponse,
    ObservationCreate,
    ObservationWriteResult,
    SearchHit,
    TranscriptMessage,
)
from agentops_services.telemetry import cap, inject_headers, span

LOG = logging.getLogger(__name__)
TRACER = trace.get_tracer("agentops.runtime.memory")
MAX_TRANSCRIPT = 10_000
TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
QUERY_BYTES = 500
_HITS: TypeAdapter[list[SearchHit]] = TypeAdapter(list[SearchHit])


class MemoryUnavailableError(Exception):
    """The memory service could not be reached or refused the call."""


def format_context(context: ContextResponse) -> str:
    """The block injected into the system prompt (upstream's layout); "" when empty."""
    blocks = []
    summaries = [f"- {s.summary}" for s in context.recent_sessions if s.summary]
    if summaries:
        blocks.append("<memory:sessions>\n" + "\n".join(summaries) + "\n</memory:sessions>")
    items = [
        f"- [{o.type}] {o.title}: {o.content}" for o in context.recent_observations if o.content
    ]
    if items:
        blocks.append("<memory:context>\n" + "\n".join(items) + "\n</memory:context>")
    return "\n".join(blocks)


def _query(text: str) -> str:
    return text.encode()[:QUERY_BYTES].decode(errors="ignore")


@dataclass
class MemoryClient:
    base_url: str
    project: str
    session_id: str
    client: httpx.AsyncClient = field(
        default_factory=lambda: httpx.AsyncClient(timeout=httpx.Timeout(TIMEOUT))
    )

    async def _call(
        self,
        name: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Any:
        attributes = {
            "memory.operation": name,
            "memory.project": self.project,
            "memory.session_id": self.session_id,
            **(attributes or {}),
        }
        with span(
            TRACER, f"memory.{name}", kind=trace.SpanKind.CLIENT, attributes=attributes
        ) as current:
            url = self.base_url.rstrip("/") + path
            try:
                async with self.client.stream(
                    method, url, json=json, params=params, headers=inject_headers({})
                ) as response:
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body.extend(chunk)
                        if len(body) > MAX_RESPONSE_BYTES:
                            raise MemoryUnavailableError(f"{name}: response over 2 MiB")
            except httpx.HTTPError as exc:
                current.set_attribute("error.type", "connection_error")
                raise MemoryUnavailableError(f"{name}: {type(exc).__name__}: {exc}") from None
            if response.status_code >= 400:
                current.set_attribute("error.type", "error")
                detail = bytes(body[:300]).decode(errors="replace")
                raise MemoryUnavailableError(f"{name}: HTTP {response.status_code}: {detail}")
            return httpx.Response(200, content=bytes(body)).json() if body else None

    async def start_session(self) -> None:
        """Open (or reopen: the call is idempotent) this conversation's session."""
        await self._call(
            "init_session",
            "POST",
            "/sessions",
            json={"id": self.session_id, "project": self.project},
        )

    async def context(self, query: str | None, limit: int) -> str:
        """The context block for a turn about `query` (most relevant first)."""
        params: dict[str, Any] = {"project": self.project, "limit": limit}
        if query:
            params["query"] = _query(query)
        data = await self._call(
            "fetch_context",
            "GET",
            "/context",
            params=params,
            attributes={
                "memory.limit": limit,
                "memory.context_query": cap(query or "", 500),
                "gen_ai.operation.name": "retrieval",
            },
        )
        try:
            return format_context(ContextResponse.model_validate(data))
        except ValidationError as exc:
            raise MemoryUnavailableError(f"fetch_context: unexpected answer: {exc}") from None

    async def save(
        self,
        type_: str,
        title: str,
        content: str,
        *,
        tags: Sequence[str] | None = None,
        scope: str | None = None,
        topic_key: str | None = None,
    ) -> ObservationWriteResult:
        try:
            body = ObservationCreate(
                session_id=self.session_id,
                type=type_ or "discovery",
                title=title,
                content=content,
                project=self.project,
                tags=list(tags) if tags else None,
                scope=scope,
                topic_key=topic_key,
            )
        except ValidationError as exc:
            raise ValueError(str(exc)) from None
        data = await self._call(
            "save_observation",
            "POST",
            "/observations",
            json=body.to_wire(),
            attributes={"memory.observation_type": body.type, "memory.observation_title": title},
        )
        return ObservationWriteResult.model_validate(data)

    async def search(self, query: str, limit: int) -> list[SearchHit]:
        data = await self._call(
            "search",
            "GET",
            "/search",
            params={"q": query, "project": self.project, "limit": limit},
            attributes={"memory.search_query": cap(query, 200)},
        )
        return _HITS.validate_python(data or [])

    async def end_session(self, transcript: Sequence[TranscriptMessage]) -> None:
        body = {"messages": [m.to_wire() for m in transcript]} if transcript else {}
        await self._call(
            "end_session",
            "POST",
            f"/sessions/{self.session_id}/end",
            json=body,
            attributes={"memory.message_count": len(transcript)},
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def transcript(messages: Sequence[Message]) -> list[TranscriptMessage]:
    """The conversation as the memory service summarises it: one text per message."""
    out = []
    for message in messages[-MAX_TRANSCRIPT:]:
        text = message.text
        if not text:
            calls = [call.tool_name for call in message.tool_calls()]
            results = [p.text for p in message.content if isinstance(p, ToolResultPart)]
            text = f"Tool calls: {', '.join(calls)}" if calls else "\n".join(results)
        if text:
            out.append(TranscriptMessage(role=message.role, content=text))
    return out


@dataclass
class MemoryIntegration:
    """What an agent does with its memory: a session per conversation, context for each turn,
    a summary when the conversation ends. Nothing here ever fails a turn."""

    client: MemoryClient
    context_limit: int = 5
    inject_context: bool = True
    summarize: bool = True

    async def start(self, restored_session: str | None) -> str:
        """Open the session (the restored conversation's, if any); returns its id."""
        if restored_session:
            self.client.session_id = restored_session
        try:
            await self.client.start_session()
        except MemoryUnavailableError as exc:
            LOG.warning("memory session not opened (memory stays on): %s", exc)
        return self.client.session_id

    async def context_for(self, prompt: str) -> tuple[str, str | None]:
        """The context block for a turn, and a warning when memory could not be reached."""
        if not self.inject_context or self.context_limit == 0:
            return "", None
        try:
            return await self.client.context(prompt, self.context_limit), None
        except MemoryUnavailableError as exc:
            return "", f"memory unavailable, the turn goes on without it: {exc}"

    async def end(self, messages: Sequence[Message]) -> None:
        try:
            await self.client.end_session(transcript(messages) if self.summarize else [])
        except MemoryUnavailableError as exc:
            LOG.warning("memory session not ended: %s", exc)
