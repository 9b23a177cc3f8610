"""The `#!` comment block at the top of an edited text that says why the last save failed.

Like `kubectl edit`, a failed save reopens the user's own text with the errors written above it
as YAML comments, so nothing typed is lost and the errors sit next to the text they concern.
The block is recognised by its `#!` marker and replaced on each save (never accumulated); the
user's own `#` comments are left alone. YAML ignores it, so parsing works with or without it.
"""

from __future__ import annotations

from collections.abc import Sequence

MARK = "#!"


def strip_error_header(text: str) -> str:
    """`text` without the leading `#!` lines (a previous save's errors or the intro)."""
    lines = text.splitlines(keepends=True)
    start = 0
    while start < len(lines) and lines[start].startswith(MARK):
        start += 1
    return "".join(lines[start:])


def header_lines(messages: Sequence[str]) -> list[str]:
    """One `#!` comment line per message (a message's own line breaks become spaces, so the
    header has exactly `len(messages)` lines and line numbers below it can be computed first)."""
    return [f"{MARK} {_one_line(message)}".rstrip() + "\n" for message in messages]


def _one_line(message: str) -> str:
    return " ".join(message.splitlines())


def with_error_header(text: str, messages: Sequence[str]) -> str:
    """`text` with its previous `#!` block replaced by `messages`."""
    return "".join(header_lines(messages)) + strip_error_header(text)
