"""MCP tools through the runtime: a stdio server from an unpacked tool image and a streamable
HTTP server (tests/fakes/mcp_server.py, built with the mcp SDK), called by the model through the
fake provider: naming, directTools, allow/deny rules, headers, tools/list_changed, and a server
that crashes mid-call and comes back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from agentops_services.testing.controlplane import free_port
from tests.conftest import REPO, eventually
from tests.service.conftest import FakeProvider, agent_config, prompt_stream, running_runtime

FAKE_SERVER = REPO / "tests" / "fakes" / "mcp_server.py"


def tool_image(tmp_path: Path) -> Path:
    """An unpacked OCI tool: manifest.json and bin/server, which refuses to start while a
    `down` file exists (so a test can keep the server from coming back)."""
    root = tmp_path / "tools" / "fake"
    (root / "bin").mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps({"name": "fake", "command": "server"}))
    server = root / "bin" / "server"
    server.write_text(
        f"#!/bin/sh\n[ -e {root}/down ] && exit 1\nexec {sys.executable} {FAKE_SERVER}\n"
    )
    server.chmod(0o755)
    return root


def call(name: str, call_id: str, **arguments: Any) -> dict[str, Any]:
    return {"toolCalls": [{"name": name, "id": call_id, "input": arguments}]}


def results(events: list[Any]) -> dict[str, dict[str, Any]]:
    return {e.data["id"]: e.data for e in events if e.type == "tool_result"}


def advertised(fake: FakeProvider, request: int = 0) -> list[str]:
    return [t["function"]["name"] for t in fake.llm.requests[request].body.get("tools", [])]


async def test_a_stdio_tool_image_is_started_and_its_tools_called(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    root = tool_image(tmp_path)
    fake_llm.use({"turns": [call("mcp_fake_echo", "e", text="hi"), call("mcp_fake_fail", "f", reason="x"),
                            call("mcp_fake_grow", "g"), call("mcp_fake_extra", "x"),
                            {"text": "done"}]})  # fmt: skip
    config = agent_config(fake_llm, tools=[{"name": "fake", "path": str(root)}])
    async with running_runtime(tmp_path, config) as runtime:
        events = await prompt_stream(runtime.client, "use the tools")
    names = advertised(fake_llm)
    assert names[:3] == ["mcp_fake_echo", "mcp_fake_add", "mcp_fake_kubectl_get"]
    assert "mcp_fake_extra" not in names
    assert "mcp_fake_extra" in advertised(fake_llm, 3)  # listed again after tools/list_changed
    done = results(events)
    assert done["e"]["output"] == "echo: hi" and not done["e"]["is_error"]
    assert done["f"]["is_error"] and "failed on purpose: x" in done["f"]["output"]
    assert done["x"]["output"] == "extra!"
    metadata = json.loads(done["e"]["metadata"])
    assert (metadata["server"], metadata["tool"], metadata["transport"]) == (
        "fake",
        "echo",
        "stdio",
    )
    tools = fake_llm.llm.requests[0].body["tools"]
    kubectl = next(t["function"] for t in tools if t["function"]["name"] == "mcp_fake_kubectl_get")
    assert kubectl["parameters"]["required"] == ["kind"]


async def test_a_crashed_server_fails_its_calls_warns_and_comes_back(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    root = tool_image(tmp_path)
    fake_llm.use({"turns": [call("mcp_fake_crash", "c"), {"text": "it crashed"},
                            call("mcp_fake_echo", "down"), {"text": "still down"},
                            call("mcp_fake_echo", "back", text="again"), {"text": "back"}]})  # fmt: skip
    config = agent_config(fake_llm, tools=[{"name": "fake", "path": str(root)}])
    async with running_runtime(tmp_path, config) as runtime:
        (root / "down").touch()  # restarts fail from now on
        crashed = results(await prompt_stream(runtime.client, "crash it"))
        server = runtime.agent.mcp.servers[0]  # type: ignore[union-attr]

        async def failed_to_restart() -> None:
            assert not server.up and server.error and "fake" not in server.error

        await eventually(failed_to_restart)
        while_down = await prompt_stream(runtime.client, "try again")
        (root / "down").unlink()

        async def back() -> None:
            assert server.up

        await eventually(back, timeout=30)
        again = results(await prompt_stream(runtime.client, "and now?"))
    assert crashed["c"]["is_error"] and "stopped during the call" in crashed["c"]["output"]
    warnings = [w for e in while_down if e.type == "warnings" for w in e.data["warnings"]]
    assert any(w.startswith("MCP server fake is unavailable") for w in warnings)
    down = results(while_down)["down"]
    assert down["is_error"] and "MCP server fake is unavailable" in down["output"]
    assert again["back"]["output"] == "echo: again"


@contextlib.asynccontextmanager
async def http_server() -> AsyncIterator[str]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(FAKE_SERVER), "--http", str(port),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    try:

        async def listening() -> None:
            async with httpx.AsyncClient() as client:
                await client.get(url)

        await eventually(listening)
        yield url
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def test_an_http_server_with_headers_direct_tools_and_rules(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    turns = [
        call("whoami", "w"),
        call("mcp_remote_echo", "blocked", text="secret-plan"),
        call("mcp_remote_echo", "ok", text="hello"),
        {"text": "done"},
    ]
    fake_llm.use({"turns": turns})
    async with http_server() as url:
        server = {
            "name": "remote",
            "url": url,
            "headers": {"Authorization": "Bearer t0ken"},
            "directTools": ["whoami"],
            "permissions": {"mode": "deny", "rules": ["add", "echo:text=secret*"]},
        }
        config = agent_config(fake_llm, mcpServers=[server])
        async with running_runtime(tmp_path, config) as runtime:
            events = await prompt_stream(runtime.client, "who am I?")
    names = advertised(fake_llm)
    assert "whoami" in names and "mcp_remote_echo" in names
    assert "mcp_remote_add" not in names  # denied outright: not even advertised
    done = results(events)
    assert done["w"]["output"] == "Bearer t0ken"
    assert done["blocked"]["is_error"]
    assert "blocked by policy (deny mode)" in done["blocked"]["output"]
    assert done["ok"]["output"] == "echo: hello"
