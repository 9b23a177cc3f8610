"""`agentops runtime` as a real process for tests: a config with the scripted provider, and a
daemon on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from agentops_services.testing.controlplane import free_port
from tests.conftest import eventually

AGENTOPS = [sys.executable, "-m", "agentops_services.cli.main"]


def write_agent(tmp_path: Path, turns: list[dict[str, Any]], **config: Any) -> Path:
    (tmp_path / "script.yaml").write_text(yaml.safe_dump({"turns": turns}))
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "providers": [{"name": "demo", "type": "scripted", "script": "script.yaml"}],
                "primaryModel": "demo/replay",
                "systemPrompt": "You are a test agent.",
                **config,
            }
        )
    )
    return path


@contextlib.asynccontextmanager
async def daemon(
    config: Path, state_dir: Path, **env_vars: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """`agentops runtime` as a daemon on a free loopback port: (client, process)."""
    port = free_port()
    env = {**os.environ, "AGENT_NAME": "crash-test", **env_vars}
    env.pop("AGENT_PROMPT", None)
    process = await asyncio.create_subprocess_exec(
        *AGENTOPS, "runtime", "--config", str(config), "--host", "127.0.0.1",
        "--port", str(port), "--state-dir", str(state_dir),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            async def healthy() -> None:
                assert process.returncode is None, "the runtime exited"
                (await client.get("/healthz")).raise_for_status()

            await eventually(healthy, timeout=30)
            yield client, process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
