"""Where the agent waits for a person: permission to run a gated tool, answers to questions.

A request is announced as an event (`permission_asked`, `question_asked`), answered over HTTP by
any attached console, and its outcome announced too (`permission_replied`, `question_replied`),
so every console watching the agent sees the card close. A request nobody answers in time is
refused; an aborted turn withdraws its requests. Whoever listens to the Gates (the Agent's
status.pendingInput) learns of the oldest request still waiting whenever one opens or closes.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, Field

from agentops_services.api.conversation import ToolCallPart
from agentops_services.api.fep import (
    FepEventBase,
    PermissionAsked,
    PermissionReplied,
    Question,
    QuestionAsked,
    QuestionReplied,
)
from agentops_services.api.v1alpha1.agent import (
    PENDING_SUMMARY_CHARS,
    PendingInput,
    PendingInputKind,
)
from agentops_services.runtime.tooling import ToolContext, ToolOutcome, TypedTool

PERMISSION_TIMEOUT = 300.0
QUESTION_TIMEOUT = 600.0
MAX_PENDING = 64

T = TypeVar("T")


class UnknownRequestError(LookupError):
    """No pending request has this id (never asked, already answered or timed out)."""


class TooManyPendingError(RuntimeError):
    pass


def summary(text: str) -> str:
    """`text` cut to what status.pendingInput.summary holds."""
    if len(text) <= PENDING_SUMMARY_CHARS:
        return text
    return text[: PENDING_SUMMARY_CHARS - 1] + "…"


@dataclass
class Pending(Generic[T]):
    """Open requests by id, each answered at most once, with what each is about (in the order
    they were opened) for those who show that the agent waits."""

    kind: PendingInputKind
    _waiting: dict[str, tuple[asyncio.Future[T], PendingInput]] = field(default_factory=dict)
    on_change: Callable[[], None] = lambda: None
    """Called after a request opened or closed."""

    def open(self, about: str) -> tuple[str, asyncio.Future[T]]:
        """A new request; `about` is its summary (a tool name or a question, no arguments)."""
        if len(self._waiting) >= MAX_PENDING:
            raise TooManyPendingError(f"more than {MAX_PENDING} requests wait for a reply")
        request_id = str(uuid.uuid4())
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = (
            future,
            PendingInput(
                kind=self.kind,
                since=datetime.now(UTC),
                request_id=request_id,
                summary=summary(about),
            ),
        )
        self.on_change()
        return request_id, future

    def close(self, request_id: str) -> None:
        if self._waiting.pop(request_id, None) is not None:
            self.on_change()

    def answer(self, request_id: str, value: T) -> None:
        future, _ = self._waiting.get(request_id, (None, None))
        if future is None or future.done():  # done: timed out or aborted, not yet closed
            raise UnknownRequestError(request_id)
        future.set_result(value)
        self.close(request_id)

    def oldest(self) -> PendingInput | None:
        return next((about for _, about in self._waiting.values()), None)


@dataclass(frozen=True)
class Asked(Generic[T]):
    request_id: str
    reply: T | None
    """None when nobody answered in time."""


async def _ask(
    pending: Pending[T],
    about: str,
    context: ToolContext,
    announce: Callable[[str], FepEventBase],
    timeout: float,
) -> Asked[T]:
    """Open a request, announce it, wait for the reply (None when nobody answered in time)."""
    request_id, future = pending.open(about)
    context.emit(announce(request_id))
    context.set_waiting(True)
    try:
        async with asyncio.timeout(timeout):
            return Asked(request_id, await future)
    except TimeoutError:
        return Asked(request_id, None)
    finally:
        pending.close(request_id)
        context.set_waiting(False)


@dataclass
class PermissionGate:
    """Asks before the tools named in `permissionTools` run."""

    tools: frozenset[str]
    timeout: float = PERMISSION_TIMEOUT
    always: set[str] = field(default_factory=set)
    """Tools the person allowed for the rest of the process's life."""
    pending: Pending[str] = field(default_factory=lambda: Pending("permission"))

    def gated(self, tool_name: str) -> bool:
        return tool_name in self.tools and tool_name not in self.always

    async def check(self, call: ToolCallPart, context: ToolContext) -> str | None:
        asked = await _ask(
            self.pending,
            call.tool_name,
            context,
            lambda request_id: PermissionAsked(
                id=request_id,
                session_id=context.session_id,
                tool_name=call.tool_name,
                input=call.input,
                description=f"Tool {call.tool_name} wants to execute",
            ),
            self.timeout,
        )
        request_id, response = asked.request_id, asked.reply
        context.emit(
            PermissionReplied(
                id=request_id, session_id=context.session_id, response=response or "timeout"
            )
        )
        if response == "always":
            self.always.add(call.tool_name)
        if response in ("once", "always"):
            return None
        if response is None:
            return f"Permission not granted: nobody answered within {self.timeout:g} s"
        return "Permission denied by user"

    def reply(self, request_id: str, response: str) -> None:
        self.pending.answer(request_id, response)


