"""Running a tool's subprocess: its own process group, output captured up to a cap, and nothing
it started outliving it. The whole group is killed on timeout, when the turn is aborted, and
once the command has exited (after BACKGROUND_GRACE for background children still writing).
Upstream ignored bash's timeout and left children of a cancelled command running.

The end of the command is noticed when its process exits, not when its output closes: a
background child (`nohup server &`) keeps the output pipe open, and `Process.wait()` waits for
the pipes too, so waiting on either would hang until the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

KILL_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL for the process group."""
READ_CHUNK = 64 * 1024
BACKGROUND_GRACE = 0.5
"""How long output is still read after the command exits (its background children)."""
DRAIN_GRACE = 1.0
"""How long output already written is still read once the group is dead."""
MAX_ERRORS = 64 * 1024
"""Bytes of stderr kept when it is kept apart."""


@dataclass(frozen=True)
class Finished:
    exit_code: int | None
    """None when the command was killed for running too long."""
    output: bytes
    truncated: int
    """Bytes of output dropped past the cap (a lower bound when `capped`)."""
    timed_out: bool
    errors: str = ""
    """The start of stderr, when it was kept apart."""
    capped: bool = False
    """The command was stopped because its output reached the cap (`stop_at_cap`)."""


class _Watched(asyncio.subprocess.SubprocessStreamProtocol):
    """The stream protocol, plus an event set as soon as the process exits (whoever still
    holds its pipes)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=READ_CHUNK, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


@dataclass
class _Capture:
    """Output read so far: at most `keep` bytes kept, the rest counted."""

    keep: int
    kept: bytearray = field(default_factory=bytearray)
    dropped: int = 0

    def add(self, chunk: bytes) -> None:
        room = max(0, self.keep - len(self.kept))
        self.kept.extend(chunk[:room])
        self.dropped += max(0, len(chunk) - room)


async def _read(stream: asyncio.StreamReader, capture: _Capture, stop_at_cap: bool) -> None:
    """Read `stream` to its end (so the writer never blocks), or until the cap with
    `stop_at_cap`."""
    while chunk := await stream.read(READ_CHUNK):
        capture.add(chunk)
        if stop_at_cap and capture.dropped:
            return


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _kill_group(pid: int, exited: asyncio.Event) -> None:
    """SIGTERM the group, give its leader KILL_GRACE to exit, then SIGKILL the whole group:
    children that ignore SIGTERM, or outlive a leader that did not, die too."""
    if not exited.is_set():
        _signal_group(pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(KILL_GRACE):
                await exited.wait()
    _signal_group(pid, signal.SIGKILL)


async def _finish_reading(tasks: Sequence[asyncio.Task[None]], timeout: float) -> None:
    """Let the readers take what is still in the pipes, then stop them (a process that left
    the group may hold a pipe open for ever)."""
    pending = [t for t in tasks if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run_captured(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    max_output: int,
    merge_stderr: bool = True,
    stop_at_cap: bool = False,
) -> Finished:
    """Run `argv`, keeping at most `max_output` bytes of its output (stderr merged in, or kept
    apart as `errors`); `stop_at_cap` ends the command once the cap is reached. On timeout,
    cancellation or exit the whole process group dies."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _Watched(loop),
        *argv,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    process = asyncio.subprocess.Process(transport, protocol, loop)
    assert process.stdout is not None
    output, errors = _Capture(max_output), _Capture(MAX_ERRORS)
    reader = asyncio.create_task(_read(process.stdout, output, stop_at_cap))
    readers = [reader]
    if process.stderr is not None:
        readers.append(asyncio.create_task(_read(process.stderr, errors, False)))
    exit_waiter = asyncio.create_task(protocol.exited.wait())
    timed_out = False
    try:
        async with asyncio.timeout(timeout):
            await asyncio.wait({reader, exit_waiter}, return_when=asyncio.FIRST_COMPLETED)
            if exit_waiter.done():
                # What still holds the output open was started in the background by the
                # command: read what it writes for a moment, then it dies with the group.
                await asyncio.wait({reader}, timeout=BACKGROUND_GRACE)
            elif not (stop_at_cap and output.dropped):
                await exit_waiter  # the output is closed but the command runs on
    except TimeoutError:
        timed_out = True
    except asyncio.CancelledError:
        try:
            await asyncio.shield(_kill_group(process.pid, protocol.exited))
        finally:
            exit_waiter.cancel()
            for task in readers:
                task.cancel()
            transport.close()
        raise
    try:
        await _kill_group(process.pid, protocol.exited)
        await _finish_reading(readers, DRAIN_GRACE)
    finally:
        exit_waiter.cancel()
        transport.close()
    exit_code = None if timed_out else transport.get_returncode()
    return Finished(
        exit_code,
        bytes(output.kept),
        output.dropped,
        timed_out,
        errors.kept.decode(errors="replace"),
        capped=stop_at_cap and bool(output.dropped),
    )
