"""Operator benchmark on the real control plane: create N daemon Agents at once and measure,
per Agent, the time from its create request to its Deployment existing (seen through a watch
by this script); then, with everything converged, the API requests the operator makes in an
idle minute (its own /metrics counters) and its resident memory.

    .venv/bin/python benchmarks/operator_bench.py [--agents 500] [--idle-seconds 60]

The operator runs as `agentops operator` in its own process, as in a cluster; this script's
client is separate, so its requests are not counted. First the same number of Deployments is
created directly, without the operator: the floor that the control plane on this machine sets.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from agentops_services.api.v1alpha1 import Agent
from agentops_services.kube.client import api_client
from agentops_services.kube.resources import (
    AGENT,
    DEPLOYMENT,
    NAMESPACE,
    PROVIDER,
    SECRET,
    SERVICE_ACCOUNT,
)
from agentops_services.kube.rest import Kube
from agentops_services.operator.builders.agent import build_deployment
from agentops_services.operator.builders.settings import BuilderSettings
from agentops_services.testing.controlplane import ControlPlane, free_port

REPO = Path(__file__).resolve().parent.parent
NAMESPACE_NAME = "bench"
BASELINE_NAMESPACE = "floor"
CREATE_CONCURRENCY = 50
METRIC = re.compile(r'^agentops_api_requests\{verb="(\w+)"\} ([0-9.e+]+)$', re.M)


def agent(name: str) -> dict[str, object]:
    return {
        "apiVersion": "agents.agentops.io/v1alpha1",
        "kind": "Agent",
        "metadata": {"name": name, "namespace": NAMESPACE_NAME},
        "spec": {
            "mode": "daemon",
            "model": "anthropic/claude-sonnet-4-5",
            "providerRefs": [{"name": "anthropic"}],
            "builtinTools": ["read", "grep", "ls", "glob"],
        },
    }


async def requests_made(health: str) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{health}/metrics")).text
    return {verb: float(count) for verb, count in METRIC.findall(text)}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_ready(health: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise SystemExit(f"the operator exited with {process.returncode}")
            try:
                if (await http.get(f"{health}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the operator did not become ready within 60 s")


async def bench(plane: ControlPlane, count: int, idle_seconds: float) -> None:
    async with await api_client(plane.kubeconfig) as api:
        kube = Kube(api)
        await kube.create(NAMESPACE, None, {"metadata": {"name": NAMESPACE_NAME}})
        key = base64.b64encode(b"sk-bench").decode()
        await kube.create(SECRET, NAMESPACE_NAME, {"metadata": {"name": "llm-keys"},
                                                   "data": {"API_KEY": key}})  # fmt: skip
        await kube.create(PROVIDER, NAMESPACE_NAME, {
            "apiVersion": "agents.agentops.io/v1alpha1", "kind": "Provider",
            "metadata": {"name": "anthropic"},
            "spec": {"type": "anthropic", "apiKeySecret": {"name": "llm-keys", "key": "API_KEY"}},
        })  # fmt: skip
        floor = await baseline(kube, count)
        port = free_port()
        health = f"http://127.0.0.1:{port}"
        env = {**os.environ, "WATCH_NAMESPACES": NAMESPACE_NAME}
        env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        with tempfile.TemporaryFile() as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agentops_services.cli.main", "operator",
                "--kubeconfig", str(plane.kubeconfig),
                "--health-probe-bind-address", f"127.0.0.1:{port}",
                env=env, stdout=log, stderr=log, cwd=REPO,
            )  # fmt: skip
            try:
                await wait_ready(health, process)
                idle_rss = rss_mb(process.pid)
                await measure(kube, health, process, count, idle_seconds, idle_rss, floor)
            except BaseException:
                log.seek(0)
                tail = log.read().decode(errors="replace").splitlines()[-20:]
                print("operator log (last lines):", *tail, sep="\n", file=sys.stderr)
                raise
            finally:
                process.terminate()
                await asyncio.wait_for(process.wait(), 30)


async def time_to_deployments(
    kube: Kube, namespace: str, count: int, create: Callable[[str], Awaitable[object]]
) -> tuple[list[float], float]:
    """Call `create(name)` for `count` names (50 at a time) and time, per name, from the call
    to a Deployment of that name appearing in `namespace` (seen through a watch); the sorted
    latencies and the time until the last one."""
    listing = await kube.list(DEPLOYMENT, namespace)
    version = listing["metadata"]["resourceVersion"]
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    names = [f"agent-{n:04d}" for n in range(count)]

    async def follow() -> None:
        nonlocal version
        while len(seen) < count:
            async for event in kube.watch(DEPLOYMENT, namespace, version, 60):
                obj = event["object"]
                version = obj["metadata"].get("resourceVersion", version)
                name = obj["metadata"].get("name")
                if event["type"] == "ADDED" and name not in seen:
                    seen[name] = time.perf_counter()
                if len(seen) >= count:
                    return

    watcher = asyncio.create_task(follow())
    gate = asyncio.Semaphore(CREATE_CONCURRENCY)

    async def one(name: str) -> None:
        async with gate:
            sent[name] = time.perf_counter()
            await create(name)

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in names))
    try:
        await asyncio.wait_for(watcher, 300)
    except TimeoutError:
        raise SystemExit(f"only {len(seen)} of {count} Deployments appeared in 300 s") from None
    return sorted(seen[n] - sent[n] for n in names), time.perf_counter() - started


def p(latencies: list[float], q: float) -> float:
    return latencies[min(len(latencies) - 1, int(len(latencies) * q))]


async def baseline(kube: Kube, count: int) -> list[float]:
    """The floor this machine sets: the same Deployments created directly, no operator (the
    API server, etcd and the controller-manager's ReplicaSets and Pods, on the same cores)."""
    await kube.create(NAMESPACE, None, {"metadata": {"name": BASELINE_NAMESPACE}})
    resource = Agent.model_validate(agent("template"))
    settings = BuilderSettings()
    template, _ = build_deployment(resource, {}, {}, [], settings)
    account = template["spec"]["template"]["spec"]["serviceAccountName"]
    await kube.create(SERVICE_ACCOUNT, BASELINE_NAMESPACE, {"metadata": {"name": account}})

    async def create(name: str) -> object:
        body = json.loads(json.dumps(template))
        body["metadata"] = {"name": name, "namespace": BASELINE_NAMESPACE,
                            "labels": template["metadata"]["labels"]}  # fmt: skip
        return await kube.create(DEPLOYMENT, BASELINE_NAMESPACE, body)

    latencies, _ = await time_to_deployments(kube, BASELINE_NAMESPACE, count, create)
    return latencies


async def measure(
    kube: Kube,
    health: str,
    process: asyncio.subprocess.Process,
    count: int,
    idle_seconds: float,
    empty_rss: float,
    floor: list[float],
) -> None:
    async def create(name: str) -> object:
        return await kube.create(AGENT, NAMESPACE_NAME, agent(name))

    latencies, total = await time_to_deployments(kube, NAMESPACE_NAME, count, create)
    p50, p99 = statistics.median(latencies), p(latencies, 0.99)
    settle = 10.0
    await asyncio.sleep(settle)  # let status writes from the burst finish
    before = await requests_made(health)
    await asyncio.sleep(idle_seconds)
    after = await requests_made(health)
    idle = {v: after.get(v, 0) - before.get(v, 0) for v in after}
    per_minute = sum(idle.values()) * 60 / idle_seconds
    rss = rss_mb(process.pid)
    print(f"{count} daemon Agents created at once (50 requests in flight), 2 CPUs\n")
    print("| Measure | Result | Target |")
    print("|---|---|---|")
    print(f"| create -> Deployment exists, p50 | {p50 * 1000:.0f} ms | - |")
    print(f"| create -> Deployment exists, p99 | {p99 * 1000:.0f} ms | <= 2 s |")
    print(f"| all {count} Deployments exist after | {total:.1f} s | - |")
    print(
        f"| floor: the same Deployments created directly, p50 / p99 | "
        f"{statistics.median(floor) * 1000:.0f} ms / {p(floor, 0.99) * 1000:.0f} ms | - |"
    )
    print(f"| API requests per minute when idle | {per_minute:.1f} | 0 |")
    print(f"| operator RSS with {count} Agents | {rss:.0f} MB | <= 150 MB |")
    print(f"| operator RSS with no Agents | {empty_rss:.0f} MB | - |")
    print(f"\nrequests during the whole run, by verb: {dict(sorted(after.items()))}")
    print(f"idle window {idle_seconds:.0f} s after a {settle:.0f} s settle: {idle}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    with ControlPlane() as plane:
        from agentops_services.api.crd import all_crds  # noqa: PLC0415
        from agentops_services.kube.crds import apply_crds  # noqa: PLC0415

        async def install() -> None:
            async with await api_client(plane.kubeconfig) as api:
                await apply_crds(api, all_crds().values())

        asyncio.run(install())
        asyncio.run(bench(plane, args.agents, args.idle_seconds))


if __name__ == "__main__":
    main()
