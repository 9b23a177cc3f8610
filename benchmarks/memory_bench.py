"""Memory service benchmark: latency of POST /observations and GET /context, and sustained
writes per second with dedup on, over real HTTP against `agentops memory` in its own process.

    .venv/bin/python benchmarks/memory_bench.py [--sizes 10000 100000] [--seconds 10]

Each size gets a fresh database loaded with realistic observations (SRE notes from a Zipf-like
vocabulary with a long tail of names, codes and versions; 12 projects; a tenth with topic keys),
then the service is started and measured: latencies with one client issuing requests back to
back (aiohttp, which arrives with kubernetes-asyncio); throughput with wrk, 32 connections, a
fifth of the writes repeating a recent one (deduplicated). A Python load generator spends more
CPU per request than the service does, and on two shared cores it would measure itself; wrk
(apt-get install wrk) does not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from agentops_services.api.memory import ObservationCreate
from agentops_services.memory.store import MemoryStore
from agentops_services.testing.controlplane import free_port

REPO = Path(__file__).resolve().parent.parent
PROJECTS = [
    f"team-{name}"
    for name in "payments search checkout billing identity ledger infra data ml edge mobile web".split()
]
TYPES = ["decision", "bugfix", "discovery", "pattern", "config", "learning"]
COMMON_WORDS = (
    "pod deployment rollout canary replica node cluster namespace ingress service timeout retry "
    "latency p99 error budget slo alert pager incident postmortem database postgres connection "
    "pool migration index query cache redis eviction memory leak cpu throttling oom kill restart "
    "crashloop probe readiness liveness config secret certificate tls expiry dns resolver "
    "network policy egress firewall load balancer queue kafka consumer lag partition offset "
    "backpressure rate limit throttle quota autoscaler hpa scaling batch job cron schedule helm "
    "chart values release upgrade rollback flag feature toggle terraform state drift vault token "
    "rotation audit log trace span metric dashboard grafana prometheus scrape cardinality label"
).split()
_NAMES = random.Random(42)
_SYLLABLES = "ka lo mi re su ta vo ne pi ra zo fi gu de ba".split()
# The long tail real notes have: service, host and component names, error codes, versions.
RARE_WORDS = sorted(
    {"".join(_NAMES.choices(_SYLLABLES, k=_NAMES.randint(2, 4))) for _ in range(2500)}
    | {f"e{code}" for code in range(1000, 1400)}
    | {f"v{major}.{minor}" for major in range(1, 6) for minor in range(20)}
)
WORDS = COMMON_WORDS + RARE_WORDS
_WEIGHTS = [1 / (rank + 1) ** 0.9 for rank in range(len(WORDS))]


def zipf_words(rng: random.Random, count: int) -> list[str]:
    return rng.choices(WORDS, weights=_WEIGHTS, k=count)


def observation(rng: random.Random, n: int) -> dict[str, object]:
    title = " ".join(zipf_words(rng, rng.randint(3, 7))).capitalize()
    content = (
        ". ".join(" ".join(zipf_words(rng, rng.randint(8, 16))) for _ in range(rng.randint(2, 5)))
        + "."
    )
    data: dict[str, object] = {
        "session_id": f"bench-{n % 500}",
        "type": rng.choice(TYPES),
        "title": f"{title} #{n}",
        "content": content,
        "project": rng.choice(PROJECTS),
        "tags": zipf_words(rng, 2),
    }
    if n % 10 == 0:
        data["topic_key"] = f"{data['type']}/{zipf_words(rng, 1)[0]}-{n % 300}"
    return data


def prompt(rng: random.Random) -> str:
    words = zipf_words(rng, rng.randint(12, 30))
    return (
        "Hey, can you check why the " + " ".join(words) + " keeps happening after the last deploy?"
    )


async def load(db: Path, size: int) -> float:
    rng = random.Random(size)
    started = time.perf_counter()
    async with MemoryStore(db) as store:
        for chunk in range(0, size, 2000):
            await asyncio.gather(
                *(
                    store.add_observation(ObservationCreate.model_validate(observation(rng, n)))
                    for n in range(chunk, min(size, chunk + 2000))
                )
            )
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


TIMEOUT = aiohttp.ClientTimeout(total=10)


async def latencies(url: str, requests: int) -> dict[str, list[float]]:
    rng = random.Random(7)
    out: dict[str, list[float]] = {"context": [], "write": [], "health": []}
    async with aiohttp.ClientSession(url, timeout=TIMEOUT) as client:
        for _ in range(requests):
            began = time.perf_counter()
            async with client.get("/healthz") as response:
                await response.read()
            out["health"].append((time.perf_counter() - began) * 1000)
        for _ in range(requests):
            params = {"project": rng.choice(PROJECTS), "query": prompt(rng), "limit": "5"}
            began = time.perf_counter()
            async with client.get("/context", params=params) as response:
                await response.read()
                assert response.status == 200
            out["context"].append((time.perf_counter() - began) * 1000)
        for n in range(requests):
            began = time.perf_counter()
            async with client.post(
                "/observations", json=observation(rng, 10_000_000 + n)
            ) as response:
                await response.read()
                assert response.status == 201
            out["write"].append((time.perf_counter() - began) * 1000)
    return out


WRK_SCRIPT = """
bodies = {%s}
counter = 0
request = function()
  counter = counter + 1
  local body
  if counter %% 5 == 0 and counter > 50 then
    body = bodies[((counter - 1 - (counter %% 37)) %% #bodies) + 1]  -- a recent write again: deduplicated
  else
    body = bodies[(counter %% #bodies) + 1]
  end
  return wrk.format("POST", "/observations", {["Content-Type"] = "application/json"}, body)
end
"""


def throughput(url: str, seconds: float, workdir: Path) -> float:
    """Writes per second from wrk (a C load generator, so the measured side is the service):
    32 connections, a fifth of the writes repeating a recent one."""
    if shutil.which("wrk") is None:
        raise SystemExit("the throughput figure needs wrk: apt-get install wrk")
    rng = random.Random(99)
    bodies = [json.dumps(observation(rng, 50_000_000 + n)) for n in range(20_000)]
    script = workdir / "writes.lua"
    script.write_text(WRK_SCRIPT % ",".join(_lua_string(b) for b in bodies))
    result = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{int(seconds)}s", "-s", str(script), url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    )  # fmt: skip
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if errors:
        raise RuntimeError(f"{errors.group(1)} writes failed:\n{result.stdout}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    assert rate, result.stdout
    return float(rate.group(1))


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


async def wait_ready(url: str) -> None:
    async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=2)) as client:
        for _ in range(300):
            try:
                async with client.get("/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("memory service did not become ready")


def bench(size: int, requests: int, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as tmp:
        db = Path(tmp) / "memory.db"
        load_seconds = asyncio.run(load(db, size))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agentops_services.cli.main",
                "memory",
                "--db",
                str(db),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            asyncio.run(wait_ready(url))
            measured = asyncio.run(latencies(url, requests))
            rate = throughput(url, seconds, Path(tmp))
        finally:
            server.terminate()
            server.wait(timeout=15)
    return {
        "load_s": load_seconds,
        "health_p50": statistics.median(measured["health"]),
        "context_p50": statistics.median(measured["context"]),
        "context_p99": percentile(measured["context"], 0.99),
        "write_p50": statistics.median(measured["write"]),
        "write_p99": percentile(measured["write"], 0.99),
        "writes_per_s": rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--requests", type=int, default=2000, help="requests per latency series")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the throughput run")
    args = parser.parse_args()
    rows = [(size, bench(size, args.requests, args.seconds)) for size in args.sizes]
    print()
    print(
        "| observations | load (s) | GET /healthz p50 | GET /context p50 | p99 "
        "| POST /observations p50 | p99 | writes/s (dedup on) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, r in rows:
        print(
            f"| {size:,} | {r['load_s']:.1f} | {r['health_p50']:.2f} ms | {r['context_p50']:.2f} ms "
            f"| {r['context_p99']:.2f} ms | {r['write_p50']:.2f} ms | {r['write_p99']:.2f} ms "
            f"| {r['writes_per_s']:,.0f} |"
        )
    print("\ntargets at 100k: GET /context p50 <= 3 ms, p99 <= 15 ms; writes >= 1,500/s")


if __name__ == "__main__":
    main()
