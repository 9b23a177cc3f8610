"""Where the agent waits for a person: permission to run a gated tool, answers to questions.

A request is announced as an event (`permission_asked`, `question_asked`), answered over HTTP by
any attached console, and its outcome announced too (`permission_replied`, `question_replied`),
so every console watching the agent sees the card close. A request nobody answers in time is
refused; an aborted turn withdraws its requests.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
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
from agentops_services.runtime.tooling import ToolContext, ToolOutcome, TypedTool

PERMISSION_TIMEOUT = 300.0
QUESTION_TIMEOUT = 600.0
MAX_PENDING = 64

T = TypeVar("T")


class UnknownRequestError(LookupError):
    """No pending request has this id (never asked, already answered or timed out)."""


class TooManyPendingError(RuntimeError):
    pass


@dataclass
class Pending(Generic[T]):
    """Open requests by id, each answered at most once."""

    _waiting: dict[str, asyncio.Future[T]] = field(default_factory=dict)

    def open(self) -> tuple[str, asyncio.Future[T]]:
        if len(self._waiting) >= MAX_PENDING:
            raise TooManyPendingError(f"more than {MAX_PENDING} requests wait for a reply")
        request_id = str(uuid.uuid4())
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        return request_id, future

    def close(self, request_id: str) -> None:
        self._waiting.pop(request_id, None)

    def answer(self, request_id: str, value: T) -> None:
        future = self._waiting.pop(request_id, None)
        if future is None or future.done():
            raise UnknownRequestError(request_id)
        future.set_result(value)


@dataclass(frozen=True)
class Asked(Generic[T]):
    request_id: str
    reply: T | None
    """None when nobody answered in time."""


async def _ask(
    pending: Pending[T],
    context: ToolContext,
    announce: Callable[[str], FepEventBase],
    timeout: float,
) -> Asked[T]:
    """Open a request, announce it, wait for the reply (None when nobody answered in time)."""
    request_id, future = pending.open()
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
    pending: Pending[str] = field(default_factory=Pending)

    def gated(self, tool_name: str) -> bool:
        return tool_name in self.tools and tool_name not in self.always

    async def check(self, call: ToolCallPart, context: ToolContext) -> str | None:
        asked = await _ask(
            self.pending,
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
    pending: Pending[list[list[str]]] = field(default_factory=Pending)

    async def call(self, arguments: QuestionArguments, context: ToolContext) -> ToolOutcome:
        asked = await _ask(
            self.pending,
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
