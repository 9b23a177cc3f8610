"""Local processes of the embedded platform, supervised as a kubelet supervises a pod's
containers: started with their own environment and directory, watched until healthy, restarted
with exponential backoff when they exit unexpectedly, stopped gracefully, and never left behind.

* Output goes to a bounded log file (see process_log.py), never to the supervisor's own output,
  so a runtime's lines cannot interleave with the console or `agentops serve`.
* Each process leads its own process group, and stopping signals the group: the runtime's tool
  commands (bash, MCP stdio servers) end with it. When a process exits by itself its group is
  killed too, so nothing it started lingers.
* Every process is started through orphan_guard.py, so it ends even if the supervisor is
  killed outright and runs no shutdown.
* A daemon gets a loopback port (its argv names it with `PORT`), kept across restarts, and is
  ready when its health URL answers; a one-shot process is ready once started and is not
  restarted: its exit is its result.
* Backoff grows from 1 s, doubling, up to 60 s, and starts over once a process has stayed up
  for a minute, as a kubelet's CrashLoopBackOff does.

What happens is told to a listener (one per process) as `ProcessEvent`s; the listener turns
them into status. The environment is never logged nor shown in a repr: it carries credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import httpx

from agentops_services.local import orphan_guard
from agentops_services.local.ports import PortBook
from agentops_services.local.process_log import DEFAULT_LIMIT, ProcessLog

LOG = logging.getLogger("agentops.local.processes")
PORT = "{port}"
"""Stands in argv for the port the daemon is given."""
HEALTH_CALL_TIMEOUT = 2.0
HEALTH_INTERVAL = (0.05, 0.5)
"""First and longest pause between health checks while a daemon starts."""
PUMP_DRAIN_TIMEOUT = 2.0
"""After an exit, how long the last output may take to arrive (a grandchild in another
session could hold the pipe open forever)."""
STARTED_PIDS = 1024
"""How many started pids the supervisor remembers (for checks that nothing survived)."""


class ProcessState(StrEnum):
    STARTING = "starting"
    READY = "ready"
    CRASHED = "crashed"
    """Exited unexpectedly (a restart follows)."""
    BACKING_OFF = "backing-off"
    """Waiting before the restart."""
    EXITED = "exited"
    """A one-shot process ended (no restart)."""
    STOPPED = "stopped"


@dataclass(frozen=True)
class ProcessEvent:
    name: str
    state: ProcessState
    pid: int | None = None
    url: str | None = None
    """A daemon's base URL (http://127.0.0.1:<port>)."""
    exit_code: int | None = None
    """Negative: killed by that signal."""
    message: str = ""
    """Why it exited, in words."""
    log_tail: tuple[str, ...] = ()
    """The last lines of its output, with CRASHED, BACKING_OFF and EXITED."""
    retry_at: datetime | None = None
    """With BACKING_OFF: when the restart is due."""


Listener = Callable[[ProcessEvent], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    initial: float = 1.0
    factor: float = 2.0
    limit: float = 60.0
    reset_after: float = 60.0
    """A process that stayed up this long starts its backoff over."""

    def delay(self, failures: int) -> float:
        """The pause before restart number `failures` of a row (1 for the first)."""
        return float(min(self.limit, self.initial * self.factor ** max(0, failures - 1)))


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)
    """The whole environment of the process (nothing is inherited besides it)."""
    cwd: Path
    log_file: Path
    health_path: str | None = None
    """For a daemon (argv holds PORT): the path answering 2xx once it serves."""
    restart: bool = True
    """False for a one-shot process."""
    startup_timeout: float = 60.0
    """A daemon not healthy by then is killed and counts as crashed."""

    @property
    def daemon(self) -> bool:
        return PORT in self.argv


def describe_exit(code: int | None) -> str:
    if code is None:
        return "could not be started"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


