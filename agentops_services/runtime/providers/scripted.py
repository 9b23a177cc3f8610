"""The `scripted` provider: replays a Script (see api/script.py) as if a model answered.

It streams like a real provider (reasoning, text in small deltas, tool-input deltas, usage) and
fails like one when the script says so, so demos run offline and agents can be tested without a
paid API. It is labelled "scripted" wherever the model name shows.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from agentops_services.api.conversation import Message
from agentops_services.api.fep import Usage
from agentops_services.api.model import describe_errors
from agentops_services.api.script import Script, ScriptTurn
from agentops_services.runtime.budget import estimate_message, estimate_tokens
from agentops_services.runtime.providers import base as model


def load_script(path: Path) -> Script:
    """The script at `path` (raises ValueError naming the file and field)."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the script: {exc}") from exc
    try:
        return Script.model_validate(data or {})
    except ValidationError as exc:
        raise ValueError(f"{path}: {describe_errors(exc)}") from None


DELTAS_PER_READ = 32
MAX_CACHED_ESTIMATES = 10_000


async def _forever() -> None:
    """A stalled stream: only an abort or the loop's idle timeout ends it."""
    await asyncio.Event().wait()


async def _pause(seconds: float, delta: int) -> None:
    """The scripted pause between deltas; without one, still let other requests in now and
    then, as the network reads of a real provider do (a read brings a few dozen deltas)."""
    if seconds or delta % DELTAS_PER_READ == DELTAS_PER_READ - 1:
        await asyncio.sleep(seconds)


def chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


@dataclass
class ScriptedProvider:
    name: str
    script: Script
    used: int = 0
    type: str = "scripted"
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _sizes: dict[int, tuple[Message, int]] = field(default_factory=dict)

    async def stream(self, request: model.ModelRequest) -> AsyncIterator[model.ModelEvent]:
        latest = next((m.text for m in reversed(request.messages) if m.role == "user"), "")
        async with self._lock:
            turn, self.used = self.script.pick(self.used, latest)
        async for event in self._play(turn, request):
            yield event

    def _estimate(self, request: model.ModelRequest) -> int:
        """Input tokens as a model would count them; each message is estimated once (a long
        conversation would otherwise cost a pass over it on every call)."""
        if len(self._sizes) > MAX_CACHED_ESTIMATES:
            self._sizes.clear()
        total = sum(estimate_tokens(part.text) for part in request.system)
        for message in request.messages:
            cached = self._sizes.get(id(message))
            if cached is None or cached[0] is not message:
                cached = self._sizes[id(message)] = (message, estimate_message(message))
            total += cached[1]
        return total

    async def _play(
        self, turn: ScriptTurn, request: model.ModelRequest
    ) -> AsyncIterator[model.ModelEvent]:
        if turn.error:
            raise model.ProviderError(
                f"HTTP {turn.error.status}: {turn.error.message}",
                status=turn.error.status,
                retryable=turn.error.status in (408, 429, 500, 502, 503, 504, 529),
                retry_after=turn.error.retry_after,
            )
        prefix = uuid.uuid4().hex[:8]
        pause = turn.delay_ms / 1000
        if turn.malformed:
            yield model.ProviderWarning("skipped an unreadable stream chunk: '{not json'")
        if turn.reasoning:
            yield model.ReasoningStart(f"{prefix}-r")
            for n, piece in enumerate(chunks(turn.reasoning, turn.chunk_chars)):
                yield model.ReasoningDelta(f"{prefix}-r", piece)
                await _pause(pause, n)
            yield model.ReasoningEnd(f"{prefix}-r")
        if turn.text:
            yield model.TextStart(f"{prefix}-t")
            for n, piece in enumerate(chunks(turn.text, turn.chunk_chars)):
                yield model.TextDelta(f"{prefix}-t", piece)
                if turn.stall:
                    await _forever()
                await _pause(pause, n)
            yield model.TextEnd(f"{prefix}-t")
        for index, call in enumerate(turn.tool_calls):
            call_id = call.id or f"call_{prefix}_{index}"
            arguments = json.dumps(call.input)
            yield model.ToolInputStart(call_id, call.name)
            for piece in chunks(arguments, turn.chunk_chars):
                yield model.ToolInputDelta(call_id, piece)
            yield model.ToolInputEnd(call_id)
            yield model.ToolCallReady(call_id, call.name, arguments)
        if turn.stall:
            await _forever()
        output = estimate_tokens((turn.reasoning or "") + (turn.text or ""))
        prompt = self._estimate(request)
        usage = Usage(
            input_tokens=turn.usage.input_tokens if turn.usage else prompt,
            output_tokens=turn.usage.output_tokens if turn.usage else output,
        )
        usage.total_tokens = usage.input_tokens + usage.output_tokens
        finish = "tool-calls" if turn.tool_calls else "stop"
        yield model.StepFinish(usage, finish, f"scripted-{prefix}", f"scripted/{request.model}")
