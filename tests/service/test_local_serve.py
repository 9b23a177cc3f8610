"""`agentops serve` end to end on loopback: the first run's sample agents on the offline demo
model, started as real runtime processes with the real memory service and trace store beside
them; a chat turn with a real tool call; a task run started through the platform API and
followed by two watchers; an invalid resource file reported while everything else runs."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from agentops_services.local.client import PlatformClient, Synced
from agentops_services.local.objects import WatchEvent
from agentops_services.local.platform_record import read_record
from tests.conftest import eventually
from tests.service.served_platform import Served, running, served

__all__ = ["served"]  # the fixture the tests take


async def test_the_sample_assistant_answers_on_the_offline_demo_with_a_real_tool(
    served: Served,
) -> None:
    assert served.report.demo and served.report.configure_hint
    assert read_record(served.data.platform_file) is not None
    await running(served, "assistant")
    services = await served.services()
    runtimes = services["runtimes"]
    assert isinstance(runtimes, dict) and set(runtimes) == {"assistant"}
    chat = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentops_services.cli.main", "chat", "assistant",
        "what is in the workspace?", "--url", str(runtimes["assistant"]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(chat.communicate(), 60)
    assert chat.returncode == 0, err.decode()
    text = out.decode()
    assert "offline demo model" in text
    assert '→ ls {"path": "."}' in text and "← ls done" in text
    async with httpx.AsyncClient(base_url=str(services["tempo"]), timeout=5) as tempo:

        async def traced() -> None:  # the runtime exports its spans to the trace store
            found = await tempo.get("/api/search", params={"q": '{ name = "agent.prompt" }'})
            assert found.status_code == 200 and found.json()["traces"], found.text

        await eventually(traced, timeout=30)
    async with httpx.AsyncClient(base_url=str(services["memory"]), timeout=5) as memory:
        assert (await memory.get("/healthz")).status_code == 200


async def test_a_run_started_through_the_api_is_followed_by_two_watchers(
    served: Served,
) -> None:
    async def final_phase(client: PlatformClient, name: asyncio.Future[str]) -> str:
        synced = False
        async for item in client.watch(("AgentRun",)):
            if isinstance(item, Synced):
                synced = True
                continue
            assert isinstance(item, WatchEvent)
            phase = (item.object.get("status") or {}).get("phase")
            ours = name.done() and item.object["metadata"]["name"] == name.result()
            if synced and ours and phase in ("Succeeded", "Failed"):
                return str(phase)
        raise AssertionError("the watch ended")

    named: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    async with PlatformClient(served.url) as other:
        watchers = [
            asyncio.create_task(final_phase(client, named)) for client in (served.client, other)
        ]
        run = await served.client.create_run("summarize", "summarize the workspace")
        named.set_result(run["metadata"]["name"])
        phases = await asyncio.wait_for(asyncio.gather(*watchers), 90)
    assert phases == ["Succeeded", "Succeeded"]
    finished = await served.client.get("AgentRun", run["metadata"]["name"])
    assert "run for real just now" in finished["status"]["output"]  # the demo's last words
    assert finished["status"]["toolCalls"] >= 1  # the demo lists the workspace


async def test_an_invalid_file_is_reported_and_everything_else_keeps_running(
    served: Served,
) -> None:
    await running(served, "assistant")
    broken = served.data.resources / "broken.yaml"
    broken.write_text(
        "apiVersion: agents.agentops.io/v1alpha1\nkind: Agent\nmetadata:\n  name: broken\n"
        "spec:\n  mode: sometimes\n"
    )

    async def reported() -> None:
        problems = (await served.client.problems()).problems
        assert any(
            p.path.endswith("broken.yaml") and p.line == 6 and p.field == "spec.mode"
            for p in problems
        ), problems

    await eventually(reported, timeout=10)
    await running(served, "assistant")
    assert await served.phase("Agent", "summarize") == "Ready"


async def test_a_killed_memory_service_is_restarted_where_the_runtimes_reach_it(
    served: Served,
) -> None:
    """The platform's own services are supervised like the runtimes: killed, the memory
    service comes back on the same port, so the runtimes' configured URL keeps working."""
    memory = str((await served.services())["memory"])
    pid = _pid_of("memory", served.data.memory_db)
    os.kill(pid, signal.SIGKILL)

    async def back() -> None:
        assert _pid_of("memory", served.data.memory_db) != pid
        async with httpx.AsyncClient(base_url=memory, timeout=2) as http:
            assert (await http.get("/healthz")).status_code == 200

    await eventually(back, timeout=30)
    assert (await served.services())["memory"] == memory


def _pid_of(service: str, db: Path) -> int:
    """The process serving `service` on `db` (its command line names both)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if service.encode() in argv and str(db).encode() in argv:
            return int(entry.name)
    raise AssertionError(f"no {service} process for {db}")
