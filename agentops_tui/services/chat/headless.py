"""`agentops chat`: one turn printed for a terminal or a pipe.

Text mode writes the answer as it streams and each tool call as one line (`→ name {args}`,
then `← name done (12 ms)` or `← name failed: why`); warnings and errors go to stderr, so
stdout is the conversation; reasoning is not printed. `--json` writes every FEP event as one
JSON line instead.

The agent may stop to ask. On a terminal (stdin is a TTY) the person answers on stderr/stdin,
whatever the output mode. Without one nobody can, so a permission request is denied at once and
a question answered with nothing, each said on stderr: a script never hangs on a gate, and
never approves what nobody saw. (Approving from the console while a script runs is not
possible: the script denies first.)

Exit status: 0 when the turn finished, 1 when it failed (or was aborted, or its end was lost to
a runtime restart); usage and connection errors are the caller's (2).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TextIO

from agentops_services.api import fep
from agentops_tui.services.chat.client import (
    ChatClient,
    LinkListener,
    LinkNotice,
    PermissionResponse,
    RequestClosedError,
    StreamedEvent,
    TurnLostError,
)

EXIT_FINISHED = 0
EXIT_FAILED = 1
SUMMARY_CHARS = 100
"""Longest tool argument or error text on a summary line."""
PERMISSION_ANSWERS: dict[str, PermissionResponse] = {
    "o": "once",
    "once": "once",
    "a": "always",
    "always": "always",
}
"""Typed answers that allow; anything else (an empty line too) denies."""

Ask = Callable[[str], Awaitable[str | None]]
"""Shows a prompt to the person and returns their line; None when nobody can answer."""


def one_line(text: str, limit: int = SUMMARY_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def terminal_asker(stdin: TextIO, stderr: TextIO) -> Ask:
    """Asks on stderr and reads a line from stdin (in a thread: the loop keeps running)."""

    async def ask(prompt: str) -> str | None:
        stderr.write(prompt)
        stderr.flush()
        line = await asyncio.to_thread(stdin.readline)
        return line.strip()

    return ask


async def nobody(_: str) -> None:
    """The asker when stdin is not a terminal."""
    return None


class TextPrinter:
    """The turn as text: the answer streamed, tool calls as summary lines."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self.mid_line = False
        """The last thing written to `out` did not end its line."""

    def _line(self, text: str, stream: TextIO | None = None) -> None:
        if self.mid_line:
            self.out.write("\n")
            self.mid_line = False
        (stream or self.out).write(text + "\n")

    def show(self, event: fep.FepEventBase) -> None:
        if isinstance(event, fep.TextDelta):
            self.out.write(event.delta)
            self.mid_line = not event.delta.endswith("\n")
        elif isinstance(event, fep.ToolCall):
            self._line(f"→ {event.tool_name} {one_line(event.input)}")
        elif isinstance(event, fep.ToolResult):
            duration = event.ui_metadata().get("duration")
            took = f" ({duration} ms)" if isinstance(duration, int | float) else ""
            outcome = f"failed: {one_line(event.output)}" if event.is_error else f"done{took}"
            self._line(f"← {event.tool_name} {outcome}")
        elif isinstance(event, fep.Warnings):
            for warning in event.warnings:
                self._line(f"warning: {warning}", self.err)
        elif isinstance(event, fep.AgentError):
            self._line(f"error: {event.error}", self.err)
        elif isinstance(event, fep.SessionIdle) and self.mid_line:
            self.out.write("\n")
            self.mid_line = False
        self.out.flush()


class JsonPrinter:
    """The turn as JSON lines, one FEP event each."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def show(self, event: fep.FepEventBase) -> None:
        self.out.write(event.to_json() + "\n")
        self.out.flush()


async def answer_permission(
    client: ChatClient, event: fep.PermissionAsked, ask: Ask, err: TextIO
) -> None:
    line = await ask(
        f"The agent asks to run {event.tool_name} {one_line(event.input)}\n"
        "Allow it? [o]nce, [a]lways, anything else denies: "
    )
    response: PermissionResponse = PERMISSION_ANSWERS.get((line or "").lower(), "deny")
    if line is None:
        err.write(
            f"denied {event.tool_name}: no terminal to ask on (run agentops chat in a "
            "terminal to approve tools)\n"
        )
    try:
        await client.reply_permission(event.id, response)
    except RequestClosedError:
        err.write(f"the request to run {event.tool_name} was already answered or withdrawn\n")


def _chosen(question: fep.Question, line: str) -> list[str]:
    """Option numbers ("1,3") as their labels; anything else is a free-text answer."""
    options = question.options or []
    picks = [part.strip() for part in line.split(",")]
    if options and picks and all(p.isdigit() and 1 <= int(p) <= len(options) for p in picks):
        return [options[int(p) - 1].label for p in picks]
    return [line] if line else []


async def answer_questions(
    client: ChatClient, event: fep.QuestionAsked, ask: Ask, err: TextIO
) -> None:
    answers: list[list[str]] = []
    for question in event.questions:
        choices = "".join(
            f"  {n}. {o.label}" + (f": {o.description}" if o.description else "") + "\n"
            for n, o in enumerate(question.options or [], start=1)
        )
        header = f"[{question.header}] " if question.header else ""
        hint = "number(s), comma-separated, or text" if question.options else "text"
        line = await ask(f"{header}{question.question}\n{choices}Answer ({hint}): ")
        if line is None:
            err.write(f"left unanswered (no terminal to ask on): {question.question}\n")
        answers.append(_chosen(question, line or ""))
    try:
        await client.reply_question(event.id, answers)
    except RequestClosedError:
        err.write("the question was already answered or withdrawn\n")


async def run_turn(
    client: ChatClient,
    prompt: str,
    *,
    as_json: bool,
    ask: Ask,
    out: TextIO,
    err: TextIO,
) -> int:
    """Send the prompt, print the turn, answer what the agent asks; the exit status.
    ChatError (unreachable, busy, refused) is left to the caller."""
    printer = JsonPrinter(out) if as_json else TextPrinter(out, err)
    finished = False
    try:
        async for item in client.send(prompt):
            printer.show(item.event)
            finished = finished or isinstance(item.event, fep.AgentFinish)
            await _answer(client, item, ask, err)
    except TurnLostError as exc:
        err.write(f"agentops chat: {exc}\n")
        return EXIT_FAILED
    return EXIT_FINISHED if finished else EXIT_FAILED


async def _answer(client: ChatClient, item: StreamedEvent, ask: Ask, err: TextIO) -> None:
    if isinstance(item.event, fep.PermissionAsked):
        await answer_permission(client, item.event, ask, err)
    elif isinstance(item.event, fep.QuestionAsked):
        await answer_questions(client, item.event, ask, err)


def link_reporter(err: TextIO) -> LinkListener:
    """Says on stderr when the stream drops and comes back (the turn goes on meanwhile)."""

    def report(notice: LinkNotice) -> None:
        if notice.kind == "lost":
            text = f"connection lost ({notice.detail}); retrying in {notice.retry_in:g} s"
        elif notice.kind == "restored":
            text = f"reconnected ({notice.detail})"
        else:
            text = notice.detail
        err.write(f"agentops chat: {text}\n")
        err.flush()

    return report
