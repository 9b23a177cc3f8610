"""What a chat view draws, folded from FEP events: messages made of blocks (text, reasoning, tool
cards, errors, warnings, sources, live delegation groups and their results) plus the agent's
live state (busy or waiting, phase, model, usage, context budget, open permission requests and
questions).

Pure: no I/O, no Textual. `apply` takes one event and returns a `Change` naming the messages
and blocks it added or updated and whether the live state moved, so a view re-renders only
those (a text delta touches one block); changes of several events merge with `|` for a view
that draws once per frame. As in the web console every model step gets its own assistant
message; unlike it, permission and question cards close on `permission_replied` /
`question_replied` (answered from any console) and at `session_idle` (withdrawn), and a gap in
the event stream is flagged so the view can reload the history instead of drawing a torn turn.

The transcript keeps the newest `limit` messages; older ones are dropped (and reported).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NamedTuple, TypeAlias

from agentops_services.api import fep
from agentops_services.api.conversation import (
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from agentops_services.api.runtime_api import AgentState
from agentops_tui.services.chat.fan_out import DelegationEvent, FanOutBlock

MAX_MESSAGES = 2_000
STEER_PREFIX = "[STEER] "
"""How the runtime records a steer in the conversation (runtime.loop.STEER_PREFIX)."""

Role = Literal["user", "assistant"]
ToolStatus = Literal["composing", "running", "completed", "error"]
Phase = Literal[
    "idle",
    "starting",
    "thinking",
    "reasoning",
    "writing",
    "composing",
    "executing",
    "delegating",
    "waiting",
]
"""What the agent is doing, for a one-word indicator."""


@dataclass(slots=True)
class TextBlock:
    text: str = ""
    streaming: bool = False


@dataclass(slots=True)
class ReasoningBlock:
    text: str = ""
    streaming: bool = False


@dataclass(slots=True)
class ToolBlock:
    call_id: str
    tool_name: str
    input: str = ""
    """The arguments as JSON text; partial while composing."""
    status: ToolStatus = "composing"
    output: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    """The tool's card hints (`ui`, `duration` in ms, per-tool fields)."""
    provider_executed: bool = False
    media_type: str | None = None
    data: str | None = None
    """Base64 media output."""
    permission: str | None = None
    """`asked` while a permission request for this call is open, then the reply (once,
    always, deny, timeout)."""

    @property
    def duration_ms(self) -> float | None:
        duration = self.metadata.get("duration")
        return float(duration) if isinstance(duration, int | float) else None

    def arguments(self) -> dict[str, Any] | None:
        """The arguments decoded; None while they are partial or when they are not an object."""
        try:
            decoded = json.loads(self.input)
        except ValueError:
            return None
        return decoded if isinstance(decoded, dict) else None


@dataclass(slots=True)
class ErrorBlock:
    text: str
    retryable: bool = False


@dataclass(slots=True)
class WarningBlock:
    text: str


@dataclass(slots=True)
class SourceBlock:
    source_type: str
    url: str
    title: str


@dataclass(slots=True)
class DelegationBlock:
    result: fep.DelegationResult


Block: TypeAlias = (
    TextBlock
    | ReasoningBlock
    | ToolBlock
    | ErrorBlock
    | WarningBlock
    | SourceBlock
    | DelegationBlock
    | FanOutBlock
)


@dataclass(slots=True)
class ChatMessage:
    id: int
    """Stable for the transcript's life (not an index: old messages are dropped)."""
    role: Role
    blocks: list[Block] = field(default_factory=list)
    step: int | None = None
    """The model step an assistant message shows (0-based); None when hydrated."""
    steer: bool = False
    """A user message that steered a running turn."""
    internal: bool = False
    """An assistant message of a run nobody prompted (a delegation callback)."""
    timestamp: str | None = None
    trace_id: str | None = None
    """On the user message that started a turn: the turn's trace (from `agent_start`, or
    recorded with the message in working memory), so any turn's trace can be opened."""

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.blocks if isinstance(b, TextBlock))


class BlockRef(NamedTuple):
    message: int
    """The message's id."""
    block: int
    """The block's position in the message (blocks are only ever appended)."""


