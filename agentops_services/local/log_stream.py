"""A runtime's log followed over the platform API, as the API server streams a pod's log.

On the embedded platform a runtime's stdout and stderr go to a rotating file (see
`process_log.ProcessLog`), so a console on the same machine could read it, but only the
platform knows which runtimes exist and when a run is done; serving the file here lets the
console's `l` follow it exactly as it follows a pod's log in a cluster.

`GET /api/v1/logs/{kind}/{name}?since_line=N&file=F` (kind `agents` or `agentruns`) answers
server-sent events: `event: line` with `id:` the line's number in its file and `data:`
`{"line", "file", "text"}`, first the file's last `BACKLOG_LINES` lines (a resume: every line
after line N of file F, F being the file or the one rotated out, else the file from its
start), then every line as it is written.
The file is polled every `POLL_SECONDS` (a stat and a read of what was appended: cheap); a
file replaced by rotation is read to its end through the descriptor still open on it, then
the new one is followed from its first line (the rotated file too when it went by unread:
the writer rotated twice between two polls), and so is a file that shrank. Comment heartbeats
keep proxies and idle timeouts from taking a quiet runtime for a dead connection; a final
`event: end` (`{"reason"}`) says the log cannot grow any more (a task run that finished, an
object deleted). An unknown name is 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from agentops_services.api.v1alpha1.agentrun import TERMINAL_RUN_PHASES
from agentops_services.httpapi.endpoints import error_response
from agentops_services.local.api import HEARTBEAT, SSE_HEADERS
from agentops_services.local.objects import ObjectStore
from agentops_services.local.paths import DataDir, RuntimeDir
from agentops_services.local.process_log import previous_of

PATH = "/api/v1/logs/{kind}/{name}"
BACKLOG_LINES = 1000
"""Lines of history a new stream sends first, at most (a resume gets every line it missed
that is still on disk: the writer keeps two files of bounded size)."""
POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 15.0
READ_CHUNK = 64 * 1024
MAX_LINE = 64 * 1024
"""Bytes of one line kept together; a longer line is sent in pieces of this size."""
KINDS: dict[str, tuple[str, Callable[[DataDir, str], RuntimeDir]]] = {
    "agents": ("Agent", DataDir.agent),
    "agentruns": ("AgentRun", DataDir.run),
}
"""Path segment -> the kind in the store and the runtime directory of one of its objects."""


@dataclass(frozen=True)
class Line:
    number: int
    """1-based, in the file it was read from (`file`)."""
    file: str
    text: str


def identity(stat: os.stat_result) -> str:
    """Which file this is: rotation replaces the file, so the inode changes."""
    return f"{stat.st_dev}:{stat.st_ino}"


class FileFollower:
    """Reads the lines of one log path as they are appended, across rotations; bounded to
    one chunk and one partial line in memory."""

    def __init__(self, path: Path, since_line: int | None = None, file: str = "") -> None:
        self.path = path
        self._since = since_line
        self._resume_file = file
        self._out: BinaryIO | None = None
        self._file = ""
        self._number = 0
        self._partial = b""

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def backlog(self) -> list[Line]:
        """The first lines to send. A resume gets every line after its point, whether its
        file is still this one or is now the rotated one (then the rest of that, and this one
        whole): at most the two files the writer keeps. Otherwise the last `BACKLOG_LINES`
        lines. Nothing while there is no file yet."""
        since, resume_file = self._since, self._resume_file
        self._since, self._resume_file = None, ""
        earlier: list[Line] = []
        previous = previous_of(self.path)
        if since is not None and resume_file and resume_file == _identity_of(previous):
            earlier = [line for line in _whole(previous) if line.number > since]
            since = None
        elif since is not None and resume_file and resume_file != _identity_of(self.path):
            since = 0  # neither file is the one it was in: this one from its beginning
        if not self._open():
            return earlier
        if earlier:
            return [*earlier, *self._read()]
        if since is None:
            return list(deque(self._read(), maxlen=BACKLOG_LINES))
        after = [line for line in self._read() if line.number > since]
        if not after and self._number < since:
            self.close()  # fewer lines than the resume point: not the file it was in
            self._since = 0
            return self.backlog()
        return after

    def poll(self) -> list[Line]:
        """The lines written since the last call (a replaced file's last ones included)."""
        if self._out is None:
            return self.backlog()
        lines = list(self._read())
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return lines  # between rotation's rename and the new file: next poll
        if identity(stat) != self._file or stat.st_size < self._out.tell():
            lines += self._flush_partial()
            read = self._file
            self.close()
            lines += self._unseen_previous(read)
            if self._open():
                lines += self._read()
        return lines

    def _unseen_previous(self, read: str) -> list[Line]:
        """The rotated file when it is not the one just read: the writer rotated twice
        between two polls, and this one was written entirely in between."""
        previous = previous_of(self.path)
        return _whole(previous) if _identity_of(previous) not in ("", read) else []

    def rest(self) -> list[Line]:
        """What is left, the unfinished last line too: the writer is gone."""
        return [*self.poll(), *self._flush_partial()]

    def _open(self) -> bool:
        try:
            self._out = self.path.open("rb")
        except FileNotFoundError:
            return False
        self._file = identity(os.fstat(self._out.fileno()))
        self._number, self._partial = 0, b""
        return True

    def _read(self) -> Iterator[Line]:
        assert self._out is not None
        while chunk := self._out.read(READ_CHUNK):
            *complete, self._partial = (self._partial + chunk).split(b"\n")
            while len(self._partial) > MAX_LINE:
                complete.append(self._partial[:MAX_LINE])
                self._partial = self._partial[MAX_LINE:]
            for raw in complete:
                yield self._line(raw)

    def _flush_partial(self) -> list[Line]:
        partial, self._partial = self._partial, b""
        return [self._line(partial)] if partial else []

    def _line(self, raw: bytes) -> Line:
        self._number += 1
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        return Line(self._number, self._file, text)


def _identity_of(path: Path) -> str:
    """The identity of the file at `path`, "" when there is none."""
    try:
        return identity(path.stat())
    except FileNotFoundError:
        return ""


def _whole(path: Path) -> list[Line]:
    """Every line of a file the writer is done with (the rotated one)."""
    follower = FileFollower(path)
    try:
        return [*follower._read(), *follower._flush_partial()] if follower._open() else []
    finally:
        follower.close()


def _line_frame(line: Line) -> bytes:
    data = json.dumps({"line": line.number, "file": line.file, "text": line.text},
                      ensure_ascii=False)  # fmt: skip
    return f"id: {line.number}\nevent: line\ndata: {data}\n\n".encode()


def _end_frame(reason: str) -> bytes:
    return f"event: end\ndata: {json.dumps({'reason': reason})}\n\n".encode()


class LogStreams:
    """The route, and the streams it serves, which `close` ends (a platform shutting down
    does not wait for consoles to hang up)."""

    def __init__(
        self,
        store: ObjectStore,
        data: DataDir,
        *,
        poll: float = POLL_SECONDS,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.store = store
        self.data = data
        self.poll = poll
        self.heartbeat = heartbeat
        self._closed = asyncio.Event()

    def close(self) -> None:
        self._closed.set()

    def route(self) -> Route:
        return Route(PATH, self.answer, methods=["GET"])

    async def answer(self, request: Request) -> Response:
        segment, name = request.path_params["kind"], request.path_params["name"]
        if segment not in KINDS:
            return error_response(404, f"no logs of {segment!r}: one of {', '.join(KINDS)}", "kind")
        kind, runtime_dir = KINDS[segment]
        if self.store.get(kind, name) is None:
            return error_response(404, f"{kind} {name} not found", "name")
        since = request.query_params.get("since_line", "")
        if since and not since.isdigit():
            return error_response(422, "since_line must be a line number", "since_line")
        follower = FileFollower(
            runtime_dir(self.data, name).log,
            int(since) if since else None,
            request.query_params.get("file", ""),
        )
        return StreamingResponse(
            self._stream(kind, name, follower), media_type="text/event-stream",
            headers=SSE_HEADERS,
        )  # fmt: skip

    async def _stream(self, kind: str, name: str, follower: FileFollower) -> AsyncIterator[bytes]:
        """The follower reads on a thread: a backlog or a rotated file is megabytes, and the
        event loop also serves the store, the API and the controllers."""
        loop = asyncio.get_running_loop()
        try:
            lines = await asyncio.to_thread(follower.backlog)  # up to two whole files
            quiet_since = loop.time()
            while not self._closed.is_set():
                ended = self._ended(kind, name)
                if ended is not None:
                    lines += await asyncio.to_thread(follower.rest)
                for line in lines:
                    yield _line_frame(line)
                if ended is not None:
                    yield _end_frame(ended)
                    return
                if lines:
                    quiet_since = loop.time()
                elif loop.time() - quiet_since >= self.heartbeat:
                    quiet_since = loop.time()
                    yield HEARTBEAT
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closed.wait(), self.poll)
                lines = await asyncio.to_thread(follower.poll)
        finally:
            follower.close()

    def _ended(self, kind: str, name: str) -> str | None:
        """Why the log cannot grow any more, or None while it can."""
        obj = self.store.get(kind, name)
        if obj is None:
            return f"{kind} {name} was deleted"
        phase = (obj.get("status") or {}).get("phase")
        if kind == "AgentRun" and phase in TERMINAL_RUN_PHASES:
            return f"AgentRun {name} {str(phase).lower()}"
        return None