class QuestionArguments(BaseModel):
    questions: list[Question] = Field(min_length=1, max_length=16)
    """The questions, each with optional answer options."""


@dataclass
class QuestionTool(TypedTool[QuestionArguments]):
    """The `question` tool: the model asks the person and waits for the answers."""

    name: ClassVar[str] = "question"
    description: ClassVar[str] = (
        "Ask the user one or more questions and wait for the answers. Offer options when the "
        "choices are known; set multiple to allow several. Use it when you cannot proceed "
        "without a decision only the user can make."
    )
    arguments: ClassVar[type[BaseModel]] = QuestionArguments
    ui: ClassVar[str | None] = "question"
    timeout: float = QUESTION_TIMEOUT
    pending: Pending[list[list[str]]] = field(default_factory=lambda: Pending("question"))

    async def call(self, arguments: QuestionArguments, context: ToolContext) -> ToolOutcome:
        asked = await _ask(
            self.pending,
            arguments.questions[0].question,
            context,
            lambda request_id: QuestionAsked(
                id=request_id, session_id=context.session_id, questions=arguments.questions
            ),
            self.timeout,
        )
        request_id, answers = asked.request_id, asked.reply
        context.emit(QuestionReplied(id=request_id, session_id=context.session_id, answers=answers))
        if answers is None:
            return ToolOutcome.error(f"User did not respond within {self.timeout:g} s")
        return ToolOutcome(json.dumps(answers, indent=2))

    def reply(self, request_id: str, answers: list[list[str]]) -> None:
        self.pending.answer(request_id, answers)


@dataclass
class Gates:
    """The agent's permission gate and question tool, for the reply endpoints."""

    permission: PermissionGate | None = None
    question: QuestionTool | None = None

    def reply_permission(self, request_id: str, response: str) -> None:
        if self.permission is None:
            raise UnknownRequestError(request_id)
        self.permission.reply(request_id, response)

    def reply_question(self, request_id: str, answers: list[list[str]]) -> None:
        if self.question is None:
            raise UnknownRequestError(request_id)
        self.question.reply(request_id, answers)

    def _pendings(self) -> list[Pending[str] | Pending[list[list[str]]]]:
        return [gate.pending for gate in (self.permission, self.question) if gate is not None]

    def oldest(self) -> PendingInput | None:
        """The request waiting longest for a person, permission or question."""
        heads = [head for p in self._pendings() if (head := p.oldest()) is not None]
        return min(heads, key=lambda head: head.since, default=None)

    def listen(self, listener: Callable[[PendingInput | None], None]) -> None:
        """Tell `listener` the oldest waiting request now (None: a runtime starts with nothing
        waiting, which clears what a crashed predecessor left) and whenever one opens or
        closes. One listener: it replaces the previous one."""
        for pending in self._pendings():
            pending.on_change = lambda: listener(self.oldest())
        listener(self.oldest())
