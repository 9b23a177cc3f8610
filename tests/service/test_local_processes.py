"""The embedded platform's process supervisor with real processes: a daemon is started on a
loopback port, seen healthy, restarted with backoff on the same port after a SIGKILL and
stopped with its whole process group; a one-shot process reports its exit and last lines; a
stubborn process is killed after the grace period; the log stays bounded; and a supervisor
killed outright leaves nothing behind."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from agentops_services.local.ports import PortBook
from agentops_services.local.processes import (
    PORT,
    Backoff,
    ProcessEvent,
    ProcessSpec,
    ProcessState,
    ProcessSupervisor,
)
from tests.conftest import eventually
from tests.service.local_support import survivors

FAST = Backoff(initial=0.2, factor=2.0, limit=1.0, reset_after=30.0)
HTTP_SERVER = (sys.executable, "-m", "http.server", PORT, "--bind", "127.0.0.1")


class Events:
    """A listener keeping every event."""

    def __init__(self) -> None:
        self.seen: list[ProcessEvent] = []

    async def __call__(self, event: ProcessEvent) -> None:
        self.seen.append(event)

    def states(self) -> list[ProcessState]:
        return [e.state for e in self.seen]

    def last(self, state: ProcessState) -> ProcessEvent:
        return next(e for e in reversed(self.seen) if e.state is state)


def spec(tmp_path: Path, name: str, argv: tuple[str, ...], **options: object) -> ProcessSpec:
    return ProcessSpec(
        name=name,
        argv=argv,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": os.getcwd()},
        cwd=tmp_path,
        log_file=tmp_path / f"{name}.log",
        **options,  # type: ignore[arg-type]
    )


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", textwrap.dedent(code))


async def test_a_daemon_is_restarted_with_backoff_on_its_port_and_stopped_with_its_group(
    tmp_path: Path,
) -> None:
    supervisor = ProcessSupervisor(backoff=FAST, grace=5.0)
    events = Events()
    process = supervisor.start(spec(tmp_path, "web", HTTP_SERVER, health_path="/"), events)
    try:
        await eventually(lambda: _expect(process.state is ProcessState.READY), timeout=30)
        url, first_pid = process.url, process.pid
        assert url is not None and first_pid is not None
        async with httpx.AsyncClient(timeout=5) as http:
            assert (await http.get(url + "/")).status_code == 200
        os.kill(first_pid, signal.SIGKILL)

        async def restarted() -> None:
            assert process.state is ProcessState.READY and process.pid != first_pid

        await eventually(restarted, timeout=30)
        crashed = events.last(ProcessState.CRASHED)
        assert crashed.exit_code == -signal.SIGKILL
        assert crashed.message == "was killed by SIGKILL"
        backing_off = events.last(ProcessState.BACKING_OFF)
        assert backing_off.retry_at is not None
        assert process.url == url  # the same port again
        assert events.states()[:2] == [ProcessState.STARTING, ProcessState.READY]
    finally:
        await supervisor.close()
    assert events.states()[-1] is ProcessState.STOPPED
    assert survivors(process.started_pids) == []
    log = (tmp_path / "web.log").read_text()
    assert "--- agentops: was killed by SIGKILL" in log


async def test_a_one_shot_process_reports_its_exit_and_last_lines(tmp_path: Path) -> None:
    supervisor = ProcessSupervisor(backoff=FAST)
    events = Events()
    code = """
        import sys
        print("working", flush=True)
        print("the model said no", file=sys.stderr, flush=True)
        sys.exit(3)
    """
    process = supervisor.start(spec(tmp_path, "task", python(code), restart=False), events)
    try:
        assert await asyncio.wait_for(process.wait(), 30) == 3
    finally:
        await supervisor.close()
    exited = events.last(ProcessState.EXITED)
    assert exited.exit_code == 3 and exited.message == "exited with code 3"
    assert exited.log_tail == ("working", "the model said no")
    assert ProcessState.CRASHED not in events.states()  # one-shot: no restart


async def test_stop_kills_what_ignores_sigterm_and_its_children(tmp_path: Path) -> None:
    supervisor = ProcessSupervisor(grace=0.5)
    code = """
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print(child.pid, flush=True)
        time.sleep(600)
    """
    process = supervisor.start(spec(tmp_path, "stubborn", python(code)), Events())

    async def child_started() -> int:
        tail = process.log_tail()
        assert tail and tail[-1].isdigit()
        return int(tail[-1])

    grandchild = await eventually(child_started, timeout=30)
    await supervisor.stop("stubborn")
    assert process.exit_code == -signal.SIGKILL
    assert survivors([*process.started_pids, grandchild]) == []


async def test_a_daemon_that_never_gets_healthy_counts_as_crashed(tmp_path: Path) -> None:
    supervisor = ProcessSupervisor(backoff=FAST, grace=1.0)
    events = Events()
    silent = (*python("import time; time.sleep(600)"), PORT)
    supervisor.start(spec(tmp_path, "mute", silent, health_path="/", startup_timeout=0.5), events)
    try:
        await eventually(lambda: _expect(ProcessState.CRASHED in events.states()), timeout=30)
    finally:
        await supervisor.close()
    assert events.last(ProcessState.CRASHED).message == "was not healthy within 0.5s"


async def test_the_log_is_rotated_at_its_cap_and_one_old_file_is_kept(tmp_path: Path) -> None:
    supervisor = ProcessSupervisor(log_limit=10_000)
    code = """
        for n in range(2000):
            print(f"line {n:05d} " + "x" * 40)
    """
    process = supervisor.start(spec(tmp_path, "chatty", python(code), restart=False), Events())
    try:
        await asyncio.wait_for(process.wait(), 30)
    finally:
        await supervisor.close()
    current, previous = tmp_path / "chatty.log", tmp_path / "chatty.log.1"
    assert current.stat().st_size <= 10_000 and previous.stat().st_size <= 10_000
    assert not (tmp_path / "chatty.log.2").exists()
    assert "line 01999" in current.read_text()
    assert process.log_tail()[-1].startswith("line 01999")


def test_backoff_doubles_to_its_limit() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_a_port_is_kept_for_its_name_while_free() -> None:
    ports = PortBook()
    first = ports.port_for("a")
    assert ports.port_for("a") == first
    assert ports.port_for("b") != first
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", first))
        squatter.listen()
        assert ports.port_for("a") != first


SUPERVISOR_SCRIPT = """
import asyncio, sys
from pathlib import Path
from agentops_services.local.processes import ProcessSpec, ProcessSupervisor

async def main() -> None:
    supervisor = ProcessSupervisor()
    async def quiet(event): pass
    process = supervisor.start(
        ProcessSpec("sleeper", (sys.executable, "-c", "import time; time.sleep(600)"),
                    env={}, cwd=Path(sys.argv[1]), log_file=Path(sys.argv[1]) / "s.log"),
        quiet,
    )
    while process.pid is None:
        await asyncio.sleep(0.01)
    print(process.pid, flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
async def test_a_supervisor_killed_outright_leaves_no_process_behind(tmp_path: Path) -> None:
    supervisor = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SUPERVISOR_SCRIPT, str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    try:
        assert supervisor.stdout is not None
        child = int(await asyncio.wait_for(supervisor.stdout.readline(), 30))
        assert survivors([child]) == [child]
    finally:
        supervisor.kill()
        await asyncio.wait_for(supervisor.wait(), 10)
    await eventually(lambda: _expect(survivors([child]) == []), timeout=10)


async def _expect(condition: bool) -> None:
    assert condition
