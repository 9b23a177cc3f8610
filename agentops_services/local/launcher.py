"""A console's way to the embedded platform: the one already running on this data dir (its
`platform.json`), else `agentops serve` started in the background for as long as the console
runs.

The platform a console starts is its own: it is stopped when that console exits (SIGTERM,
which stops its runtimes and services too). A platform the console found running is left
alone. So `agentops` alone is one self-contained session, and a platform that outlives
consoles is the one `agentops serve` runs in a terminal of its own.

The started platform writes to `<data dir>/logs/platform.log`; when it does not come up in
time (or exits) the error names that file and quotes its last lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from agentops_services.local import orphan_guard
from agentops_services.local.paths import DataDir
from agentops_services.local.platform_record import running_platform

STARTUP_TIMEOUT = 120.0
"""Seconds for a new platform to answer: the first run may probe for providers and starts the
memory service and the trace store before the API serves."""
POLL_INTERVAL = 0.2
STOP_GRACE = 30.0
"""Seconds a stopping platform has to stop its runtimes before it is killed."""
TAIL_LINES = 8
ASK_TIMEOUT = 5.0


class LaunchError(Exception):
    """The platform could not be found nor started; the message is for people."""


@dataclass
class Attached:
    """A platform the console talks to, and the process if the console started it."""

    url: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def started(self) -> bool:
        return self.process is not None

    def stop(self) -> None:
        """Stop the platform if this console started it (a found one is left running)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def platform_log(data: DataDir) -> Path:
    return data.logs_dir / "platform.log"


def serve_command(data: DataDir) -> list[str]:
    """`agentops serve` on `data`, as this Python runs it, on any free port (consoles find
    it through platform.json, so a second platform elsewhere never clashes on 7400). It is
    started through orphan_guard: a console that dies without stopping it (its terminal or SSH
    session gone, a kill) takes it along rather than leaving it running for nobody."""
    return [
        sys.executable, "-m", orphan_guard.__name__, str(os.getpid()),
        sys.executable, "-m", "agentops_services.cli.main", "serve",
        "--data-dir", str(data.root), "--resources", str(data.resources), "--port", "0",
    ]  # fmt: skip


async def attach_or_start(data: DataDir, timeout: float = STARTUP_TIMEOUT) -> Attached:
    """The running platform of `data`, else a new one started and answering."""
    running = await running_platform(data.platform_file)
    if running is not None:
        return Attached(running.url)
    log = platform_log(data.create())  # private directories, before the log makes any
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 - returns at once; the wait below is async
            serve_command(data),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the terminal's Ctrl-C is the console's, not the platform's
        )
    attached = Attached("", process)
    try:
        attached.url = await _answering(data, process, log, timeout)
    except BaseException:
        attached.stop()
        raise
    return attached


async def _answering(
    data: DataDir, process: subprocess.Popen[bytes], log: Path, timeout: float
) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if process.poll() is not None:
            raise LaunchError(
                f"the embedded platform exited (status {process.returncode}); its log is "
                f"{log}:\n{_tail(log)}"
            )
        running = await running_platform(data.platform_file)
        if running is not None and running.pid == process.pid:
            return running.url
        if asyncio.get_running_loop().time() > deadline:
            raise LaunchError(
                f"the embedded platform did not answer within {timeout:.0f} s; its log is "
                f"{log}:\n{_tail(log)}"
            )
        await asyncio.sleep(POLL_INTERVAL)


def _tail(log: Path) -> str:
    with contextlib.suppress(OSError):
        lines = log.read_text(errors="replace").splitlines()[-TAIL_LINES:]
        return "\n".join(f"  {line}" for line in lines)
    return "  (no log)"


async def first_run_summary(url: str) -> tuple[str, bool]:
    """What the platform's first run did (a sentence for the person) and whether its agents
    run on the offline demo model; ("", False) when it does not say."""
    try:
        async with httpx.AsyncClient(base_url=url, timeout=ASK_TIMEOUT, trust_env=False) as http:
            answer: Any = (await http.get("/api/v1/services")).json()
    except (httpx.HTTPError, ValueError):
        return "", False
    first_run = answer.get("firstRun") if isinstance(answer, dict) else None
    if not isinstance(first_run, dict):
        return "", False
    return str(first_run.get("summary") or ""), bool(first_run.get("demo"))
