"""Agents of the embedded platform as real `agentops runtime` processes, talking to the fake
LLM server on loopback: a daemon Agent becomes Running and serves; killed, it comes back with
backoff and continues its conversation from its checkpoint; a config change restarts it and a
removed Agent's runtime stops; provider keys reach the runtime (the provider sees them) and
nothing on disk or in the logs; task runs succeed, fail with the reason and time out; a daemon
run goes through `POST /runs`, waiting while the runtime is busy; a schedule fires on an
injected clock. After each test no process it started is alive."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops_services.api.v1alpha1 import Agent, AgentRun, Provider
from agentops_services.api.v1alpha1.agentrun import AgentRunStatus
from agentops_services.local.agent_runs import AgentRuns, RunExecutor
from agentops_services.local.catalog import Catalog
from agentops_services.local.daemon_runs import DaemonRuns
from agentops_services.local.paths import DataDir
from agentops_services.local.processes import Backoff, ProcessSupervisor
from agentops_services.local.runtime_setup import RuntimeHost, RuntimeSetup
from agentops_services.local.runtimes import DaemonAgents, process_name
from agentops_services.local.schedules import Schedules
from agentops_services.local.task_runs import TaskRuns
from agentops_services.operator.names import A_SCHEDULED_AT
from tests.conftest import eventually
from tests.service.conftest import Clock, FakeProvider
from tests.service.local_support import (
    RecordingSink,
    agent,
    agent_run,
    data_dir,
    provider,
    survivors,
)

SECRET = "sk-local-7f3a9c1e5b2d4f6a8c0e"
KEY_VARIABLE = "FAKE_API_KEY"
SCHEDULED_AT = A_SCHEDULED_AT
FAST = Backoff(initial=0.2, factor=2.0, limit=1.0, reset_after=30.0)


@dataclass
class Platform:
    """The runtimes' part of the embedded platform, wired to a recording sink."""

    data: DataDir
    sink: RecordingSink
    supervisor: ProcessSupervisor
    daemons: DaemonAgents
    runs: AgentRuns
    fake: FakeProvider
    secrets: dict[str, str]

    def catalog(self, *agents: Agent, providers: list[Provider] | None = None) -> Catalog:
        found = providers if providers is not None else [provider("fake", f"{self.fake.url}/v1")]
        return Catalog(agents={a.name: a for a in agents}, providers={p.name: p for p in found})


@pytest.fixture
async def platform(tmp_path: Path, fake_llm: FakeProvider) -> AsyncIterator[Platform]:
    data = data_dir(tmp_path)
    sink = RecordingSink()
    supervisor = ProcessSupervisor(backoff=FAST, grace=5.0)
    env = {k: v for k, v in os.environ.items() if k != KEY_VARIABLE}
    env["PYTHONPATH"] = os.getcwd()
    host = RuntimeHost(supervisor, data, RuntimeSetup(base_env=env, secrets_file=data.secrets_file))
    daemons = DaemonAgents(host, sink)
    executors: dict[str, RunExecutor] = {
        "task": TaskRuns(host),
        "daemon": DaemonRuns(daemons, poll_interval=0.1, busy_retry=0.1),
    }
    runs = AgentRuns(sink, executors)
    world = Platform(data, sink, supervisor, daemons, runs, fake_llm, {KEY_VARIABLE: SECRET})
    try:
        yield world
    finally:
        await runs.close()
        await daemons.close()
        await supervisor.close()
        assert survivors(supervisor.started_pids) == []


def script(*turns: dict[str, Any]) -> dict[str, Any]:
    return {"turns": list(turns)}


async def running(platform: Platform, name: str) -> str:
    """The agent's runtime URL once its status says Running."""

    async def check() -> str:
        status = platform.sink.agents[name]
        assert status["phase"] == "Running", status
        return str(status["serviceURL"])

    return await eventually(check, timeout=60)


def runtime_pid(platform: Platform, name: str) -> int:
    process = platform.supervisor.get(process_name(name))
    assert process is not None and process.pid is not None
    return process.pid


def user_texts(body: dict[str, Any]) -> list[str]:
    return [str(m["content"]) for m in body["messages"] if m["role"] == "user"]


