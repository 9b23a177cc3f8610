"""The images' promise, checked without a container engine: `agentops memory` and `agentops
traces` run as UID/GID 65532 with a read-only root filesystem, HOME pointing nowhere and cwd /,
writing only to their data volume (and a temporary directory, the pods' /tmp emptyDir), as the
pods run them.

Each service runs in a private mount namespace where / is remounted read-only except the data
directory and a temporary directory (each bind-mounted writable, like a volume; TMPDIR names the
second), then as 65532 with no new privileges and the image's environment. It answers its readiness probe, takes one real
write, reads it back (the memory service again after a restart, from the volume) and exits on
SIGTERM without a traceback. It runs twice: from the checkout's virtualenv, and from a
virtualenv holding the wheel built from exactly what the Dockerfile copies, byte-compiled as
the Dockerfile does (its dependencies come from the checkout's virtualenv). Both virtualenvs
sit on an interpreter 65532 may run: on Debian 12 /usr/bin/python3.11, the images' own.

Needs root (to change UID and to make a mount namespace); the wheel is built offline with the
dev environment's hatchling. Everything test-made lives under /var/tmp."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agentops_services.telemetry import otlp_traces_url
from agentops_services.testing.controlplane import free_port
from tests.conftest import REPO, eventually
from tests.service.trace_store_support import AGENT, export, span, span_id, trace_id
from tests.unit.test_container_image import DOCKERFILE, by_name, copies, instructions, stages

UID = GID = 65532
SCRATCH_PARENT = Path("/var/tmp")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: to run the services as UID 65532 in a mount namespace"
)


def _can_make_readonly_root() -> str | None:
    """None when `unshare --mount` can remount / read-only here; otherwise why not."""
    for tool in ("unshare", "setpriv", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
         "mount -o remount,bind,ro / && ! touch /var/tmp/.agentops-ro-probe 2>/dev/null"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return None if probe.returncode == 0 else f"no read-only / in a mount namespace: {probe}"


@dataclass(frozen=True)
class Sandbox:
    """Runs commands the way the pod does, in a scratch directory."""

    base: Path
    bin_dir: Path
    """The virtualenv's bin (the image's /opt/venv/bin)."""

    def data_dir(self, name: str) -> Path:
        """A fresh directory only 65532 may write to: the volume."""
        path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.base))
        os.chown(path, UID, GID)
        path.chmod(0o700)
        return path

    def argv(self, data: Path, *command: str, tmp: Path | None = None) -> list[str]:
        """`command` as 65532 with / read-only but `data` and `tmp` (a fresh one when not
        given; TMPDIR, the pod's /tmp emptyDir); exec all the way, so the process's PID is the
        service's. / stays as it is otherwise, read-only: the checkout and its virtualenv may
        well live under /tmp."""
        tmp = tmp or self.data_dir("tmp")
        env = {
            "PATH": f"{self.bin_dir}:/usr/local/bin:/usr/bin:/bin",
            "HOME": "/nonexistent",
            "TMPDIR": str(tmp),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        script = (
            'set -e; mount --bind "$1" "$1"; mount --bind "$2" "$2"; '
            "mount -o remount,bind,ro /; shift 2; cd /; "
            f"exec setpriv --reuid {UID} --regid {GID} --clear-groups --no-new-privs -- "
            'env -i "$@"'
        )
        pairs = [f"{key}={value}" for key, value in env.items()]
        return [
            "unshare", "--mount", "--propagation", "private", "--",
            "sh", "-c", script, "sh", str(data), str(tmp), *pairs, *command,
        ]  # fmt: skip


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    reason = _can_make_readonly_root()
    if reason is not None:
        pytest.skip(reason)
    if not SCRATCH_PARENT.is_dir():
        pytest.skip(f"{SCRATCH_PARENT} does not exist")
    base = Path(tempfile.mkdtemp(prefix="agentops-image-", dir=SCRATCH_PARENT))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base)


def _interpreter() -> Path:
    """A Python of this minor version that UID 65532 can run: the images' Debian python3.11 at
    /usr/bin when this is Debian 12, or the tests' own one if it is outside a private home."""
    minor = f"python3.{sys.version_info.minor}"
    candidates = [Path(sys.base_prefix) / "bin" / minor, Path("/usr/bin") / minor]
    for candidate in candidates:
        probe = subprocess.run(
            ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups",
             "env", "-i", str(candidate), "-c", "import sqlite3"],
            capture_output=True, check=False, cwd="/",
        )  # fmt: skip
        if probe.returncode == 0:
            return candidate
    pytest.skip(f"UID {UID} can run none of {[str(c) for c in candidates]} (a private home?)")


