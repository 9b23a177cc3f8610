"""`agentops runtime` as a real process: task mode's result and exit codes, a bad config's exit
code, and a kill -9 in the middle of a turn that loses no completed step."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from pathlib import Path

from httpx_sse import EventSource

from tests.runtime_process import AGENTOPS, daemon, write_agent


def run_task(tmp_path: Path, config: Path, prompt: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENT_NAME": "nightly", "AGENT_PROMPT": prompt}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    return subprocess.run(
        [*AGENTOPS, "runtime", "--config", str(config),
         "--termination-log", str(tmp_path / "termination-log")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_task_mode_prints_the_result_and_writes_the_termination_log(tmp_path: Path) -> None:
    config = write_agent(
        tmp_path,
        [
            {"text": "Checking.", "toolCalls": [{"name": "lookup", "input": {"q": "pods"}}]},
            {"text": "All pods run.", "usage": {"inputTokens": 50, "outputTokens": 7}},
        ],
    )
    done = run_task(tmp_path, config, "check the pods")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["success"] is True
    assert result["output"] == "All pods run."
    assert result["steps"] == 2 and result["model"] == "demo/replay"
    assert result["outputTokens"] >= 7 and len(result["traceID"]) == 32
    assert json.loads((tmp_path / "termination-log").read_text()) == result


def test_a_failed_task_exits_1_with_the_error(tmp_path: Path) -> None:
    config = write_agent(tmp_path, [{"error": {"status": 401, "message": "invalid x-api-key"}}])
    done = run_task(tmp_path, config, "anything")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["success"] is False
    assert result["error"] == "demo/replay: HTTP 401: invalid x-api-key"


def test_a_bad_config_exits_2_naming_the_field(tmp_path: Path) -> None:
    config = write_agent(tmp_path, [], maxSteps="ten")
    done = run_task(tmp_path, config, "anything")
    assert done.returncode == 2
    assert f"{config}: maxSteps: Input should be a valid integer" in done.stderr
    assert "Traceback" not in done.stderr
    result = json.loads((tmp_path / "termination-log").read_text())
    assert result["success"] is False and "maxSteps" in result["error"]

    unknown = write_agent(tmp_path, [], primaryModel="nowhere/model")
    done = run_task(tmp_path, unknown, "anything")
    assert done.returncode == 2
    assert "primaryModel: 'nowhere/model': no provider named 'nowhere'" in done.stderr


async def test_kill_9_mid_turn_keeps_every_completed_step(tmp_path: Path) -> None:
    step = {"text": "Looking.", "toolCalls": [{"name": "lookup", "input": {"q": "x"}}]}
    config = write_agent(tmp_path, [step, step, step, {"text": "Almost there", "stall": True}])
    state = tmp_path / "state"
    async with (
        daemon(config, state) as (client, process),
        client.stream("POST", "/prompt/stream", json={"prompt": "dig"}) as response,
    ):
        events = []
        async for event in EventSource(response).aiter_sse():
            events.append(json.loads(event.data))
            if events[-1]["type"] == "text_delta" and events[-1]["delta"] == "Almost there":
                break  # step 3 streams, then stalls for ever
        process.kill()  # SIGKILL: no shutdown hook runs
        await process.wait()
    finished = [e["step_number"] for e in events if e["type"] == "step_finish"]
    assert finished == [0, 1, 2]
    saved = json.loads((state / "checkpoint.json").read_text())
    assert [m["role"] for m in saved["messages"]] == ["user"] + ["assistant", "tool"] * 3
    assert not list(state.glob("*.tmp"))

    async with daemon(config, state) as (client, _):
        memory = (await client.get("/working-memory")).json()
    assert memory == saved["messages"]


async def test_sigterm_ends_the_running_turn_cleanly_and_exits(tmp_path: Path) -> None:
    config = write_agent(tmp_path, [{"text": "Thinking slowly", "stall": True}])
    state = tmp_path / "state"
    async with (
        daemon(config, state) as (client, process),
        client.stream("POST", "/prompt/stream", json={"prompt": "wait"}) as response,
    ):
        events = []
        async for event in EventSource(response).aiter_sse():
            events.append(json.loads(event.data))
            if events[-1]["type"] == "text_delta":
                process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down: the conventional SIGTERM exit
        assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGTERM
    assert [e["type"] for e in events][-2:] == ["agent_error", "session_idle"]
    saved = json.loads((state / "checkpoint.json").read_text())
    assert saved["messages"][0]["content"][0]["text"] == "wait"
