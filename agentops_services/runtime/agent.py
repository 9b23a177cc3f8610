"""The agent: one conversation, at most one turn at a time, and everything around a turn.

A turn runs in its own task, detached from the request that started it: a client that
disconnects does not kill the run (upstream cancelled it), and any number of clients can follow
it on the event log. The agent is busy from `agent_start` until `session_idle`; `abort()`
returns only once the aborted turn has emitted its end events, so "idle" always means idle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from opentelemetry import context as otel_context
from opentelemetry import trace

from agentops_services.api import fep
from agentops_services.api.conversation import Message
from agentops_services.api.runtime_api import (
    AgentState,
    ResourceContext,
    RunRequest,
    RunStatus,
    StatusResponse,
)
from agentops_services.runtime.budget import ContextBudget, estimate_tokens
from agentops_services.runtime.events import EventLog
from agentops_services.runtime.gates import Gates
from agentops_services.runtime.loop import AgentLoop, SteerQueue, TurnFailedError, TurnOutcome
from agentops_services.runtime.mcp_client import McpTools
from agentops_services.runtime.memory_client import MemoryIntegration
from agentops_services.runtime.pending_input import PendingInputPublisher
from agentops_services.runtime.prompt import resource_context, system_parts
from agentops_services.runtime.providers.base import genai_provider_name
from agentops_services.runtime.run_status import RunStatusPublisher
from agentops_services.runtime.runs import RunBook
from agentops_services.runtime.status_writer import StatusWriter
from agentops_services.runtime.working_memory import CheckpointFile, WorkingMemory
from agentops_services.telemetry import cap, extract_context, span, trace_id_hex

LOG = logging.getLogger(__name__)
TRACER = trace.get_tracer("agentops.runtime")
ABORT_GRACE = 5.0
"""Longest wait for an aborted turn to unwind (tools that ignore cancellation)."""


class AgentBusyError(Exception):
    """A turn is running; `run_name` is the AgentRun it executes, if any."""

    def __init__(self, run_name: str | None) -> None:
        super().__init__("agent is busy")
        self.run_name = run_name


@dataclass(frozen=True)
class TurnRequest:
    prompt: str
    context: list[ResourceContext] | None = None
    parent: otel_context.Context | None = None
    """Trace context of the caller (a `traceparent` header or the run's traceparent)."""
    run_name: str | None = None


@dataclass
class TurnResult:
    output: str = ""
    steps: int = 0
    model: str = ""
    usage: fep.Usage = field(default_factory=fep.Usage)
    tool_calls: int = 0
    trace_id: str | None = None
    error: str | None = None
    retryable: bool = False
    aborted: bool = False

    @property
    def success(self) -> bool:
        return self.error is None


@dataclass
class RunningTurn:
    request: TurnRequest
    start_seq: int
    """Sequence number before the turn's first event: follow the log from here."""
    task: asyncio.Task[TurnResult]


@dataclass
class Agent:
    """A configured agent with its conversation."""

    name: str
    loop: AgentLoop
    budget: ContextBudget
    events: EventLog
    platform_protocol: str = ""
    system_prompt: str = ""
    checkpoint: CheckpointFile | None = None
    namespace: str = "default"
    mode: str = "daemon"
    memory: WorkingMemory = field(default_factory=WorkingMemory)
    steers: SteerQueue = field(default_factory=SteerQueue)
    runs: RunBook = field(default_factory=RunBook)
    gates: Gates = field(default_factory=Gates)
    long_term: MemoryIntegration | None = None
    mcp: McpTools | None = None
    status_writer: StatusWriter | None = None
    """Writes finished AgentRuns' status and the Agent's status.pendingInput to the cluster
    (daemons with API access)."""
    current: RunningTurn | None = None
    total_steps: int = 0
    trace_id: str | None = None
    waiting: bool = False

    def __post_init__(self) -> None:
        self.loop.set_waiting = self.set_waiting

    async def start(self) -> None:
        """Restore the conversation saved before the last stop or crash (memory or not), then
        open its memory session."""
        saved = self.checkpoint.load() if self.checkpoint is not None else None
        if saved is not None and saved.messages:
            self.memory = WorkingMemory.from_checkpoint(saved)
            LOG.info("restored %d messages from %s", len(saved.messages), self.checkpoint)
        if self.long_term is not None:
            self.memory.session_id = await self.long_term.start(self.memory.session_id)
        if self.mcp is not None:
            await self.mcp.start()
        if self.status_writer is not None:
            await self.status_writer.start()
            self.runs.listen(RunStatusPublisher(self.status_writer, self.namespace))
            self.gates.listen(PendingInputPublisher(self.status_writer, self.namespace, self.name))

    @property
    def state(self) -> AgentState:
        if self.current is None:
            return "idle"
        return "waiting" if self.waiting else "busy"

    def begin(self, request: TurnRequest) -> RunningTurn:
        """Start a turn in the background (raises AgentBusyError)."""
        if self.current is not None:
            raise AgentBusyError(self.current.request.run_name)
        start_seq = self.events.last_seq
        task = asyncio.create_task(self._run(request), name=f"turn:{self.name}")
        self.current = RunningTurn(request, start_seq, task)
        return self.current

    def submit_run(self, request: RunRequest) -> RunStatus:
        """Accept an AgentRun: its status if already known, else start it (AgentBusyError)."""
        known = self.runs.get(request.run_name)
        if known is not None:
            return known
        parent = (
            extract_context({"traceparent": request.traceparent}) if request.traceparent else None
        )
        self.begin(TurnRequest(request.prompt, parent=parent, run_name=request.run_name))
        return self.runs.started(request.run_name)

    def steer(self, message: str) -> None:
        """Guidance for the running turn's next step (or the next turn's first)."""
        self.steers.put(message)

    async def abort(self) -> bool:
        """Cancel the running turn and wait until it has ended; False when idle."""
        turn = self.current
        if turn is None:
            return False
        turn.task.cancel()
        await asyncio.wait({turn.task}, timeout=ABORT_GRACE)
        return True

    async def close(self) -> None:
        """Stop: abort the running turn, keep the conversation, end every follower, end the
        memory session with the transcript (once)."""
        await self.abort()
        if self.checkpoint is not None and self.memory.messages:
            await self.checkpoint.save(self.memory)
        self.events.close()
        mcp, self.mcp = self.mcp, None
        if mcp is not None:
            await mcp.aclose()
        long_term, self.long_term = self.long_term, None
        if long_term is not None:
            await long_term.end(self.memory.messages)
            await long_term.client.aclose()
        status_writer, self.status_writer = self.status_writer, None
        if status_writer is not None:
            await status_writer.aclose()

    def status(self) -> StatusResponse:
        return StatusResponse(
            model=self.loop.model_used,
            total_steps=self.total_steps,
            busy=self.current is not None,
            messages=len(self.memory.messages),
            turns=self.memory.turns,
            memory_enabled=self.long_term is not None,
            context_budget=self.budget.snapshot(),
            trace_id=self.trace_id,
            agent=self.name,
            state=self.state,
            last_event_id=self.events.last_seq,
            run_name=self.current.request.run_name if self.current else None,
            followers=self.events.followers,
        )

    def set_waiting(self, waiting: bool) -> None:
        self.waiting = waiting
        self.events.append(
            fep.SessionStatus(session_id=self.name, status="waiting" if waiting else "busy")
        )

    def _emit(self, event: fep.FepEventBase) -> None:
        self.events.append(event)

    async def _record(self, messages: list[Message]) -> None:
        """Messages of the running turn, kept and saved as soon as they are final."""
        self.memory.append(*messages)
        if self.checkpoint is not None:
            await self.checkpoint.save(self.memory)

    def _prepare(
        self, request: TurnRequest, memory: str, trace_id: str | None
    ) -> tuple[list[Message], int]:
        """Per-turn budget figures, then trim the conversation to fit; returns the call's
        messages (history + prompt, which records the turn's trace) and how many old messages
        were dropped."""
        resources = resource_context(request.context)
        self.budget.memory_context_tokens = estimate_tokens(memory)
        self.budget.prompt_tokens = estimate_tokens(request.prompt) + estimate_tokens(resources)
        dropped = self.memory.trim(self.budget.conversation_budget())
        self.budget.conversation_tokens = self.memory.tokens
        prompt = Message.user(request.prompt, trace_id=trace_id)
        return [*self.memory.messages, prompt], dropped

    def _span_attributes(self, request: TurnRequest) -> Mapping[str, str | int]:
        primary = self.loop.models[0]
        attributes: dict[str, str | int] = {
            "agent.name": self.name,
            "agent.mode": self.mode,
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": genai_provider_name(primary.provider.type),
            "gen_ai.request.model": primary.model,
            "gen_ai.agent.name": self.name,
            "gen_ai.agent.id": f"{self.namespace}/{self.name}",
        }
        if self.memory.session_id:
            attributes["gen_ai.conversation.id"] = self.memory.session_id
        if request.run_name:
            attributes["agent.run_name"] = request.run_name
        return attributes

    async def _run(self, request: TurnRequest) -> TurnResult:
        result = TurnResult(model=self.loop.model_used)
        try:
            with span(
                TRACER,
                "agent.prompt",
                parent=request.parent,
                attributes=self._span_attributes(request),
                needs_trace_id=True,
            ) as root:
                result.trace_id = self.trace_id = trace_id_hex(root)
                root.add_event(
                    "gen_ai.user.message", {"role": "user", "content": cap(request.prompt)}
                )
                await self._turn(request, result, root)
        finally:
            if request.run_name:
                self.runs.finished(_run_status(request.run_name, result, self.runs))
            self.current = None
            self.waiting = False
            self._emit(fep.SessionIdle(session_id=self.name))
        return result

    async def _turn(self, request: TurnRequest, result: TurnResult, root: trace.Span) -> None:
        memory, unavailable = "", None
        if self.long_term is not None:
            memory, unavailable = await self.long_term.context_for(request.prompt)
        messages, dropped = self._prepare(request, memory, result.trace_id)
        system = system_parts(
            self.platform_protocol,
            self.system_prompt,
            memory,
            resource_context(request.context),
        )
        self._emit(
            fep.AgentStart(
                session_id=self.name,
                prompt=request.prompt,
                trace_id=result.trace_id,
                context_budget=self.budget.snapshot(),
                run_name=request.run_name,
            )
        )
        warnings = [f"dropped the {dropped} oldest messages to fit the budget"] if dropped else []
        if unavailable:
            warnings.append(unavailable)
        if self.mcp is not None:
            warnings += self.mcp.problems()
        if warnings:
            self._emit(fep.Warnings(warnings=warnings))
        self.memory.append(messages[-1])  # saved with the first step: no fsync before it
        try:
            outcome = await self.loop.run(messages, system, self.budget, self.steers, self._record)
        except asyncio.CancelledError:
            result.error, result.aborted = "aborted", True
            self._emit(fep.AgentError(session_id=self.name, error="aborted by the user"))
            root.set_attribute("error.type", "cancelled")
            return
        except TurnFailedError as exc:
            result.error, result.retryable = str(exc), exc.retryable
            self._emit(
                fep.AgentError(session_id=self.name, error=str(exc), retryable=exc.retryable)
            )
            root.set_status(trace.StatusCode.ERROR, str(exc))
            return
        except Exception as exc:
            LOG.exception("turn failed")
            result.error = f"internal error: {type(exc).__name__}: {exc}"
            self._emit(fep.AgentError(session_id=self.name, error=result.error))
            root.set_status(trace.StatusCode.ERROR, result.error)
            return
        self._finish(outcome, result, root)
        if self.checkpoint is not None:
            await self.checkpoint.save(self.memory)
        self._emit(
            fep.AgentFinish(
                session_id=self.name,
                total_usage=outcome.usage,
                step_count=outcome.steps,
                model=outcome.model,
            )
        )

    def _finish(self, outcome: TurnOutcome, result: TurnResult, root: trace.Span) -> None:
        self.memory.turns += 1
        self.total_steps += outcome.steps
        result.output, result.steps, result.model = outcome.output, outcome.steps, outcome.model
        result.usage, result.tool_calls = outcome.usage, outcome.tool_calls
        root.set_attributes(
            {
                "gen_ai.response.model": outcome.model,
                "gen_ai.usage.input_tokens": outcome.usage.input_tokens,
                "gen_ai.usage.output_tokens": outcome.usage.output_tokens,
                "agent.steps": outcome.steps,
            }
        )
        root.add_event(
            "gen_ai.choice",
            {
                "index": 0,
                "finish_reason": "stop",
                "role": "assistant",
                "content": cap(outcome.output),
            },
        )


def _run_status(name: str, result: TurnResult, runs: RunBook) -> RunStatus:
    started = runs.get(name)
    return RunStatus(
        run_name=name,
        phase="Succeeded" if result.success else "Failed",
        output=result.output,
        tool_calls=result.tool_calls,
        steps=result.steps,
        model=result.model,
        trace_id=result.trace_id,
        error=result.error,
        input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens,
        started_at=started.started_at if started else fep.fep_timestamp(),
    )
