"""The agent loop: call the model, run the tools it asks for, feed the results back, until the
model is done or a stop condition fires.

Fixed against upstream: a failed call is retried inside its step with backoff (honouring
Retry-After); when the model keeps failing, a fallback model takes over *the same step* with the
same tools, system prompt and caching; a steer reaches the next step of the running turn; the
step count is the number of steps; each completed step is handed to `on_step` (working memory
and its checkpoint) before `step_finish` is emitted, so a client that saw a step finish knows
it is durable.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from opentelemetry import trace

from agentops_services.api import fep
from agentops_services.api.conversation import (
    Message,
    ToolCallPart,
    ToolOutput,
    ToolResultPart,
)
from agentops_services.api.v1alpha1.provider import ProviderCallDefaults
from agentops_services.runtime.budget import ContextBudget
from agentops_services.runtime.providers.base import (
    ModelEvent,
    ModelRequest,
    Provider,
    ProviderError,
    StepFinish,
    SystemPart,
    genai_provider_name,
)
from agentops_services.runtime.stepstream import StepStream
from agentops_services.runtime.tooling import ToolContext, ToolOutcome, ToolRegistry, run_calls
from agentops_services.telemetry import cap, span

TRACER = trace.get_tracer("agentops.runtime")
STEER_PREFIX = "[STEER] "


@dataclass(frozen=True)
class ModelChoice:
    """A model to call: the provider, the id it knows the model by, and `provider/model`."""

    provider: Provider
    model: str
    label: str
    call_defaults: ProviderCallDefaults | None = None
    """The Provider's per-call defaults merged with the agent's overrides."""


@dataclass(frozen=True)
class LoopSettings:
    max_steps: int | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None
    max_retries: int = 2
    """Retries of a failed model call within its step (3 attempts in all)."""
    retry_delay: float = 2.0
    """First backoff delay; doubles per retry."""
    max_retry_delay: float = 60.0
    idle_timeout: float = 120.0
    """Longest silence of a model stream before the call counts as stalled (and is retried)."""
    cache_prompt: bool = False


class TurnFailedError(Exception):
    """The turn cannot go on: every attempt and fallback failed, or the error is final."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class TurnOutcome:
    output: str
    steps: int
    model: str
    usage: fep.Usage
    tool_calls: int
    stopped_by: str
    """natural, max_steps or budget."""


@dataclass
class SteerQueue:
    """Guidance waiting for the next step (bounded: the oldest is dropped when full)."""

    limit: int = 32
    _messages: list[str] = field(default_factory=list)

    def put(self, text: str) -> None:
        self._messages.append(text)
        del self._messages[: -self.limit]

    def take(self) -> list[str]:
        taken, self._messages = self._messages, []
        return taken

    def __bool__(self) -> bool:
        return bool(self._messages)


def retry_delay(settings: LoopSettings, attempt: int, retry_after: float | None) -> float:
    """Exponential backoff, or the provider's Retry-After when it is sensible."""
    backoff = settings.retry_delay * float(2**attempt)
    if retry_after is not None and retry_after > 0 and (retry_after < 60 or retry_after < backoff):
        return min(retry_after, settings.max_retry_delay)
    return min(backoff, settings.max_retry_delay)


def error_type(exc: BaseException) -> str:
    """`error.type` span attribute of a failed call."""
    if isinstance(exc, ProviderError) and exc.status:
        status = exc.status
        if status == 429:
            return "rate_limited"
        if status in (401, 403):
            return "auth_error"
        if status == 404:
            return "not_found"
        if status >= 500:
            return "server_error"
    text = str(exc).lower()
    if "stalled" in text or "timeout" in text:
        return "timeout"
    if "connection" in text:
        return "connection_error"
    return "error"


async def _with_idle_timeout(
    events: AsyncIterator[ModelEvent], idle_timeout: float
) -> AsyncIterator[ModelEvent]:
    iterator = aiter(events)
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                event = await anext(iterator)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise ProviderError(
                f"model stream stalled: nothing received for {idle_timeout:g} s", retryable=True
            ) from None
        yield event


class Backpressure(Protocol):
    """The event log's hold on the turn when the client that started it falls behind."""

    def lagging(self) -> bool: ...

    async def wait_for_room(self) -> None: ...


