"""One model call's stream, as it happens: provider events become FEP events on the agent's log
and, at the same time, the step's assistant message.

Blocks are kept bracketed even when a call fails midway: `close()` ends whatever is open, so a
console never sees a text block that starts and never ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agentops_services.api import fep
from agentops_services.api.conversation import (
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
)
from agentops_services.runtime.providers import base as model


@dataclass
class StepStream:
    """Collects one call's output while emitting its events."""

    emit: Callable[[fep.FepEventBase], object]
    _order: list[tuple[str, str]] = field(default_factory=list)
    """Blocks in the order they started: ("text" | "reasoning" | "call", id)."""
    _chunks: dict[str, list[str]] = field(default_factory=dict)
    _signatures: dict[str, str] = field(default_factory=dict)
    _open: dict[str, str] = field(default_factory=dict)
    """Open block id -> kind (text, reasoning, tool-input)."""
    calls: list[ToolCallPart] = field(default_factory=list)
    finish: model.StepFinish | None = None

    def feed(self, event: model.ModelEvent) -> None:  # noqa: PLR0912 - one branch per event type
        emit = self.emit
        match event:
            case model.TextDelta(block, delta):
                self._ensure(block, "text")
                self._chunks[block].append(delta)
                emit(fep.TextDelta(id=block, delta=delta))
            case model.ToolInputDelta(block, delta):
                emit(fep.ToolInputDelta(id=block, delta=delta))
            case model.ReasoningDelta(block, delta):
                self._ensure(block, "reasoning")
                self._chunks[block].append(delta)
                emit(fep.ReasoningDelta(id=block, delta=delta))
            case model.TextStart(block):
                self._ensure(block, "text")
            case model.TextEnd(block):
                if self._open.pop(block, None):
                    emit(fep.TextEnd(id=block))
            case model.ReasoningStart(block):
                self._ensure(block, "reasoning")
            case model.ReasoningEnd(block, signature):
                if signature:
                    self._signatures[block] = signature
                if self._open.pop(block, None):
                    emit(fep.ReasoningEnd(id=block))
            case model.ToolInputStart(block, name):
                self._open[block] = "tool-input"
                emit(fep.ToolInputStart(id=block, tool_name=name))
            case model.ToolInputEnd(block):
                if self._open.pop(block, None):
                    emit(fep.ToolInputEnd(id=block))
            case model.ToolCallReady(block, name, arguments, signature):
                self._order.append(("call", str(len(self.calls))))
                self.calls.append(
                    ToolCallPart(
                        tool_call_id=block, tool_name=name, input=arguments, signature=signature
                    )
                )
                emit(fep.ToolCall(id=block, tool_name=name, input=arguments))
            case model.Citation(block, kind, url, title):
                emit(fep.Source(id=block, source_type=kind, url=url, title=title))
            case model.ProviderWarning(text):
                emit(fep.Warnings(warnings=[text]))
            case model.StepFinish():
                self.finish = event

    def _ensure(self, block: str, kind: str) -> None:
        if block in self._chunks:
            return
        self._chunks[block] = []
        self._order.append((kind, block))
        self._open[block] = kind
        self.emit(fep.TextStart(id=block) if kind == "text" else fep.ReasoningStart(id=block))

    def close(self) -> None:
        """End every open block (the call failed or was cancelled midway)."""
        ends = {"text": fep.TextEnd, "reasoning": fep.ReasoningEnd, "tool-input": fep.ToolInputEnd}
        for block, kind in list(self._open.items()):
            self.emit(ends[kind](id=block))
        self._open.clear()

    def message(self) -> Message:
        """The assistant message of the step: reasoning, text and tool calls in stream order."""
        parts: list[Part] = []
        for kind, key in self._order:
            if kind == "call":
                parts.append(self.calls[int(key)])
            elif kind == "text":
                text = "".join(self._chunks[key])
                if text:
                    parts.append(TextPart(text=text))
            else:
                parts.append(
                    ReasoningPart(
                        text="".join(self._chunks[key]), signature=self._signatures.get(key)
                    )
                )
        return Message(role="assistant", content=parts)