class SupervisedProcess:
    """One supervised process and its restarts; made by ProcessSupervisor.start."""

    def __init__(
        self,
        spec: ProcessSpec,
        listener: Listener,
        *,
        ports: PortBook,
        backoff: Backoff,
        grace: float,
        log_limit: int,
        started_pids: deque[int],
    ) -> None:
        self.spec = spec
        self.state = ProcessState.STARTING
        self.pid: int | None = None
        self.port: int | None = None
        self.exit_code: int | None = None
        self.started_pids = started_pids
        """The pids started, newest last (the supervisor's record, shared by its processes)."""
        self._listener = listener
        self._ports = ports
        self._backoff = backoff
        self._grace = grace
        self._log = ProcessLog(spec.log_file, log_limit)
        self._process: asyncio.subprocess.Process | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self._ended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str | None:
        return f"http://{self._ports.host}:{self.port}" if self.port is not None else None

    @property
    def ended(self) -> bool:
        """Ended for good: a one-shot process that exited, or a stopped one."""
        return self._ended.is_set()

    def log_tail(self) -> tuple[str, ...]:
        return self._log.tail()

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"process {self.spec.name}")

    async def wait(self) -> int | None:
        """Wait until it has ended for good; its last exit code."""
        await self._ended.wait()
        return self.exit_code

    async def stop(self) -> None:
        """SIGTERM to its group, SIGKILL after the grace period; no restart after."""
        self._stopping = True
        self._wake.set()
        await self._terminate()
        task = self._task
        if task is not None and task is not asyncio.current_task():
            await asyncio.shield(task)

    # --- the supervision loop -----------------------------------------------------------------

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        try:
            while not self._stopping:
                began = loop.time()
                why = await self._run_once()
                if self._stopping:
                    break
                tail = self._log.tail()
                if not self.spec.restart:
                    await self._emit(
                        ProcessState.EXITED, exit_code=self.exit_code, message=why, log_tail=tail
                    )
                    return
                stayed_up = loop.time() - began >= self._backoff.reset_after
                failures = 1 if stayed_up else failures + 1
                delay = self._backoff.delay(failures)
                code = self.exit_code
                await self._emit(ProcessState.CRASHED, exit_code=code, message=why, log_tail=tail)
                await self._emit(
                    ProcessState.BACKING_OFF,
                    exit_code=code,
                    message=why,
                    log_tail=tail,
                    retry_at=datetime.now(UTC) + timedelta(seconds=delay),
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
            await self._emit(ProcessState.STOPPED, exit_code=self.exit_code)
        finally:
            await self._terminate()
            self._log.close()
            self._ended.set()

    async def _run_once(self) -> str:
        """Start the process, see it healthy, wait for its exit; why it ended."""
        spec = self.spec
        self.port = self._ports.port_for(spec.name) if spec.daemon else None
        argv = [str(self.port) if arg == PORT else arg for arg in spec.argv]
        guarded = [sys.executable, "-m", orphan_guard.__name__, str(os.getpid()), *argv]
        self.pid, self.exit_code = None, None
        await self._emit(ProcessState.STARTING)
        try:
            process = await asyncio.create_subprocess_exec(
                *guarded,
                env=dict(spec.env),
                cwd=spec.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            self._log.note(f"cannot start: {exc.strerror or exc}")
            return f"could not be started: {exc.strerror or exc}"
        self._process, self.pid = process, process.pid
        self.started_pids.append(process.pid)
        self._log.note(f"started, pid {process.pid}")
        if self._stopping:  # stop() came while it was being started
            await self._terminate()
        assert process.stdout is not None
        pump = asyncio.create_task(self._pump(process.stdout))
        why = ""
        try:
            healthy = await self._until_healthy(process)
            if healthy:
                await self._emit(ProcessState.READY)
            elif healthy is None and not self._stopping:
                why = f"was not healthy within {spec.startup_timeout:g}s"
                await self._terminate()
            self.exit_code = await process.wait()
        finally:
            _signal_group(process.pid, signal.SIGKILL)  # whatever it left behind
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pump), PUMP_DRAIN_TIMEOUT)
            pump.cancel()
        why = why or describe_exit(self.exit_code)
        self._log.note(why)
        return why

    async def _pump(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self._log.write(chunk)

    async def _until_healthy(self, process: asyncio.subprocess.Process) -> bool | None:
        """True once healthy (at once for a one-shot process), False if it exited first, None
        when the startup deadline passed."""
        if self.spec.health_path is None or self.url is None:
            return process.returncode is None
        url = self.url + self.spec.health_path
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.spec.startup_timeout
        pause, longest = HEALTH_INTERVAL
        exited = asyncio.ensure_future(process.wait())
        try:
            async with httpx.AsyncClient(timeout=HEALTH_CALL_TIMEOUT) as http:
                while loop.time() < deadline and not self._stopping:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get(url)).is_success:
                            return process.returncode is None
                    await asyncio.wait([exited], timeout=pause)
                    if exited.done():
                        return False
                    pause = min(longest, pause * 1.5)
        finally:
            exited.cancel()
        return None

    async def _terminate(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), self._grace)
        except TimeoutError:
            _signal_group(process.pid, signal.SIGKILL)
            await process.wait()

    async def _emit(
        self,
        state: ProcessState,
        *,
        exit_code: int | None = None,
        message: str = "",
        log_tail: tuple[str, ...] = (),
        retry_at: datetime | None = None,
    ) -> None:
        self.state = state
        event = ProcessEvent(
            self.spec.name, state, self.pid, self.url, exit_code, message, log_tail, retry_at
        )
        try:
            await self._listener(event)
        except Exception:
            LOG.exception("listener of process %s failed on %s", self.spec.name, state)


class ProcessSupervisor:
    """The embedded platform's processes by name; `close` stops them all."""

    def __init__(
        self,
        *,
        backoff: Backoff | None = None,
        grace: float = 10.0,
        log_limit: int = DEFAULT_LIMIT,
        ports: PortBook | None = None,
    ) -> None:
        self.backoff = backoff or Backoff()
        self.grace = grace
        self.log_limit = log_limit
        self.ports = ports or PortBook()
        self.started_pids: deque[int] = deque(maxlen=STARTED_PIDS)
        """Every pid started, newest last (bounded): what must not outlive the platform."""
        self._processes: dict[str, SupervisedProcess] = {}

    def get(self, name: str) -> SupervisedProcess | None:
        return self._processes.get(name)

    def names(self) -> list[str]:
        return list(self._processes)

    def start(self, spec: ProcessSpec, listener: Listener) -> SupervisedProcess:
        """Start supervising `spec`; a process of that name must not be running (one that has
        ended for good is replaced)."""
        current = self._processes.get(spec.name)
        if current is not None and not current.ended:
            raise ValueError(f"process {spec.name} is already running")
        spec.log_file.parent.mkdir(parents=True, exist_ok=True)
        process = SupervisedProcess(
            spec,
            listener,
            ports=self.ports,
            backoff=self.backoff,
            grace=self.grace,
            log_limit=self.log_limit,
            started_pids=self.started_pids,
        )
        self._processes[spec.name] = process
        process.start()
        return process

    async def stop(self, name: str, *, keep_port: bool = False) -> None:
        """Stop and forget `name`; its port goes back unless it is about to start again."""
        process = self._processes.pop(name, None)
        if process is not None:
            await process.stop()
        if not keep_port:
            self.ports.release(name)

    async def close(self) -> None:
        """Stop every process (at once: the grace periods run side by side)."""
        await asyncio.gather(*(self.stop(name) for name in list(self._processes)))