@dataclass(frozen=True, slots=True)
class Change:
    """What one or more applied events changed."""

    messages: tuple[int, ...] = ()
    """Messages added, in order."""
    blocks: tuple[BlockRef, ...] = ()
    """Blocks added or updated, each once, in order."""
    removed: tuple[int, ...] = ()
    """Messages dropped (the oldest, beyond the limit)."""
    status: bool = False
    """The live state (phase, usage, budget, pending requests...) changed."""

    def __bool__(self) -> bool:
        return bool(self.messages or self.blocks or self.removed or self.status)

    def __or__(self, other: Change) -> Change:
        return Change(
            messages=self.messages + other.messages,
            blocks=tuple(dict.fromkeys(self.blocks + other.blocks)),
            removed=self.removed + other.removed,
            status=self.status or other.status,
        )


class _Changes:
    """Collects what one `apply` touches."""

    def __init__(self) -> None:
        self.messages: list[int] = []
        self.blocks: dict[BlockRef, None] = {}
        self.removed: list[int] = []
        self.status = False

    def freeze(self) -> Change:
        return Change(tuple(self.messages), tuple(self.blocks), tuple(self.removed), self.status)


Handler = Callable[["Transcript", Any], None]


@dataclass
class Transcript:
    """The chat of one agent: its messages and live state."""

    limit: int = MAX_MESSAGES
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    state: AgentState = "idle"
    phase: Phase = "idle"
    step: int | None = None
    model: str = ""
    trace_id: str | None = None
    """The latest turn's trace."""
    budget: fep.ContextBudgetSnapshot | None = None
    usage: fep.Usage = field(default_factory=fep.Usage)
    """Of the running turn so far (summed over its steps), then of the last turn."""
    permissions: dict[str, fep.PermissionAsked] = field(default_factory=dict)
    """Open permission requests by id, oldest first."""
    questions: dict[str, fep.QuestionAsked] = field(default_factory=dict)
    missed_events: int = 0
    """Events the stream could not deliver (evicted from the runtime's log): the transcript
    may be torn, reload the history."""
    _next_id: int = field(default=0, init=False, repr=False)
    _assistant: int | None = field(default=None, init=False, repr=False)
    """The message the running step writes into."""
    _internal: bool = field(default=False, init=False, repr=False)
    _blocks: dict[tuple[str, str], BlockRef] = field(default_factory=dict, init=False, repr=False)
    """The running turn's text, reasoning and tool blocks by (kind, id)."""
    _asked: dict[str, BlockRef] = field(default_factory=dict, init=False, repr=False)
    """Open permission request id -> the tool card it is about."""
    _groups: dict[str, BlockRef] = field(default_factory=dict, init=False, repr=False)
    """Delegation group id -> its fan-out card; kept across turns (children finish after the
    turn that started them)."""
    _changes: _Changes = field(default_factory=_Changes, init=False, repr=False)

    HANDLERS: ClassVar[dict[type[fep.FepEventBase], Handler]]

    @classmethod
    def from_history(
        cls, history: Iterable[Message], *, running: bool = False, limit: int = MAX_MESSAGES
    ) -> Transcript:
        """A transcript of the conversation as `GET /working-memory` gives it. With `running`
        (GET /status said busy) the running turn's messages are left out: following the events
        from its `agent_start` (ChatClient.events() without `after`) draws it whole."""
        messages = list(history)
        if running:
            starts = [
                i
                for i, m in enumerate(messages)
                if m.role == "user" and not m.text.startswith(STEER_PREFIX)
            ]
            messages = messages[: starts[-1]] if starts else messages
        transcript = cls(limit=limit)
        for message in messages:
            transcript._hydrate(message)
        for ref in transcript._blocks.values():  # calls whose result was never recorded
            tool = transcript._block_at(ref)
            if isinstance(tool, ToolBlock) and tool.status == "running":
                tool.status, tool.output = "error", "no result was recorded"
        transcript._blocks.clear()
        transcript._changes = _Changes()
        return transcript

    def _hydrate(self, message: Message) -> None:
        if message.role == "user":
            steer = message.text.startswith(STEER_PREFIX)
            text = message.text.removeprefix(STEER_PREFIX)
            user = self._add_message("user", steer=steer, trace_id=message.trace_id)
            user.blocks.append(TextBlock(text))
            self.trace_id = message.trace_id or self.trace_id
            self._assistant = None
            return
        for part in message.content:
            if isinstance(part, TextPart):
                self._add_block(TextBlock(part.text))
            elif isinstance(part, ReasoningPart):
                self._add_block(ReasoningBlock(part.text))
            elif isinstance(part, ToolCallPart):
                tool = self._tool(part.tool_call_id, part.tool_name)
                tool.input, tool.status = part.input, "running"
                tool.provider_executed = part.provider_executed
            elif isinstance(part, ToolResultPart):
                self._on_tool_result(
                    fep.ToolResult(
                        id=part.tool_call_id,
                        tool_name=part.tool_name,
                        output=part.text,
                        is_error=part.is_error,
                        metadata=part.metadata,
                    )
                )
        if message.role == "assistant":  # the next assistant message is the next step's
            self._assistant = None

    # -- applying events ------------------------------------------------------------------

    def apply(self, event: fep.FepEventBase) -> Change:
        """Fold one event in; what it changed (empty for events that draw nothing)."""
        self._changes = _Changes()
        handler = self.HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)
        return self._changes.freeze()

    def _status(self) -> None:
        self._changes.status = True

    def _touch(self, ref: BlockRef) -> None:
        self._changes.blocks[ref] = None

    def _add_message(self, role: Role, **fields: Any) -> ChatMessage:
        message = ChatMessage(self._next_id, role, **fields)
        self._next_id += 1
        self.messages[message.id] = message
        self._changes.messages.append(message.id)
        while len(self.messages) > self.limit:
            oldest = next(iter(self.messages))
            del self.messages[oldest]
            self._changes.removed.append(oldest)
            self._forget(oldest)
        return message

    def _forget(self, message_id: int) -> None:
        if self._assistant == message_id:
            self._assistant = None
        self._blocks = {k: r for k, r in self._blocks.items() if r.message != message_id}
        self._asked = {k: r for k, r in self._asked.items() if r.message != message_id}
        self._groups = {k: r for k, r in self._groups.items() if r.message != message_id}

    def _add_block(self, block: Block, key: tuple[str, str] | None = None) -> BlockRef:
        message = self._current_assistant()
        message.blocks.append(block)
        ref = BlockRef(message.id, len(message.blocks) - 1)
        if key is not None:
            self._blocks[key] = ref
        self._touch(ref)
        return ref

    def _current_assistant(self, timestamp: str | None = None) -> ChatMessage:
        if self._assistant is not None:
            return self.messages[self._assistant]
        message = self._add_message(
            "assistant", step=self.step, internal=self._internal, timestamp=timestamp
        )
        self._assistant = message.id
        return message

    def _block_at(self, ref: BlockRef) -> Block | None:
        message = self.messages.get(ref.message)
        return message.blocks[ref.block] if message is not None else None

    def _block(self, kind: str, block_id: str) -> Block | None:
        """The running turn's block of that kind and id (marked as changed), if any."""
        ref = self._blocks.get((kind, block_id))
        block = self._block_at(ref) if ref is not None else None
        if ref is not None and block is not None:
            self._touch(ref)
        return block

    def _end_streaming(self) -> None:
        """Close the open text and reasoning blocks (a step or the turn ended)."""
        for ref in self._blocks.values():
            block = self._block_at(ref)
            if isinstance(block, TextBlock | ReasoningBlock) and block.streaming:
                block.streaming = False
                self._touch(ref)

    def _set_phase(self, phase: Phase) -> None:
        if self.phase != phase:
            self.phase = phase
            self._status()

    def _on_agent_start(self, event: fep.AgentStart) -> None:
        self._blocks.clear()
        self._asked.clear()
        self._assistant = None
        self.state, self.phase, self.step = "busy", "starting", None
        self.trace_id = event.trace_id
        self.budget = event.context_budget or self.budget
        self.usage = fep.Usage()
        self._internal = bool(event.internal)
        if event.prompt is not None:
            user = self._add_message("user", timestamp=event.timestamp, trace_id=event.trace_id)
            user.blocks.append(TextBlock(event.prompt))
        self._status()

    def _on_agent_finish(self, event: fep.AgentFinish) -> None:
        self.usage, self.model = event.total_usage, event.model
        self._status()

    def _on_agent_error(self, event: fep.AgentError) -> None:
        self._add_block(ErrorBlock(event.error, event.retryable))

    def _on_step_start(self, event: fep.StepStart) -> None:
        self._end_streaming()
        self.step = event.step_number
        self._assistant = None
        self._current_assistant(event.timestamp)
        self._set_phase("thinking")
        self._status()

    def _on_step_finish(self, event: fep.StepFinish) -> None:
        self._end_streaming()
        self.usage = self.usage + event.usage
        self.budget = event.context_budget or self.budget
        if event.finish_reason == "tool-calls":
            self._set_phase("thinking")
        self._status()

    def _on_text(self, event: fep.TextStart | fep.TextDelta | fep.TextEnd) -> None:
        self._stream_block("text", event.id, event, TextBlock)
        self._set_phase("writing")

    def _on_reasoning(
        self, event: fep.ReasoningStart | fep.ReasoningDelta | fep.ReasoningEnd
    ) -> None:
        self._stream_block("reasoning", event.id, event, ReasoningBlock)
        self._set_phase("reasoning")

    def _stream_block(
        self,
        kind: str,
        block_id: str,
        event: fep.FepEventBase,
        make: type[TextBlock] | type[ReasoningBlock],
    ) -> None:
        """Start, extend (deltas coalesce into one block) or end a streamed block; a delta
        for a block never started (a stream resumed past its start) starts it."""
        block = self._block(kind, block_id)
        if not isinstance(block, TextBlock | ReasoningBlock):
            block = make(streaming=True)
            self._add_block(block, (kind, block_id))
        if isinstance(event, fep.TextDelta | fep.ReasoningDelta):
            block.text += event.delta
        block.streaming = not isinstance(event, fep.TextEnd | fep.ReasoningEnd)

    def _tool(self, call_id: str, tool_name: str) -> ToolBlock:
        block = self._block("tool", call_id)
        if isinstance(block, ToolBlock):
            return block
        tool = ToolBlock(call_id, tool_name)
        self._add_block(tool, ("tool", call_id))
        return tool

    def _on_tool_input_start(self, event: fep.ToolInputStart) -> None:
        self._tool(event.id, event.tool_name)
        self._set_phase("composing")

    def _on_tool_input_delta(self, event: fep.ToolInputDelta) -> None:
        self._tool(event.id, "").input += event.delta

    def _on_tool_input_end(self, event: fep.ToolInputEnd) -> None:
        self._tool(event.id, "").status = "running"

    def _on_tool_call(self, event: fep.ToolCall) -> None:
        tool = self._tool(event.id, event.tool_name)
        tool.tool_name, tool.input, tool.status = event.tool_name, event.input, "running"
        tool.provider_executed = event.provider_executed
        self._set_phase("executing")

    def _on_tool_result(self, event: fep.ToolResult) -> None:
        tool = self._tool(event.id, event.tool_name)
        tool.tool_name = tool.tool_name or event.tool_name
        tool.output, tool.status = event.output, "error" if event.is_error else "completed"
        tool.metadata = event.ui_metadata()
        tool.media_type, tool.data = event.media_type, event.data

    def _on_source(self, event: fep.Source) -> None:
        self._add_block(SourceBlock(event.source_type, event.url, event.title))

    def _on_warnings(self, event: fep.Warnings) -> None:
        for warning in event.warnings:
            self._add_block(WarningBlock(warning))

    def _on_permission_asked(self, event: fep.PermissionAsked) -> None:
        self.permissions[event.id] = event
        waiting = next(
            (
                ref
                for (kind, _), ref in self._blocks.items()
                if kind == "tool" and self._asks_for(ref, event)
            ),
            None,
        )
        if waiting is not None:
            self._asked[event.id] = waiting
            self._set_permission(waiting, "asked")
        self._set_phase("waiting")
        self._status()

    def _asks_for(self, ref: BlockRef, event: fep.PermissionAsked) -> bool:
        """Whether the tool card is the call the request is about (the request names the
        tool and its arguments, not the call id)."""
        block = self._block_at(ref)
        return (
            isinstance(block, ToolBlock)
            and block.status == "running"
            and block.permission is None
            and block.tool_name == event.tool_name
            and block.input == event.input
        )

    def _set_permission(self, ref: BlockRef, value: str) -> None:
        block = self._block_at(ref)
        if isinstance(block, ToolBlock):
            block.permission = value
            self._touch(ref)

    def _on_permission_replied(self, event: fep.PermissionReplied) -> None:
        self.permissions.pop(event.id, None)
        ref = self._asked.pop(event.id, None)
        if ref is not None:
            self._set_permission(ref, event.response)
        self._set_phase("executing")
        self._status()

    def _on_question_asked(self, event: fep.QuestionAsked) -> None:
        self.questions[event.id] = event
        self._set_phase("waiting")
        self._status()

    def _on_question_replied(self, event: fep.QuestionReplied) -> None:
        self.questions.pop(event.id, None)
        self._set_phase("executing")
        self._status()

    def _on_session_status(self, event: fep.SessionStatus) -> None:
        self.state = event.status
        self._status()

    def _on_session_idle(self, _: fep.SessionIdle) -> None:
        self._end_streaming()
        for request_id in list(self._asked):
            self._set_permission(self._asked.pop(request_id), "withdrawn")
        self.permissions.clear()
        self.questions.clear()
        self._blocks.clear()
        self._assistant = None
        self._internal = False
        self.state, self.phase, self.step = "idle", "idle", None
        self._status()

    def _on_events_gap(self, event: fep.EventsGap) -> None:
        self.missed_events += max(0, event.first_available - event.after - 1)
        self._status()

    def _on_delegation_result(self, event: fep.DelegationResult) -> None:
        self._add_block(DelegationBlock(event))

    def _on_delegation_progress(self, event: DelegationEvent) -> None:
        """The group's one fan-out card, started by whichever of its events comes first and
        updated in place (only that block is reported changed)."""
        ref = self._groups.get(event.group_id)
        block = self._block_at(ref) if ref is not None else None
        if ref is not None and isinstance(block, FanOutBlock):
            self._touch(ref)
        else:
            block = FanOutBlock(event.group_id)
            self._groups[event.group_id] = self._add_block(block)
        block.apply(event)
        if isinstance(event, fep.DelegationFanOut | fep.DelegationSingle) and self.state != "idle":
            self._set_phase("delegating")