async def test_a_daemon_agent_runs_restarts_after_a_kill_and_continues_its_conversation(
    platform: Platform,
) -> None:
    platform.fake.use(
        script({"text": "Noted: the word is heron."}, {"text": "The word was heron."})
    )
    assistant = agent("assistant")
    await platform.daemons.reconcile(platform.catalog(assistant), platform.secrets)
    url = await running(platform, "assistant")
    status = platform.sink.agents["assistant"]
    assert status["readyReplicas"] == 1 and status["activeModel"] == "fake/gpt-fake"
    assert platform.sink.condition("Agent", "assistant", "Ready")["reason"] == "Running"
    assert platform.sink.condition("Agent", "assistant", "Accepted")["status"] == "True"
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert (await client.get("/healthz")).status_code == 200
        first = await client.post("/prompt", json={"prompt": "Remember the word heron."})
        assert first.json()["output"] == "Noted: the word is heron."

        os.kill(runtime_pid(platform, "assistant"), signal.SIGKILL)

        async def crashed() -> None:
            ready = platform.sink.condition("Agent", "assistant", "Ready")
            assert ready["reason"] == "CrashLoopBackOff"
            assert "was killed by SIGKILL" in ready["message"]

        await eventually(crashed, timeout=30)
        assert await running(platform, "assistant") == url  # same port after the restart
        second = await client.post("/prompt", json={"prompt": "Which word?"})
        assert second.json()["output"] == "The word was heron."
    phases = [s["phase"] for k, n, s in platform.sink.history if k == "Agent"]
    assert phases.index("Failed") > phases.index("Running")
    # the restarted runtime sent the model the conversation from its checkpoint
    assert user_texts(platform.fake.llm.requests[-1].body)[:2] == [
        "Remember the word heron.",
        "Which word?",
    ]


async def test_a_config_change_restarts_the_runtime_and_a_removed_agent_stops(
    platform: Platform,
) -> None:
    await platform.daemons.reconcile(platform.catalog(agent("a"), agent("b")), platform.secrets)
    await running(platform, "a")
    await running(platform, "b")
    first_a, first_b = runtime_pid(platform, "a"), runtime_pid(platform, "b")

    await platform.daemons.reconcile(platform.catalog(agent("a"), agent("b")), platform.secrets)
    assert (runtime_pid(platform, "a"), runtime_pid(platform, "b")) == (first_a, first_b)

    changed = agent("a", generation=2, systemPrompt="You are terse.")
    await platform.daemons.reconcile(platform.catalog(changed), platform.secrets)
    config = json.loads(platform.data.agent("a").config.read_text())
    assert config["systemPrompt"] == "You are terse."
    assert platform.supervisor.get(process_name("b")) is None
    assert survivors([first_b, first_a]) == []
    assert runtime_pid(platform, "a") != first_a
    await running(platform, "a")
    assert platform.sink.condition("Agent", "a", "Ready")["observedGeneration"] == 2


