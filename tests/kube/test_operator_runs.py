"""AgentRuns against the real control plane: task runs as Jobs whose result comes from the
pod's termination message (the test plays the kubelet's part, and the real Job controller
turns that into Job status), each concurrency policy including runs created at once, and
schedules with an injected clock."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from kubernetes_asyncio import client

from agentops_services.kube import resources as types
from agentops_services.kube.rest import Kube, Object
from agentops_services.operator.names import L_AGENT
from tests.conftest import eventually
from tests.kube.operator_harness import (
    Clock,
    agent,
    agent_run,
    condition,
    create,
    get,
    pods_of,
    running_operator,
    status_of,
    with_provider,
)

pytestmark = pytest.mark.kube


async def task_agent(k: Kube, namespace: str, name: str = "auditor", **spec: object) -> None:
    await with_provider(k, namespace)
    await create(k, namespace, agent(name, mode="task", **spec))

    async def ready() -> None:
        assert (await status_of(k, types.AGENT, namespace, name)).get("phase") == "Ready"

    await eventually(ready, timeout=20)


async def finish_pod(k: Kube, namespace: str, job: str, result: dict[str, object]) -> None:
    """Simulate the kubelet: the Job's pod ran and its runtime wrote `result` to the
    termination log."""
    (pod,) = await pods_of(k, namespace, f"job-name={job}")
    code = 0 if result.get("success") else 1
    await k.patch(
        types.POD,
        namespace,
        pod["metadata"]["name"],
        {
            "status": {
                "phase": "Succeeded" if code == 0 else "Failed",
                "containerStatuses": [
                    {
                        "name": "agent-runtime",
                        "image": pod["spec"]["containers"][0]["image"],
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {
                            "terminated": {
                                "exitCode": code,
                                "reason": "Completed" if code == 0 else "Error",
                                "message": json.dumps(result),
                            }
                        },
                    }
                ],
            }
        },
        subresource="status",
    )


def phase(status: Object) -> str | None:
    value = status.get("phase")
    return None if value is None else str(value)


async def test_a_task_run_is_a_job_whose_termination_message_is_the_result(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        await task_agent(k, namespace)
        run = agent_run("audit-1", "auditor", prompt="audit the cluster")
        await create(k, namespace, run)
        job = await eventually(lambda: get(k, types.JOB, namespace, "audit-1"), timeout=20)
        env = {
            e["name"]: e.get("value")
            for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert env["AGENT_PROMPT"] == "audit the cluster" and env["AGENT_RUN_NAME"] == "audit-1"
        assert job["metadata"]["ownerReferences"][0]["kind"] == "AgentRun"
        status = await status_of(k, types.AGENT_RUN, namespace, "audit-1")
        assert status["phase"] == "Running" and status["jobName"] == "audit-1"
        labelled = await get(k, types.AGENT_RUN, namespace, "audit-1")
        assert labelled["metadata"]["labels"][L_AGENT] == "auditor"

        result = {"output": "3 findings", "steps": 4, "model": "claude", "success": True,
                  "traceID": "0af7651916cd43dd8448eb211c80319c", "inputTokens": 100,
                  "outputTokens": 20}  # fmt: skip
        await eventually(lambda: finish_pod(k, namespace, "audit-1", result), timeout=20)

        async def succeeded() -> None:
            status = await status_of(k, types.AGENT_RUN, namespace, "audit-1")
            assert status["phase"] == "Succeeded", status
            assert status["output"] == "3 findings"
            assert status["tokensUsed"] == 120 and status["toolCalls"] == 4
            assert status["traceID"] == "0af7651916cd43dd8448eb211c80319c"
            assert condition(status, "Complete")["reason"] == "Succeeded"

        await eventually(succeeded, timeout=30)


async def test_a_failed_task_reports_the_runtime_error(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        await task_agent(k, namespace)
        await create(k, namespace, agent_run("audit-1", "auditor"))
        await eventually(lambda: get(k, types.JOB, namespace, "audit-1"), timeout=20)
        result = {"output": "", "steps": 1, "model": "m", "success": False,
                  "error": "provider refused the key"}  # fmt: skip
        await eventually(lambda: finish_pod(k, namespace, "audit-1", result), timeout=20)

        async def failed() -> None:
            status = await status_of(k, types.AGENT_RUN, namespace, "audit-1")
            assert status["phase"] == "Failed", status
            assert status["output"] == "provider refused the key"

        await eventually(failed, timeout=30)


async def test_a_run_for_a_missing_agent_fails_naming_it(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        await create(k, namespace, agent_run("lost", "nobody"))

        async def failed() -> None:
            status = await status_of(k, types.AGENT_RUN, namespace, "lost")
            assert status["phase"] == "Failed"
            assert status["output"] == 'Agent "nobody" not found'

        await eventually(failed)


async def test_queue_policy_starts_one_of_two_runs_created_at_once_then_the_next_in_order(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        await task_agent(k, namespace, concurrency={"maxRuns": 1, "policy": "queue"})
        await asyncio.gather(
            create(k, namespace, agent_run("run-a", "auditor")),
            create(k, namespace, agent_run("run-b", "auditor")),
        )

        async def one_running() -> tuple[str, str]:
            a = phase(await status_of(k, types.AGENT_RUN, namespace, "run-a"))
            b = phase(await status_of(k, types.AGENT_RUN, namespace, "run-b"))
            assert sorted([a or "", b or ""]) == ["Queued", "Running"], (a, b)
            return ("run-a", "run-b") if a == "Running" else ("run-b", "run-a")

        first, second = await eventually(one_running, timeout=20)
        jobs = await k.list(types.JOB, namespace)
        assert [j["metadata"]["name"] for j in jobs["items"]] == [first]
        result = {"output": "done", "steps": 1, "model": "m", "success": True}
        await eventually(lambda: finish_pod(k, namespace, first, result), timeout=20)

        async def next_started() -> None:
            assert phase(await status_of(k, types.AGENT_RUN, namespace, first)) == "Succeeded"
            assert phase(await status_of(k, types.AGENT_RUN, namespace, second)) == "Running"

        await eventually(next_started, timeout=30)


async def test_reject_policy_fails_the_second_run(kube: client.ApiClient, namespace: str) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        await task_agent(k, namespace, concurrency={"maxRuns": 1, "policy": "reject"})
        await create(k, namespace, agent_run("run-a", "auditor"))
        await eventually(lambda: get(k, types.JOB, namespace, "run-a"), timeout=20)
        await create(k, namespace, agent_run("run-b", "auditor"))

        async def rejected() -> None:
            status = await status_of(k, types.AGENT_RUN, namespace, "run-b")
            assert status["phase"] == "Failed"
            assert status["output"] == "Rejected: max concurrent runs exceeded"

        await eventually(rejected)
        assert phase(await status_of(k, types.AGENT_RUN, namespace, "run-a")) == "Running"


async def test_replace_policy_really_stops_the_replaced_run(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        await task_agent(k, namespace, concurrency={"maxRuns": 1, "policy": "replace"})
        await create(k, namespace, agent_run("run-a", "auditor"))
        await eventually(lambda: get(k, types.JOB, namespace, "run-a"), timeout=20)
        await create(k, namespace, agent_run("run-b", "auditor"))

        async def replaced() -> None:
            old = await status_of(k, types.AGENT_RUN, namespace, "run-a")
            assert old["phase"] == "Failed" and old["output"] == "Cancelled: replaced by run-b"
            job = await k.get(types.JOB, namespace, "run-a")
            assert job is None or job["metadata"].get("deletionTimestamp")
            assert phase(await status_of(k, types.AGENT_RUN, namespace, "run-b")) == "Running"

        await eventually(replaced, timeout=20)


async def test_a_schedule_creates_one_run_per_fire_time_and_survives_a_restart(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    clock = Clock()
    schedule = {"schedule": "*/5 * * * *", "schedulePrompt": "nightly audit"}
    async with running_operator(kube, namespace, clock=clock):
        await task_agent(k, namespace, **schedule)
        created = await get(k, types.AGENT, namespace, "auditor")
        assert (await k.list(types.AGENT_RUN, namespace))["items"] == []

    def scheduled(runs: Object) -> list[str]:
        return sorted(r["metadata"]["name"] for r in runs["items"])

    clock.now += timedelta(minutes=11)  # two fire times passed while "down": one run
    for _ in range(2):  # a second operator start must not duplicate it
        async with running_operator(kube, namespace, clock=clock):

            async def one_run() -> list[str]:
                names = scheduled(await k.list(types.AGENT_RUN, namespace))
                assert len(names) == 1, names
                return names

            (name,) = await eventually(one_run, timeout=20)
    run = await get(k, types.AGENT_RUN, namespace, name)
    assert run["spec"]["source"] == "schedule" and run["spec"]["prompt"] == "nightly audit"
    assert run["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
    status = await status_of(k, types.AGENT, namespace, "auditor")
    assert (
        status["lastScheduleTime"]
        == run["metadata"]["annotations"]["agents.agentops.io/scheduled-at"]
    )


async def test_a_git_workspace_run_gets_its_own_config_and_git_env(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    repo = {
        "apiVersion": "agents.agentops.io/v1alpha1",
        "kind": "AgentResource",
        "metadata": {"name": "infra"},
        "spec": {
            "kind": "git-repo",
            "displayName": "Infra repo",
            "git": {"url": "https://git.example.com/team/infra.git", "branch": "main"},
        },
    }
    async with running_operator(kube, namespace):
        await create(k, namespace, repo)
        await task_agent(k, namespace)
        run = agent_run("fix-1", "auditor", prompt="fix the chart")
        run["spec"]["git"] = {"resourceRef": "infra", "branch": "agent/fix-1"}
        await create(k, namespace, run)
        job = await eventually(lambda: get(k, types.JOB, namespace, "fix-1"), timeout=20)
        spec = job["spec"]["template"]["spec"]
        env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
        assert env["GIT_REPO_URL"] == "https://git.example.com/team/infra.git"
        assert env["GIT_BRANCH"] == "agent/fix-1" and env["GIT_BASE_BRANCH"] == "main"
        config = next(v for v in spec["volumes"] if v["name"] == "operator-config")
        assert config["configMap"]["name"] == "fix-1-config"
        own = await get(k, types.CONFIG_MAP, namespace, "fix-1-config")
        resources = json.loads(own["data"]["config.json"])["resources"]
        assert [r["name"] for r in resources] == ["infra"]


async def test_a_git_run_on_a_missing_resource_fails_naming_it(
    kube: client.ApiClient, namespace: str
) -> None:
    k = Kube(kube)
    async with running_operator(kube, namespace):
        await task_agent(k, namespace)
        run = agent_run("fix-2", "auditor")
        run["spec"]["git"] = {"resourceRef": "nowhere", "branch": "b"}
        await create(k, namespace, run)

        async def failed() -> None:
            status = await status_of(k, types.AGENT_RUN, namespace, "fix-2")
            assert status["phase"] == "Failed"
            assert status["output"] == 'AgentResource "nowhere" not found'

        await eventually(failed)