Transcript.HANDLERS = {
    fep.AgentStart: Transcript._on_agent_start,
    fep.AgentFinish: Transcript._on_agent_finish,
    fep.AgentError: Transcript._on_agent_error,
    fep.StepStart: Transcript._on_step_start,
    fep.StepFinish: Transcript._on_step_finish,
    fep.TextStart: Transcript._on_text,
    fep.TextDelta: Transcript._on_text,
    fep.TextEnd: Transcript._on_text,
    fep.ReasoningStart: Transcript._on_reasoning,
    fep.ReasoningDelta: Transcript._on_reasoning,
    fep.ReasoningEnd: Transcript._on_reasoning,
    fep.ToolInputStart: Transcript._on_tool_input_start,
    fep.ToolInputDelta: Transcript._on_tool_input_delta,
    fep.ToolInputEnd: Transcript._on_tool_input_end,
    fep.ToolCall: Transcript._on_tool_call,
    fep.ToolResult: Transcript._on_tool_result,
    fep.Source: Transcript._on_source,
    fep.Warnings: Transcript._on_warnings,
    fep.PermissionAsked: Transcript._on_permission_asked,
    fep.PermissionReplied: Transcript._on_permission_replied,
    fep.QuestionAsked: Transcript._on_question_asked,
    fep.QuestionReplied: Transcript._on_question_replied,
    fep.SessionStatus: Transcript._on_session_status,
    fep.SessionIdle: Transcript._on_session_idle,
    fep.EventsGap: Transcript._on_events_gap,
    fep.DelegationResult: Transcript._on_delegation_result,
    fep.DelegationFanOut: Transcript._on_delegation_progress,
    fep.DelegationSingle: Transcript._on_delegation_progress,
    fep.DelegationRunCompleted: Transcript._on_delegation_progress,
    fep.DelegationAllCompleted: Transcript._on_delegation_progress,
    fep.DelegationTimeout: Transcript._on_delegation_progress,
}
"""Events that change what is drawn; the rest (stream_finish, unknown types) are ignored."""
