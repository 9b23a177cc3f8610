"""A supervised process's stdout and stderr on disk, bounded: the file is rotated at a size cap
and one older file is kept, so a chatty runtime that runs for months never fills the disk, and
the last lines stay at hand in memory for a crash report."""

from __future__ import annotations

import contextlib
import os
from collections import deque
from pathlib import Path
from typing import BinaryIO

from agentops_services.local.atomic import PRIVATE_FILE

DEFAULT_LIMIT = 4 * 1024 * 1024
"""Bytes per file: with the one old file, a process's log takes at most twice this."""
TAIL_LINES = 20
TAIL_LINE_CHARS = 500


def previous_of(path: Path) -> Path:
    """Where the file at `path` goes when it is rotated."""
    return path.with_name(path.name + ".1")


class ProcessLog:
    """Appends output to `path`; at `limit` bytes the file becomes `path.1` (replacing an older
    one) and a new file starts. The last `TAIL_LINES` lines are kept in memory."""

    def __init__(self, path: Path, limit: int = DEFAULT_LIMIT) -> None:
        self.path = path
        self.limit = limit
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._partial = ""
        self._out: BinaryIO | None = None
        self._size = 0

    @property
    def previous(self) -> Path:
        """The rotated file."""
        return previous_of(self.path)

    def _open(self) -> BinaryIO:
        if self._out is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
            self._out = os.fdopen(descriptor, "ab")
            self._size = self._out.tell()
        return self._out

    def write(self, chunk: bytes) -> None:
        """The process's output."""
        self._append(chunk)
        self._remember(chunk.decode(errors="replace"))

    def _append(self, chunk: bytes) -> None:
        """Write `chunk`, rotating whenever the file would pass the limit (a long chunk is
        split, at a line end where there is one)."""
        out = self._open()
        while chunk:
            room = self.limit - self._size
            if room <= 0 or (self._size and len(chunk) > room and b"\n" not in chunk[:room]):
                out = self._rotate(out)
                continue
            part = chunk[:room]
            if len(chunk) > room and (end := part.rfind(b"\n")) >= 0:
                part = part[: end + 1]
            out.write(part)
            self._size += len(part)
            chunk = chunk[len(part) :]
        out.flush()

    def _rotate(self, out: BinaryIO) -> BinaryIO:
        out.close()
        os.replace(self.path, self.previous)
        self._out = None
        return self._open()

    def _remember(self, text: str) -> None:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()[-TAIL_LINE_CHARS:]
        self._tail.extend(line[:TAIL_LINE_CHARS] for line in lines if line.strip())

    def tail(self) -> tuple[str, ...]:
        """The last lines written (an unfinished last line too)."""
        lines = list(self._tail)
        if self._partial.strip():
            lines.append(self._partial)
        return tuple(lines[-TAIL_LINES:])

    def note(self, text: str) -> None:
        """A line from the supervisor itself (a start, an exit), marked as such and not part of
        the tail (that is what the process said)."""
        self._append(f"--- agentops: {text}\n".encode())

    def close(self) -> None:
        if self._out is not None:
            with contextlib.suppress(OSError):
                self._out.close()
            self._out = None