@dataclass
class AgentLoop:
    """Runs turns for one agent; `models` are the primary model then the fallbacks."""

    session_id: str
    models: list[ModelChoice]
    tools: ToolRegistry
    settings: LoopSettings
    emit: Callable[[fep.FepEventBase], object]
    set_waiting: Callable[[bool], None] = lambda _waiting: None
    backpressure: Backpressure | None = None
    model_used: str = ""

    def __post_init__(self) -> None:
        self.model_used = self.models[0].label

    async def run(
        self,
        messages: list[Message],
        system: list[SystemPart],
        budget: ContextBudget,
        steers: SteerQueue,
        on_step: Callable[[list[Message]], Awaitable[None]],
    ) -> TurnOutcome:
        """One turn. `messages` ends with the user's prompt; every message the turn adds
        (steers, assistant and tool messages) goes to `on_step` as soon as it is final."""
        messages = list(messages)
        active = 0
        total = fep.Usage()
        tool_calls = 0
        output = ""
        step = 0
        while True:
            for text in steers.take():
                steer = Message.user(STEER_PREFIX + text)
                messages.append(steer)
                await on_step([steer])
            self.emit(fep.StepStart(step_number=step, session_id=self.session_id))
            with span(
                TRACER,
                "agent.step",
                attributes={"step.number": step, "agent.name": self.session_id},
            ) as step_span:
                stream, active = await self._call(step, messages, system, active)
                finish = stream.finish
                assert finish is not None
                self.emit(fep.StreamFinish(usage=finish.usage, finish_reason=finish.finish_reason))
                assistant = stream.message()
                new = [assistant]
                if stream.calls:
                    new.append(await self._run_tools(stream.calls))
                step_span.set_attributes(
                    {
                        "step.finish_reason": finish.finish_reason,
                        "step.tool_call_count": len(stream.calls),
                        "gen_ai.usage.input_tokens": finish.usage.input_tokens,
                        "gen_ai.usage.output_tokens": finish.usage.output_tokens,
                        "gen_ai.usage.reasoning_tokens": finish.usage.reasoning_tokens,
                    }
                )
            messages.extend(new)
            await on_step(new)
            total = total + finish.usage
            tool_calls += len(stream.calls)
            output = assistant.text or output
            budget.actual = finish.usage
            self.emit(
                fep.StepFinish(
                    step_number=step,
                    session_id=self.session_id,
                    usage=finish.usage,
                    finish_reason=finish.finish_reason,
                    tool_call_count=len(stream.calls),
                    context_budget=budget.snapshot(),
                )
            )
            step += 1
            stop = self._stop_reason(step, stream, finish, budget, steers)
            if stop is not None:
                return TurnOutcome(output, step, self.model_used, total, tool_calls, stop)

    def _stop_reason(
        self,
        steps: int,
        stream: StepStream,
        finish: StepFinish,
        budget: ContextBudget,
        steers: SteerQueue,
    ) -> str | None:
        wants_more = bool(stream.calls) and finish.finish_reason == "tool-calls"
        if not wants_more and not steers:
            return "natural"
        limit = self.settings.max_steps
        if limit is not None and steps >= limit:
            self._warn(f"stopped after {limit} steps (maxSteps)")
            return "max_steps"
        if finish.usage.input_tokens >= budget.budget_tokens > 0:
            self._warn(
                f"stopped: the context reached {finish.usage.input_tokens} input tokens, "
                f"the budget is {budget.budget_tokens}"
            )
            return "budget"
        return None

    def _warn(self, text: str) -> None:
        self.emit(fep.Warnings(warnings=[text]))

    async def _call(
        self, step: int, messages: list[Message], system: list[SystemPart], active: int
    ) -> tuple[StepStream, int]:
        """Stream the step's answer from the active model, retrying and falling back."""
        while True:
            choice = self.models[active]
            try:
                return await self._call_with_retries(choice, messages, system), active
            except ProviderError as exc:
                if not exc.retryable:
                    raise TurnFailedError(f"{choice.label}: {exc}", retryable=False) from exc
                if active + 1 >= len(self.models):
                    prefix = "all models failed, last error: " if active else ""
                    raise TurnFailedError(f"{prefix}{choice.label}: {exc}", retryable=True) from exc
                active += 1
                fallback = self.models[active]
                trace.get_current_span().add_event(
                    "model.fallback",
                    {
                        "fallback.from": choice.label,
                        "fallback.to": fallback.label,
                        "fallback.error": cap(str(exc), 500),
                    },
                )
                self._warn(
                    f"{choice.label} failed ({exc}); step {step} falls back to {fallback.label}"
                )

    async def _call_with_retries(
        self, choice: ModelChoice, messages: list[Message], system: list[SystemPart]
    ) -> StepStream:
        attempt = 0
        while True:
            stream = StepStream(self.emit)
            try:
                await self._stream_once(choice, messages, system, stream)
                self.model_used = choice.label
                return stream
            except ProviderError as exc:
                stream.close()
                if not exc.retryable or attempt >= self.settings.max_retries:
                    raise
                delay = retry_delay(self.settings, attempt, exc.retry_after)
                attempt += 1
                self._warn(
                    f"{choice.label} failed ({exc}); retrying in {delay:.1f} s "
                    f"(attempt {attempt + 1} of {self.settings.max_retries + 1})"
                )
                await asyncio.sleep(delay)
            except BaseException:
                stream.close()
                raise

    async def _stream_once(
        self,
        choice: ModelChoice,
        messages: list[Message],
        system: list[SystemPart],
        stream: StepStream,
    ) -> None:
        request = ModelRequest(
            model=choice.model,
            system=system,
            messages=messages,
            tools=self.tools.specs(),
            temperature=self.settings.temperature,
            max_output_tokens=self.settings.max_output_tokens,
            call_defaults=choice.call_defaults,
            cache_prompt=self.settings.cache_prompt,
        )
        attributes: dict[str, str | int | float] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": genai_provider_name(choice.provider.type),
            "gen_ai.request.model": choice.model,
        }
        if request.temperature is not None:
            attributes["gen_ai.request.temperature"] = request.temperature
        if request.max_output_tokens is not None:
            attributes["gen_ai.request.max_tokens"] = request.max_output_tokens
        with span(
            TRACER, f"chat {choice.model}", kind=trace.SpanKind.CLIENT, attributes=attributes
        ) as chat:
            try:
                events = _with_idle_timeout(
                    choice.provider.stream(request), self.settings.idle_timeout
                )
                pressure = self.backpressure
                async for event in events:
                    stream.feed(event)
                    if pressure is not None and pressure.lagging():
                        await pressure.wait_for_room()
            except ProviderError as exc:
                chat.set_attribute("error.type", error_type(exc))
                raise
            finish = stream.finish
            if finish is None:
                raise ProviderError("the model stream ended before it finished", retryable=True)
            usage = finish.usage
            chat.set_attributes(
                {
                    "gen_ai.response.model": finish.model or choice.model,
                    "gen_ai.response.finish_reasons": [finish.finish_reason],
                    "gen_ai.usage.input_tokens": usage.input_tokens,
                    "gen_ai.usage.output_tokens": usage.output_tokens,
                    "agent.tool_calls": len(stream.calls),
                }
            )
            if finish.response_id:
                chat.set_attribute("gen_ai.response.id", finish.response_id)
            for name, value in (
                ("gen_ai.usage.reasoning_tokens", usage.reasoning_tokens),
                ("gen_ai.usage.cache_creation_tokens", usage.cache_creation_tokens),
                ("gen_ai.usage.cache_read_tokens", usage.cache_read_tokens),
            ):
                if value:
                    chat.set_attribute(name, value)

    async def _run_tools(self, calls: list[ToolCallPart]) -> Message:
        """Run the step's tool calls; their results, in call order, as one tool message."""

        def context_for(call: ToolCallPart) -> ToolContext:
            return ToolContext(
                call_id=call.tool_call_id,
                tool_name=call.tool_name,
                session_id=self.session_id,
                emit=self.emit,
                set_waiting=self.set_waiting,
            )

        reported: set[str] = set()

        def report(call: ToolCallPart, outcome: ToolOutcome) -> None:
            reported.add(call.tool_call_id)
            self.emit(
                fep.ToolResult(
                    id=call.tool_call_id,
                    tool_name=call.tool_name,
                    output=outcome.output,
                    is_error=outcome.is_error,
                    metadata=json.dumps(outcome.metadata) if outcome.metadata else None,
                    media_type=outcome.media_type,
                    data=outcome.data,
                )
            )

        try:
            results = await run_calls(self.tools, calls, context_for, report)
        except asyncio.CancelledError:
            # Close the cards of the calls that were still running, then let the abort go on.
            for call in calls:
                if call.tool_call_id not in reported:
                    report(call, ToolOutcome.error("aborted by the user"))
            raise
        parts = []
        for call in calls:
            outcome = results[call.tool_call_id]
            output = (
                ToolOutput(type="error", error=outcome.output)
                if outcome.is_error
                else ToolOutput(type="text", text=outcome.output)
            )
            parts.append(
                ToolResultPart(
                    tool_call_id=call.tool_call_id,
                    tool_name=call.tool_name,
                    output=output,
                    metadata=json.dumps(outcome.metadata) if outcome.metadata else None,
                )
            )
        return Message(role="tool", content=list(parts))
