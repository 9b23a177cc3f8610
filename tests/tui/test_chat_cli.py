"""`agentops chat` as a real process against a real runtime process: the text and JSON output
of a turn with a tool call, exit statuses (finished, failed, busy, unreachable, interrupted),
permission requests denied without a terminal and approved on one, and the way to an Agent's
runtime through the cluster."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops_services.kube.rest import Kube
from agentops_services.testing.controlplane import ControlPlane, free_port
from tests.kube.operator_harness import agent, create
from tests.runtime_process import AGENTOPS, daemon, write_agent
from tests.tui.test_chat_client import full_log, runtime

LS: dict[str, Any] = {"name": "ls", "input": {"path": "."}, "id": "call_ls"}
WRITE: dict[str, Any] = {
    "name": "write",
    "input": {"path": "note.txt", "content": "hi"},
    "id": "call_w",
}
GATED_WRITE: dict[str, Any] = {"builtinTools": ["write"], "permissionTools": ["write"]}


async def chat(
    *args: str, stdin: Any = subprocess.DEVNULL, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Run `agentops chat ARGS` to its end: (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        *AGENTOPS, "chat", *args,
        stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def url(http: httpx.AsyncClient) -> str:
    return str(http.base_url).rstrip("/")


async def test_a_turn_prints_as_text_and_as_json_lines(tmp_path: Path) -> None:
    turns: list[dict[str, Any]] = [
        {"text": "Let me look.", "toolCalls": [LS]},
        {"text": "There is one file."},
    ]
    async with runtime(tmp_path, turns * 2, builtinTools=["ls"]) as (http, _):
        code, out, err = await chat("reviewer", "what is here?", "--url", url(http))
        assert (code, err) == (0, "")
        assert re.fullmatch(
            r'Let me look\.\n→ ls \{"path": "\."\}\n← ls done \(\d+ ms\)\nThere is one file\.\n',
            out,
        ), out

        before = (await http.get("/status")).json()["last_event_id"]
        code, out, err = await chat("reviewer", "and now?", "--url", url(http), "--json")
        logged = [json.loads(data) for _, data in await full_log(http, after=before)]
    assert (code, err) == (0, "")
    assert [json.loads(line) for line in out.splitlines()] == logged
    assert logged[0]["type"] == "agent_start" and logged[0]["prompt"] == "and now?"


async def test_without_a_terminal_a_permission_request_is_denied_and_said(
    tmp_path: Path,
) -> None:
    turns: list[dict[str, Any]] = [{"toolCalls": [WRITE]}, {"text": "Could not write it."}]
    async with runtime(tmp_path, turns, **GATED_WRITE) as (http, _):
        code, out, err = await chat("reviewer", "write a note", "--url", url(http))
    assert code == 0
    assert "← write failed: Permission denied by user" in out
    assert err == (
        "denied write: no terminal to ask on (run agentops chat in a terminal to approve tools)\n"
    )
    assert not (tmp_path / "work" / "note.txt").exists()


async def test_on_a_terminal_the_person_approves_a_permission_request(tmp_path: Path) -> None:
    turns: list[dict[str, Any]] = [{"toolCalls": [WRITE]}, {"text": "Written."}]
    async with runtime(tmp_path, turns, **GATED_WRITE) as (http, _):
        terminal, stdin = pty.openpty()
        process = await asyncio.create_subprocess_exec(
            *AGENTOPS, "chat", "reviewer", "write a note", "--url", url(http),
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        os.close(stdin)
        assert process.stderr is not None
        asked = b""
        while b"Allow it?" not in asked:
            chunk = await asyncio.wait_for(process.stderr.read(1024), 30)
            assert chunk, f"the chat ended without asking: {asked!r}"
            asked += chunk
        os.write(terminal, b"o\n")
        out, _ = await asyncio.wait_for(process.communicate(), 30)
        os.close(terminal)
    assert asked.decode() == (
        'The agent asks to run write {"content": "hi", "path": "note.txt"}\n'
        "Allow it? [o]nce, [a]lways, anything else denies: "
    )
    assert process.returncode == 0
    assert re.fullmatch(
        r'→ write \{"content": "hi", "path": "note.txt"\}\n← write done \(\d+ ms\)\nWritten\.\n',
        out.decode(),
    ), out
    assert (tmp_path / "work" / "note.txt").read_text() == "hi"


async def test_a_failed_turn_exits_1_with_the_error_on_stderr(tmp_path: Path) -> None:
    turns: list[dict[str, Any]] = [{"error": {"status": 401, "message": "invalid x-api-key"}}]
    async with runtime(tmp_path, turns) as (http, _):
        code, out, err = await chat("reviewer", "anything", "--url", url(http))
    assert (code, out) == (1, "")
    assert err == "error: demo/replay: HTTP 401: invalid x-api-key\n"


async def test_connection_and_usage_errors_exit_2_in_one_line() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    code, out, err = await chat("reviewer", "hello?", "--url", nowhere)
    assert (code, out) == (2, "")
    assert err.startswith(f"agentops chat: cannot reach the runtime at {nowhere}")
    assert err.count("\n") == 1 and "Traceback" not in err

    code, _, err = await chat("reviewer", "hello?", "--url", "ftp://example.com")
    assert code == 2 and "is not an http:// or https:// URL" in err


async def test_ctrl_c_aborts_the_turn_in_the_runtime_and_a_busy_agent_exits_2(
    tmp_path: Path,
) -> None:
    async with runtime(tmp_path, [{"text": "Thinking for ever", "stall": True}]) as (http, _):
        process = await asyncio.create_subprocess_exec(
            *AGENTOPS, "chat", "reviewer", "think", "--url", url(http),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.read(8), 30)  # the turn streams, then stalls

        code, _, err = await chat("reviewer", "me too", "--url", url(http))
        assert code == 2 and err == "agentops chat: agent is busy\n"

        process.send_signal(signal.SIGINT)
        _, err_bytes = await asyncio.wait_for(process.communicate(), 30)
        status = (await http.get("/status")).json()
        logged = [json.loads(data) for _, data in await full_log(http)]
    assert process.returncode == 130
    assert "interrupted; the turn was aborted" in err_bytes.decode()
    assert "Traceback" not in err_bytes.decode()
    assert status["state"] == "idle"
    assert [e["type"] for e in logged][-2:] == ["agent_error", "session_idle"]
    assert logged[-2]["error"] == "aborted by the user"


@pytest.mark.kube
async def test_the_runtime_is_found_through_the_cluster(
    control_plane: ControlPlane, kube: Any, namespace: str, tmp_path: Path
) -> None:
    rest = Kube(kube)
    await create(rest, namespace, agent("reviewer"))
    await create(rest, namespace, agent("nightly", mode="task"))
    cluster = ["--kubeconfig", str(control_plane.kubeconfig), "-n", namespace]
    env = {"XDG_CONFIG_HOME": str(tmp_path)}  # no user config file
    config = write_agent(tmp_path, [{"text": "Hello from the cluster."}])
    async with daemon(config, tmp_path / "state", AGENT_NAME="reviewer") as (http, _):
        # the configured URL is the first way ServiceAccess tries (port-forward and the
        # service proxy are test_service_access's)
        env["AGENT_URL_OVERRIDE"] = url(http)
        code, out, err = await chat("reviewer", "hi", *cluster, env=env)
        assert (code, out, err) == (0, "Hello from the cluster.\n", "")

        async def refused(name: str) -> str:
            code, _, err = await chat(name, "hi", *cluster, env=env)
            assert code == 2
            return err

        assert await refused("ghost") == f"agentops chat: no Agent ghost in namespace {namespace}\n"
        assert "nightly is a task agent" in await refused("nightly")
