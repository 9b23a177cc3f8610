"""What the chat composer needs that is not drawing: the prompt history and slash commands.

Kept free of Textual so the rules are tested on their own and reused by `agentops chat`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

HISTORY_SIZE = 200
CommandName = Literal["steer", "abort", "trace", "remember", "extract", "ctx"]
Argument = Literal["none", "text", "optional"]
COMMANDS: dict[CommandName, tuple[Argument, str]] = {
    "steer": ("text", "guide the running turn at its next step"),
    "abort": ("none", "stop the running turn"),
    "trace": ("optional", "open a turn's trace: the latest, or /trace N the N-th from the newest"),
    "remember": ("text", "save a memory for this agent"),
    "extract": ("none", "extract memories from this conversation"),
    "ctx": ("none", "pick AgentResources to send with the next prompt"),
}
"""Name -> (what text it takes, what it does)."""


class CommandError(ValueError):
    """A slash command that cannot run; the message says what would."""


@dataclass(frozen=True)
class SlashCommand:
    name: CommandName
    text: str = ""


def parse_command(line: str) -> SlashCommand | None:
    """The command a composer line holds, None for a prompt (`//text` sends `/text`)."""
    if not line.startswith("/") or line.startswith("//"):
        return None
    word, _, text = line[1:].partition(" ")
    known = {name: spec for name, spec in COMMANDS.items() if name == word}
    if not known:
        names = ", ".join(f"/{name}" for name in COMMANDS)
        raise CommandError(f"unknown command /{word}: try {names} (// sends a literal /)")
    name, (argument, _) = next(iter(known.items()))
    text = text.strip()
    if argument == "text" and not text:
        raise CommandError(f"/{name} needs text: /{name} <text>")
    if argument == "none" and text:
        raise CommandError(f"/{name} takes no text")
    return SlashCommand(name, text)


def turn_number(command: SlashCommand, turns: int) -> int:
    """Which turn `/trace [N]` means, counted from the newest (1, the default, is the latest);
    a word or a number out of range is a CommandError naming the command and the range."""
    if not command.text:
        return 1
    usage = f"/{command.name} N takes 1 (the latest)" + (f" to {turns}" if turns > 1 else "")
    if not (command.text.isascii() and command.text.isdigit()):
        raise CommandError(f"/{command.name} {command.text}: not a turn number; {usage}")
    number = int(command.text)
    if not 1 <= number <= turns:
        raise CommandError(
            f"/{command.name} {number}: this chat has {turns} traced turn"
            f"{'' if turns == 1 else 's'}; {usage}"
        )
    return number


def prompt_text(line: str) -> str:
    """What is sent for a line that is not a command."""
    return line[1:] if line.startswith("//") else line


class PromptHistory:
    """Sent prompts, newest last, walked with up/down like a shell's: the text being written
    is kept as the draft and comes back below the newest entry."""

    def __init__(self, entries: list[str] | None = None, size: int = HISTORY_SIZE) -> None:
        self._entries: deque[str] = deque(entries or (), maxlen=size)
        self._position: int | None = None
        self._draft = ""

    @property
    def entries(self) -> list[str]:
        return list(self._entries)

    def add(self, text: str) -> None:
        if text.strip() and (not self._entries or self._entries[-1] != text):
            self._entries.append(text)
        self._position = None

    def older(self, current: str) -> str | None:
        """The entry before the one shown (None at the oldest)."""
        if not self._entries:
            return None
        if self._position is None:
            self._draft = current
            self._position = len(self._entries)
        if self._position == 0:
            return None
        self._position -= 1
        return self._entries[self._position]

    def newer(self) -> str | None:
        """The entry after the one shown, the draft after the newest, None when not walking."""
        if self._position is None:
            return None
        self._position += 1
        if self._position >= len(self._entries):
            self._position = None
            return self._draft
        return self._entries[self._position]