def _venv(base: Path, name: str, *paths: str) -> Path:
    """A virtualenv on an interpreter 65532 can run, `paths` added as plain sys.path entries
    (their .pth files, such as the editable install of this checkout, are not processed)."""
    venv = base / name
    subprocess.run([str(_interpreter()), "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(sysconfig.get_paths(vars={"base": str(venv)})["purelib"])
    (purelib / "zz-paths.pth").write_text("".join(f"{path}\n" for path in paths))
    return venv


def _checkout_bin(base: Path) -> Path:
    """This checkout's sources with the dependencies of its virtualenv, `agentops` as a script."""
    venv = _venv(base, "checkout-venv", str(REPO), sysconfig.get_paths()["purelib"])
    script = venv / "bin" / "agentops"
    script.write_text(
        f"#!{venv}/bin/python\nimport sys\n"
        "from agentops_services.cli.main import main\nsys.exit(main())\n"
    )
    script.chmod(0o755)
    return venv / "bin"


def _wheel_bin(base: Path) -> Path:
    """The wheel built from what the Dockerfile's build stage copies (nothing else: no .git),
    installed without compiling, then compiled with unchecked hashes like the image's; the
    dependencies come from this checkout's virtualenv."""
    _, found = stages(instructions(DOCKERFILE.read_text()))
    context = base / "context"
    context.mkdir()
    for copy in copies(by_name(found, "build")):
        if copy.source_stage is not None:
            continue
        for source in copy.sources:
            origin = REPO / source
            if origin.is_dir():
                shutil.copytree(origin, context / source, ignore=shutil.ignore_patterns("__py*"))
            else:
                shutil.copy2(origin, context / source)
    wheels = base / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = subprocess.run(
        [*pip, "wheel", "--no-cache-dir", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(wheels), str(context)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("agentops-*.whl")
    venv = _venv(base, "wheel-venv", sysconfig.get_paths()["purelib"])
    subprocess.run(
        [*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-compile",
         "--no-cache-dir", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "compileall", "-q", "-j", "0",
         "--invalidation-mode", "unchecked-hash", str(venv)],
        check=True, capture_output=True,
    )  # fmt: skip
    shutil.rmtree(context)
    return venv / "bin"


@pytest.fixture(scope="module", params=["checkout", "wheel"])
def sandbox(request: pytest.FixtureRequest, scratch: Path) -> Sandbox:
    bin_dir = _checkout_bin(scratch) if request.param == "checkout" else _wheel_bin(scratch)
    where = subprocess.run(
        ["setpriv", f"--reuid={UID}", f"--regid={GID}", "--clear-groups", "env", "-i",
         str(bin_dir / "python"), "-c", "import agentops_services; print(agentops_services.__file__)"],
        capture_output=True, text=True, check=False, cwd="/",
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    expected = REPO if request.param == "checkout" else scratch / "wheel-venv"
    assert where.stdout.startswith(str(expected)), where.stdout
    return Sandbox(scratch, bin_dir)


def test_the_sandbox_lets_65532_write_only_to_the_volume_and_tmp(sandbox: Sandbox) -> None:
    """The premise of the tests below: a write anywhere else fails, and because / is read-only
    (the directory beside the volume is world-writable)."""
    data = sandbox.data_dir("probe-data")
    elsewhere = Path(tempfile.mkdtemp(prefix="probe-elsewhere-", dir=sandbox.base))
    elsewhere.chmod(0o777)
    probe = (
        "import os, sys\n"
        "print(os.getuid(), os.getgid(), os.getgroups(), os.getcwd())\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        open(path, 'w').close(); print(path, 'ok')\n"
        "    except OSError as exc:\n"
        "        print(path, exc.strerror)\n"
    )
    tmp = sandbox.data_dir("probe-tmp")
    targets = [f"{data}/x", f"{tmp}/x", f"{elsewhere}/x", "/x", f"{sandbox.bin_dir}/x"]
    result = subprocess.run(
        sandbox.argv(data, "python", "-c", probe, *targets, tmp=tmp),
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert result.stdout.splitlines() == [
        f"{UID} {GID} [] /",
        f"{data}/x ok",
        f"{tmp}/x ok",
        f"{elsewhere}/x Read-only file system",
        "/x Read-only file system",
        f"{sandbox.bin_dir}/x Read-only file system",
    ]
    assert (data / "x").exists()
    assert not (elsewhere / "x").exists()


@dataclass
class Service:
    process: asyncio.subprocess.Process
    url: str

    def uids(self) -> str:
        """The Uid: line of the running process (real, effective, saved, filesystem)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return next(line for line in status.splitlines() if line.startswith("Uid:"))


@contextlib.asynccontextmanager
async def running(
    sandbox: Sandbox, data: Path, *command: str, ready: str, expect: str
) -> AsyncIterator[Service]:
    """`agentops COMMAND` in the sandbox until the block ends; then SIGTERM, and it must end
    the conventional way (uvicorn re-raises the signal) with nothing wrong on stderr."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *sandbox.argv(data, "agentops", *command, "--host", "127.0.0.1", "--port", str(port)),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:

            async def answers() -> None:
                assert process.returncode is None, f"agentops {command[0]} exited"
                response = await client.get(ready)
                assert response.status_code == 200
                assert expect in response.text

            await eventually(answers, timeout=30)
        yield Service(process, url)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, stderr = await process.communicate()
    log = stderr.decode()
    assert process.returncode == -signal.SIGTERM, log
    for trouble in ("Traceback", "Read-only file system", "Permission denied"):
        assert trouble not in log, log


async def test_memory_runs_as_65532_on_a_read_only_root(sandbox: Sandbox) -> None:
    data = sandbox.data_dir("memory-data")
    db = data / "memory.db"
    observation = {
        "session_id": "s1",
        "type": "decision",
        "title": "Read-only root",
        "content": "Only the volume and the temporary directory are writable.",
        "project": "images",
    }
    memory = ("memory", "--db", str(db))
    async with running(sandbox, data, *memory, ready="/readyz", expect="ready") as service:
        assert service.uids().split()[1:] == [str(UID)] * 4
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            created = await client.post("/observations", json=observation)
            assert created.status_code == 201, created.text
            ident = created.json()["id"]
            got = (await client.get(f"/observations/{ident}")).json()
            assert (got["title"], got["content"]) == (observation["title"], observation["content"])
    assert db.stat().st_uid == UID
    # the write is on the volume: a new process finds it there
    async with (
        running(sandbox, data, *memory, ready="/readyz", expect="ready") as service,
        httpx.AsyncClient(base_url=service.url, timeout=10) as client,
    ):
        again = (await client.get(f"/observations/{ident}")).json()
        assert again["title"] == observation["title"]


async def test_traces_runs_as_65532_on_a_read_only_root(sandbox: Sandbox) -> None:
    data = sandbox.data_dir("traces-data")
    db = data / "traces.db"
    command = ("traces", "--db", str(db), "--otlp-port", "0")
    async with running(sandbox, data, *command, ready="/ready", expect="ready") as service:
        assert service.uids().split()[1:] == [str(UID)] * 4
        async with httpx.AsyncClient(timeout=10) as client:
            tid = trace_id("c")
            host = service.url.removeprefix("http://")
            sent = await client.post(
                otlp_traces_url(host), json=export(AGENT, span(tid, span_id("c"), "read-only"))
            )
            assert sent.status_code == 200, sent.text
            got = await client.get(f"{service.url}/api/v2/traces/{tid}")
            assert got.status_code == 200, got.text
            assert "read-only" in got.text
    assert db.stat().st_uid == UID