async def test_provider_keys_reach_the_runtime_and_nothing_on_disk_or_in_logs(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    platform.fake.use(script({"text": "Hello."}))
    await platform.daemons.reconcile(platform.catalog(agent("keyed")), platform.secrets)
    url = await running(platform, "keyed")
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert (await client.post("/prompt", json={"prompt": "hi"})).status_code == 200
    assert platform.fake.llm.requests[-1].headers["authorization"] == f"Bearer {SECRET}"
    assert platform.sink.condition("Agent", "keyed", "CredentialsFound")["status"] == "True"
    await platform.daemons.close()
    for path in platform.data.root.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in caplog.text
    assert SECRET not in json.dumps(platform.sink.history)
    assert SECRET not in repr(platform.daemons.setup)


async def test_a_missing_key_is_named_on_the_agent(platform: Platform) -> None:
    await platform.daemons.reconcile(platform.catalog(agent("keyless")), {})
    await running(platform, "keyless")
    condition = platform.sink.condition("Agent", "keyless", "CredentialsFound")
    assert condition["status"] == "False" and condition["reason"] == "SecretNotFound"
    assert KEY_VARIABLE in condition["message"]
    assert str(platform.data.secrets_file) in condition["message"]


async def test_an_agent_missing_a_provider_is_pending_and_a_task_agent_ready(
    platform: Platform,
) -> None:
    catalog = platform.catalog(agent("lost"), agent("nightly", mode="task"), providers=[])
    await platform.daemons.reconcile(catalog, platform.secrets)
    lost = platform.sink.agents["lost"]
    assert lost["phase"] == "Pending"
    accepted = platform.sink.condition("Agent", "lost", "Accepted")
    assert accepted["reason"] == "ReferenceNotFound"
    assert accepted["message"] == 'Provider "fake" not found in namespace local'
    assert platform.supervisor.names() == []

    await platform.daemons.reconcile(platform.catalog(agent("nightly", mode="task")), {})
    assert platform.sink.agents["nightly"]["phase"] == "Ready"
    assert platform.sink.condition("Agent", "nightly", "Ready")["status"] == "True"


async def finished(platform: Platform, name: str, timeout: float = 60) -> dict[str, Any]:
    async def check() -> dict[str, Any]:
        status = platform.sink.runs[name]
        assert status["phase"] in ("Succeeded", "Failed"), status
        return status

    return await eventually(check, timeout=timeout)


async def test_a_task_run_succeeds_with_output_tokens_and_model(platform: Platform) -> None:
    platform.fake.use(
        script({"text": "Report: all green.", "usage": {"inputTokens": 40, "outputTokens": 6}})
    )
    nightly = agent("nightly", mode="task")
    run = agent_run("nightly-1", "nightly", "Write the report.")
    await platform.runs.reconcile([run], platform.catalog(nightly), platform.secrets)
    status = await finished(platform, "nightly-1")
    assert status["phase"] == "Succeeded", status
    assert status["output"] == "Report: all green."
    assert status["tokensUsed"] == 46 and status["toolCalls"] == 1
    assert status["model"] == "fake/gpt-fake" and len(status["traceID"]) == 32
    assert status["mode"] == "task" and status["startTime"] and status["completionTime"]
    complete = platform.sink.condition("AgentRun", "nightly-1", "Complete")
    assert (complete["status"], complete["reason"]) == ("True", "Succeeded")
    assert platform.sink.condition("AgentRun", "nightly-1", "Ready")["status"] == "True"
    phases = [s["phase"] for k, n, s in platform.sink.history if n == "nightly-1"]
    assert phases[0] == "Running"
    assert platform.fake.llm.requests[-1].headers["authorization"] == f"Bearer {SECRET}"
    assert user_texts(platform.fake.llm.requests[-1].body) == ["Write the report."]


async def test_a_failing_task_run_fails_with_the_reason(platform: Platform) -> None:
    platform.fake.use(script({"error": {"status": 401, "message": "invalid api key"}}))
    run = agent_run("nightly-2", "nightly", "Write the report.")
    catalog = platform.catalog(agent("nightly", mode="task"))
    await platform.runs.reconcile([run], catalog, platform.secrets)
    status = await finished(platform, "nightly-2")
    assert status["phase"] == "Failed"
    assert "HTTP 401" in status["output"] and "invalid api key" in status["output"]
    ready = platform.sink.condition("AgentRun", "nightly-2", "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "Failed")


async def test_a_task_run_past_its_timeout_is_killed_and_fails(platform: Platform) -> None:
    platform.fake.use(script({"text": "Thinking about it", "stall": True}))
    slow = agent("slow", mode="task", timeout="2s")
    run = agent_run("slow-1", "slow", "Take your time.")
    await platform.runs.reconcile([run], platform.catalog(slow), platform.secrets)
    await eventually(lambda: _running(platform, "slow-1"), timeout=30)
    status = await finished(platform, "slow-1")
    assert status["phase"] == "Failed"
    assert status["output"] == "Run timed out after 2s (limit 2s)"
    assert platform.sink.condition("AgentRun", "slow-1", "Complete")["reason"] == "Timeout"
    assert platform.supervisor.names() == []
    assert survivors(platform.supervisor.started_pids) == []


async def test_queued_task_runs_start_in_order_as_slots_free(platform: Platform) -> None:
    platform.fake.use(script({"text": "one"}, {"text": "two"}))
    nightly = agent("nightly", mode="task")
    runs = [
        agent_run("nightly-a", "nightly", "first", created="2026-04-09T10:00:00Z"),
        agent_run("nightly-b", "nightly", "second", created="2026-04-09T10:00:01Z"),
    ]
    await platform.runs.reconcile(runs, platform.catalog(nightly), platform.secrets)
    assert platform.sink.runs["nightly-b"]["phase"] == "Queued"
    assert platform.sink.condition("AgentRun", "nightly-b", "Admitted")["message"] == (
        "1 of 1 running, 0 ahead"
    )
    assert (await finished(platform, "nightly-a"))["output"] == "one"
    assert (await finished(platform, "nightly-b"))["output"] == "two"


async def test_a_daemon_run_goes_through_post_runs_and_waits_while_the_runtime_is_busy(
    platform: Platform,
) -> None:
    platform.fake.use(script({"text": "Still going", "stall": True}, {"text": "Run done."}))
    helper = agent("helper")
    catalog = platform.catalog(helper)
    await platform.daemons.reconcile(catalog, platform.secrets)
    url = await running(platform, "helper")
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        chat = asyncio.create_task(client.post("/prompt", json={"prompt": "chat"}))
        await eventually(lambda: _expect(len(platform.fake.llm.requests) == 1), timeout=30)
        run = agent_run("helper-1", "helper", "Do the run.")
        await platform.runs.reconcile([run], catalog, platform.secrets)

        async def busy() -> None:
            status = platform.sink.runs["helper-1"]
            assert status["phase"] == "Pending"
            assert platform.sink.condition("AgentRun", "helper-1", "Admitted")["reason"] == (
                "RuntimeBusy"
            )

        await eventually(busy, timeout=30)
        assert (await client.delete("/abort")).status_code == 200
        await chat
    status = await finished(platform, "helper-1")
    assert status["phase"] == "Succeeded", status
    assert status["output"] == "Run done." and status["mode"] == "daemon"
    assert status["tokensUsed"] > 0 and status["model"]
    phases = [s["phase"] for _, n, s in platform.sink.history if n == "helper-1"]
    assert phases == ["Pending", "Running", "Succeeded"]


async def test_a_daemon_run_waits_for_its_agent_to_be_running(platform: Platform) -> None:
    platform.fake.use(script({"text": "Done."}))
    late = agent("late")
    run = agent_run("late-1", "late", "Go.")
    await platform.runs.reconcile([run], platform.catalog(late), platform.secrets)

    async def waiting() -> None:
        assert platform.sink.runs["late-1"]["phase"] == "Pending"
        ready = platform.sink.condition("AgentRun", "late-1", "AgentReady")
        assert ready["reason"] == "AgentNotRunning"

    await eventually(waiting, timeout=10)
    await platform.daemons.reconcile(platform.catalog(late), platform.secrets)
    assert (await finished(platform, "late-1"))["output"] == "Done."


async def test_a_run_of_a_missing_agent_fails(platform: Platform) -> None:
    await platform.runs.reconcile([agent_run("ghost-1", "ghost", "Boo.")], Catalog(), {})
    status = platform.sink.runs["ghost-1"]
    assert status["phase"] == "Failed" and status["output"] == 'Agent "ghost" not found'


async def test_a_schedule_fires_once_per_due_time_on_an_injected_clock(
    platform: Platform, clock: Clock
) -> None:
    schedules = Schedules(platform.sink, platform.daemons.statuses, clock=clock)
    reporter = agent(
        "reporter", mode="task", schedule="*/5 * * * *", schedulePrompt="Write the report."
    )
    catalog = platform.catalog(reporter)
    assert await schedules.fire(catalog, []) == 300.0  # created at 10:00: next is 10:05
    assert platform.sink.created == []

    clock.advance(minutes=5, seconds=30)
    wait = await schedules.fire(catalog, [])
    assert wait == timedelta(minutes=4, seconds=30).total_seconds()
    [made] = platform.sink.created
    due = clock.now.replace(minute=5, second=0)
    assert made["metadata"]["name"] == f"reporter-sched-{int(due.timestamp()) // 60}"
    assert made["metadata"]["namespace"] == "local"
    assert made["spec"] == {
        "agentRef": "reporter",
        "prompt": "Write the report.",
        "source": "schedule",
        "sourceRef": "*/5 * * * *",
    }
    assert made["metadata"]["annotations"][SCHEDULED_AT] == "2026-04-09T10:05:00Z"
    assert platform.sink.agents["reporter"]["lastScheduleTime"] == "2026-04-09T10:05:00Z"

    await schedules.fire(catalog, [])  # the same due time: nothing new
    assert len(platform.sink.created) == 1
    clock.advance(minutes=12)  # 10:17:30: 10:10 and 10:15 were missed, only 10:15 is made
    await schedules.fire(catalog, [AgentRun.model_validate(made)])
    times = [m["metadata"]["annotations"][SCHEDULED_AT] for m in platform.sink.created]
    assert times == ["2026-04-09T10:05:00Z", "2026-04-09T10:15:00Z"]


async def _running(platform: Platform, name: str) -> None:
    assert platform.sink.runs[name]["phase"] == "Running"


async def _expect(condition: bool) -> None:
    assert condition


async def test_the_offline_demo_agent_answers_from_the_scripted_model(platform: Platform) -> None:
    demo = provider("fake", "scripted://offline-demo", keyed=False)
    await platform.daemons.reconcile(platform.catalog(agent("assistant"), providers=[demo]), {})
    url = await running(platform, "assistant")
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        answer = (await client.post("/prompt", json={"prompt": "hello"})).json()
    assert "To talk to a real model" in answer["output"]
    assert answer["steps"] == 2  # the demo's `ls` ran in the agent's workspace
    assert (platform.data.agent("assistant").root / "offline-demo-script.yaml").is_file()
    assert platform.fake.llm.requests == []


async def test_a_run_left_running_by_a_stopped_platform_fails_instead_of_running_twice(
    platform: Platform,
) -> None:
    run = agent_run("nightly-9", "nightly", "Write the report.").model_copy(
        update={"status": AgentRunStatus(phase="Running", mode="task")}
    )
    catalog = platform.catalog(agent("nightly", mode="task"))
    await platform.runs.reconcile([run], catalog, platform.secrets)
    status = platform.sink.runs["nightly-9"]
    assert status["phase"] == "Failed" and status["mode"] == "task"
    assert platform.sink.condition("AgentRun", "nightly-9", "Complete")["reason"] == "Interrupted"
    assert platform.supervisor.names() == [] and platform.fake.llm.requests == []
