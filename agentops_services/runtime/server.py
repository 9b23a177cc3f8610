"""The runtime's HTTP API (port 4096): prompts, the FEP event stream, steering, abort, gate
replies, status, working memory and asynchronous AgentRuns.

Every error is JSON (`{"error", "field"}` with `application/json`, upstream sent text/plain).
Streams are views of the agent's event log: `POST /prompt/stream` follows it from the turn's
first event to its `session_idle`; `GET /events` follows it for as long as the client stays.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from agentops_services import __version__
from agentops_services.api.runtime_api import (
    ExtractedObservation,
    ExtractRequest,
    Health,
    Ok,
    PermissionReply,
    PromptRequest,
    PromptResponse,
    QuestionReply,
    RunRequest,
    RunStatus,
    StatusResponse,
    SteerRequest,
)
from agentops_services.httpapi.endpoints import ApiError, Call, Endpoint
from agentops_services.httpapi.openapi import openapi_document
from agentops_services.runtime.agent import Agent, AgentBusyError, TurnRequest
from agentops_services.runtime.events import HEARTBEAT_SECONDS
from agentops_services.runtime.extract import extract
from agentops_services.runtime.gates import UnknownRequestError
from agentops_services.runtime.providers.base import ProviderError
from agentops_services.telemetry import extract_context

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
}


class EventsQuery(BaseModel):
    after: int | None = Field(None, ge=0)
    """Send the events after this sequence number (default: from the running turn's start,
    or from now when idle)."""


def _busy(exc: AgentBusyError) -> ApiError:
    if exc.run_name:
        return ApiError(429, f"agent is busy with AgentRun {exc.run_name}")
    return ApiError(429, "agent is busy")


class RuntimeApi:
    """Handlers over one agent."""

    def __init__(self, agent: Agent, heartbeat: float = HEARTBEAT_SECONDS) -> None:
        self.agent = agent
        self.heartbeat = heartbeat

    def _turn_request(self, call: Call) -> TurnRequest:
        body: PromptRequest = call.body
        # With a recording server span the turn's span becomes its child through the current
        # context; without one the caller's traceparent is still honoured.
        parent = None
        if not call.span.get_span_context().is_valid and "traceparent" in call.request.headers:
            parent = extract_context(call.request.headers)
        return TurnRequest(body.prompt, body.context, parent=parent)

    async def prompt(self, call: Call) -> PromptResponse:
        try:
            turn = self.agent.begin(self._turn_request(call))
        except AgentBusyError as exc:
            raise _busy(exc) from None
        # The run outlives a client that gives up; shield it from this request's cancellation.
        result = await asyncio.shield(turn.task)
        if result.aborted:
            raise ApiError(409, "the run was aborted")
        if result.error is not None:
            raise ApiError(502, result.error)
        return PromptResponse(
            output=result.output,
            model=result.model,
            steps=result.steps,
            usage=result.usage,
            trace_id=result.trace_id,
        )

    async def prompt_stream(self, call: Call) -> Response:
        try:
            turn = self.agent.begin(self._turn_request(call))
        except AgentBusyError as exc:
            raise _busy(exc) from None
        stream = self.agent.events.follow(
            turn.start_seq, stop_at="session_idle", heartbeat=self.heartbeat, pinned=True
        )
        return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)

    async def events(self, call: Call) -> Response:
        after = call.query.after
        if after is None:
            after = _last_event_id(call.request)
        if after is None:
            current = self.agent.current
            after = current.start_seq if current else self.agent.events.last_seq
        stream = self.agent.events.follow(after, heartbeat=self.heartbeat)
        return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)

    async def steer(self, call: Call) -> Ok:
        body: SteerRequest = call.body
        self.agent.steer(body.message)
        return Ok()

    async def abort(self, _: Call) -> Ok:
        await self.agent.abort()
        return Ok()

    async def permission_reply(self, call: Call) -> Ok:
        body: PermissionReply = call.body
        try:
            self.agent.gates.reply_permission(call.path["id"], body.response)
        except UnknownRequestError:
            raise ApiError(404, "no permission request with this id is waiting", "id") from None
        return Ok()

    async def question_reply(self, call: Call) -> Ok:
        body: QuestionReply = call.body
        try:
            self.agent.gates.reply_question(call.path["id"], body.answers)
        except UnknownRequestError:
            raise ApiError(404, "no question with this id is waiting", "id") from None
        return Ok()

    async def healthz(self, _: Call) -> Health:
        return Health(status="ok")

    async def status(self, _: Call) -> StatusResponse:
        return self.agent.status()

    async def working_memory(self, _: Call) -> Response:
        return Response(self.agent.memory.wire_json(), media_type="application/json")

    async def extract_memory(self, call: Call) -> ExtractedObservation:
        body: ExtractRequest = call.body or ExtractRequest()
        messages = self.agent.memory.messages
        if not messages:
            raise ApiError(422, "the conversation is empty: nothing to extract")
        try:
            return await extract(self.agent.loop.models[0], messages, body)
        except ProviderError as exc:
            raise ApiError(502, f"the model failed: {exc}") from None

    async def submit_run(self, call: Call) -> RunStatus:
        body: RunRequest = call.body
        try:
            return self.agent.submit_run(body)
        except AgentBusyError as exc:
            busy = f"AgentRun {exc.run_name}" if exc.run_name else "an interactive prompt"
            raise ApiError(409, f"agent is busy with {busy}", "runName") from None

    async def get_run(self, call: Call) -> RunStatus:
        status = self.agent.runs.get(call.path["name"])
        if status is None:
            raise ApiError(404, "no AgentRun with this name ran here", "name")
        return status

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("POST", "/prompt", self.prompt, "Run a turn and answer with its output",
                     "POST /prompt", body=PromptRequest, response=PromptResponse,
                     errors=(409, 422, 429, 502)),
            Endpoint("POST", "/prompt/stream", self.prompt_stream,
                     "Run a turn, streaming its FEP events (SSE) until session_idle",
                     "POST /prompt/stream", body=PromptRequest, errors=(422, 429),
                     text_media_type="text/event-stream"),
            Endpoint("GET", "/events", self.events,
                     "Follow the agent's FEP events (SSE); resume with after or Last-Event-ID",
                     query=EventsQuery, errors=(422,), text_media_type="text/event-stream"),
            Endpoint("POST", "/steer", self.steer, "Guide the running turn's next step",
                     "POST /steer", body=SteerRequest, response=Ok, errors=(422,)),
            Endpoint("DELETE", "/abort", self.abort,
                     "Abort the running turn; returns once it has ended", "DELETE /abort",
                     response=Ok),
            Endpoint("POST", "/permission/{id}/reply", self.permission_reply,
                     "Answer a permission request", "POST /permission/reply",
                     body=PermissionReply, response=Ok, errors=(404, 422)),
            Endpoint("POST", "/question/{id}/reply", self.question_reply,
                     "Answer the agent's questions", "POST /question/reply",
                     body=QuestionReply, response=Ok, errors=(404, 422)),
            Endpoint("GET", "/healthz", self.healthz, "Liveness", response=Health),
            Endpoint("GET", "/readyz", self.healthz, "Readiness", response=Health),
            Endpoint("GET", "/status", self.status, "The agent's state", response=StatusResponse),
            Endpoint("GET", "/working-memory", self.working_memory,
                     "The conversation, as the console hydrates a chat from it",
                     response=list[dict[str, Any]]),
            Endpoint("POST", "/memory/extract", self.extract_memory,
                     "Draft one memory from the conversation (nothing is saved)",
                     "POST /memory/extract", body=ExtractRequest, response=ExtractedObservation,
                     errors=(422, 502), optional_body=True),
            Endpoint("POST", "/runs", self.submit_run,
                     "Execute an AgentRun asynchronously (idempotent by runName)", "POST /runs",
                     body=RunRequest, response=RunStatus, status=202, errors=(409, 422)),
            Endpoint("GET", "/runs/{name}", self.get_run, "An AgentRun's status",
                     response=RunStatus, errors=(404,)),
        ]  # fmt: skip


def _last_event_id(request: Request) -> int | None:
    value = request.headers.get("last-event-id", "")
    return int(value) if value.isdigit() else None


def create_app(
    agent: Agent,
    heartbeat: float = HEARTBEAT_SECONDS,
    on_close: Callable[[], Awaitable[None]] | None = None,
) -> Starlette:
    """The runtime's ASGI app; closing it aborts the running turn, ends every stream, then
    runs `on_close` (closing the provider clients)."""
    api = RuntimeApi(agent, heartbeat)
    endpoints = api.endpoints()
    document = openapi_document(
        "AgentOps agent runtime",
        __version__,
        endpoints,
        "One agent's conversation: prompts, the FEP event stream, steering and AgentRuns.",
    )

    async def openapi(_: Request) -> JSONResponse:
        return JSONResponse(document)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await agent.start()
        try:
            yield
        finally:
            await agent.close()
            if on_close is not None:
                await on_close()

    routes: list[BaseRoute] = [e.route() for e in endpoints]
    routes.append(Route("/openapi.json", openapi, methods=["GET"]))
    return Starlette(routes=routes, lifespan=lifespan)
