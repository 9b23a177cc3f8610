"""Agent runtime benchmark: FEP events per second to one and to ten SSE clients, the time from
`POST /prompt/stream` to the first `text_delta`, and how long `DELETE /abort` takes to end a
running turn, over real HTTP against `agentops runtime` in its own process with the scripted
provider (so the figures are the runtime's, not a model's).

    .venv/bin/python benchmarks/runtime_bench.py [--deltas 20000] [--rounds 200]

Clients count frames on raw bytes (`id:` lines) instead of parsing JSON, so that on two shared
cores the client spends less CPU per event than the server does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import yaml

from agentops_services.testing.controlplane import free_port

REPO = Path(__file__).resolve().parent.parent


def write_agent(directory: Path, deltas: int, rounds: int) -> Path:
    """A scripted agent: a long answer in `deltas` pieces, `rounds` short answers, then stalls."""
    long_turn = {"match": "^long", "text": "x" * (deltas * 4), "chunkChars": 4}
    short_turn = {"match": "^short", "text": "pong"}
    stall_turn = {"match": "^stall", "text": "waiting for ever", "stall": True}
    turns = [long_turn, long_turn] + [short_turn] * rounds + [stall_turn] * 50
    (directory / "script.yaml").write_text(yaml.safe_dump({"turns": turns}))
    config = directory / "config.json"
    config.write_text(
        json.dumps(
            {
                "providers": [{"name": "demo", "type": "scripted", "script": "script.yaml"}],
                "primaryModel": "demo/replay",
                "systemPrompt": "You are a benchmark.",
            }
        )
    )
    return config


@asynccontextmanager
async def runtime(config: Path, state: Path) -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    env = {**os.environ, "AGENT_NAME": "bench"}
    env.pop("AGENT_PROMPT", None)
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentops_services.cli.main", "runtime", "--config", str(config),
        "--host", "127.0.0.1", "--port", str(port), "--state-dir", str(state),
        env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits
    ) as client:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    (await client.get("/healthz")).raise_for_status()
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or process.returncode is not None:
                        raise
                    await asyncio.sleep(0.05)
            yield client
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)


async def count_until_idle(response: httpx.Response) -> tuple[int, float]:
    """Events of the response up to session_idle, and when the last one arrived."""
    events = 0
    tail = b""
    async for chunk in response.aiter_raw():
        events += chunk.count(b"\nid: ") + chunk.startswith(b"id: ")
        tail = (tail + chunk)[-256:]
        if b'"type":"session_idle"' in tail:
            return events, time.perf_counter()
    raise RuntimeError("stream ended before session_idle")


async def one_client(client: httpx.AsyncClient) -> tuple[int, float]:
    started = time.perf_counter()
    async with client.stream("POST", "/prompt/stream", json={"prompt": "long"}) as response:
        events, ended = await count_until_idle(response)
    return events, events / (ended - started)


async def ten_clients(client: httpx.AsyncClient) -> tuple[int, float]:
    last = (await client.get("/status")).json()["last_event_id"]

    async def follow() -> tuple[int, float]:
        async with client.stream("GET", f"/events?after={last}") as response:
            return await count_until_idle(response)

    followers = [asyncio.create_task(follow()) for _ in range(10)]
    for _ in range(3000):
        if (await client.get("/status")).json()["followers"] == 10:
            break
        await asyncio.sleep(0.01)
    started = time.perf_counter()
    response = await client.post("/prompt", json={"prompt": "long"})
    response.raise_for_status()
    results = await asyncio.gather(*followers)
    events = results[0][0]
    slowest = max(ended for _, ended in results)
    return events, events * len(results) / (slowest - started)


async def first_delta(client: httpx.AsyncClient, rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        async with client.stream("POST", "/prompt/stream", json={"prompt": "short"}) as response:
            buffer = b""
            first = None
            async for chunk in response.aiter_raw():
                buffer += chunk
                if first is None and b'"type":"text_delta"' in buffer:
                    first = time.perf_counter() - started
                if b'"type":"session_idle"' in buffer:
                    break
        assert first is not None
        timings.append(first * 1000)
    return timings


async def round_trip(client: httpx.AsyncClient, rounds: int) -> list[float]:
    """GET /healthz: what any request costs this client, the floor under first-delta."""
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        (await client.get("/healthz")).raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def abort_latency(client: httpx.AsyncClient, rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        async with client.stream("POST", "/prompt/stream", json={"prompt": "stall"}) as response:
            buffer = b""
            async for chunk in response.aiter_raw():
                buffer += chunk
                if b'"type":"text_delta"' in buffer:
                    break
            started = time.perf_counter()
            (await client.delete("/abort")).raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=20_000, help="text deltas in the long turn")
    parser.add_argument("--rounds", type=int, default=200, help="short turns for first-delta")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        config = write_agent(directory, args.deltas, args.rounds)
        async with runtime(config, directory / "state") as client:
            events, single = await one_client(client)
            _, fanout = await ten_clients(client)
            floor = await round_trip(client, args.rounds)
            firsts = await first_delta(client, args.rounds)
            aborts = await abort_latency(client, 30)
    print(f"events per turn: {events}")
    print("| measure | result | target |")
    print("|---|---|---|")
    print(f"| FEP events/s to 1 SSE client | {single:,.0f} | >= 10,000 |")
    print(f"| FEP events/s to 10 attached clients (sum) | {fanout:,.0f} | - |")
    print(f"| FEP events/s per client with 10 attached | {fanout / 10:,.0f} | - |")
    print(
        f"| POST /prompt/stream -> first text_delta p50 / p99 | "
        f"{statistics.median(firsts):.2f} ms / {percentile(firsts, 0.99):.2f} ms | <= 5 ms |"
    )
    print(f"| GET /healthz round trip p50 (client floor) | {statistics.median(floor):.2f} ms | - |")
    print(
        f"| DELETE /abort -> turn ended p50 / max | "
        f"{statistics.median(aborts):.2f} ms / {max(aborts):.2f} ms | <= 200 ms |"
    )


if __name__ == "__main__":
    asyncio.run(main())
