"""Trace store benchmark: OTLP ingest rate, fetching a 10,000-span trace, and search, over real
HTTP against `agentops traces` in its own process with a fresh SQLite file.

    .venv/bin/python benchmarks/trace_store_bench.py [--traces 2000] [--spans 40] [--runs 7]

The traces are agent turns as our runtime traces them (a server span, the turn, steps of a
`chat` model call and tool calls with arguments and results as long as the runtime caps them,
one in eight tool calls failing), from a fixed seed, sent as the SDK's exporter sends them:
protobuf batches of 512 spans, four exporters at once. Then one 10,000-span trace is sent and
fetched (v2 JSON, v2 protobuf, the store's own part of that without HTTP, and the console's
TempoClient building its waterfall), and
searches are timed: the console's default query, its errors filter, and a query that matches
nothing, so every span is inspected.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span, Status

from agentops_services.testing.controlplane import free_port
from agentops_services.traces import schema
from agentops_services.traces.reads import read_trace
from agentops_services.traces.trace_answer import json_answer, protobuf_answer
from agentops_tui.services.traces.client import TempoClient

REPO = Path(__file__).resolve().parent.parent
START_NS = 1_775_728_800_000_000_000  # 2026-04-09 10:00 UTC
AGENTS = ("triage", "fixer", "reviewer", "planner")
TOOLS = ("kubectl", "read_file", "grep", "bash", "github.search_issues")
WORDS = (
    "deployment pod namespace rollout replica image container restart probe service endpoint "
    "ingress config secret volume node schedule taint label selector manifest patch apply"
).split()
BATCH = 512
EXPORTERS = 4
DEFAULT_QUERY = '{ resource.agent.name =~ ".+" } | select(resource.agent.name, resource.agent.mode)'


class Turns:
    """Agent turns as spans, grouped per agent process (one resource each)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def text(self, words: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(words))

    def turn(self, spans: int, start_ns: int) -> tuple[str, list[Span]]:
        trace_id = self.rng.randbytes(16)
        out: list[Span] = []
        at = start_ns

        def add(
            name: str,
            parent: bytes,
            kind: Span.SpanKind.ValueType,
            duration_ms: float,
            **attrs: object,
        ) -> bytes:
            span = Span(
                trace_id=trace_id,
                span_id=self.rng.randbytes(8),
                parent_span_id=parent,
                name=name,
                kind=kind,
                start_time_unix_nano=at,
                end_time_unix_nano=at + int(duration_ms * 1e6),
            )
            for key, value in attrs.items():
                target = span.attributes.add(key=key).value
                if isinstance(value, int):
                    target.int_value = value
                else:
                    target.string_value = str(value)
            out.append(span)
            return span.span_id

        server = add(
            "POST /prompt/stream",
            b"",
            Span.SPAN_KIND_SERVER,
            9000,
            **{"http.request.method": "POST"},
        )
        agent = self.rng.choice(AGENTS)
        turn = add(
            "agent.prompt",
            server,
            Span.SPAN_KIND_INTERNAL,
            8990,
            **{"gen_ai.operation.name": "invoke_agent"},
        )
        while len(out) < spans:
            at += 3_000_000
            step = add("agent.step", turn, Span.SPAN_KIND_INTERNAL, 400)
            add(
                "chat claude-sonnet-4-5",
                step,
                Span.SPAN_KIND_CLIENT,
                300,
                **{
                    "gen_ai.request.model": "claude-sonnet-4-5",
                    "gen_ai.usage.input_tokens": self.rng.randint(500, 9000),
                    "gen_ai.prompt": self.text(120),
                    "gen_ai.completion": self.text(60),
                },
            )
            tool = self.rng.choice(TOOLS)
            attrs: dict[str, object] = {
                "gen_ai.tool.name": tool,
                "gen_ai.tool.call.arguments": self.text(30),
                "gen_ai.tool.call.result": self.text(150),
            }
            add(f"tool.execute: {tool}", step, Span.SPAN_KIND_INTERNAL, 90, **attrs)
            if self.rng.random() < 0.125:
                out[-1].status.code = Status.STATUS_CODE_ERROR
                out[-1].status.message = f"{tool} failed"
        return agent, out[:spans]


def request_for(groups: list[tuple[str, list[Span]]]) -> bytes:
    request = ExportTraceServiceRequest()
    for agent, spans in groups:
        resource_spans = request.resource_spans.add()
        for key, value in (
            ("service.name", "agentops-runtime"),
            ("agent.name", agent),
            ("agent.mode", "daemon"),
        ):
            resource_spans.resource.attributes.add(key=key).value.string_value = value
        resource_spans.scope_spans.append(ScopeSpans(spans=spans))
        resource_spans.scope_spans[0].scope.name = "agentops.runtime"
    return request.SerializeToString()


def batches(traces: int, spans: int, seed: int) -> tuple[list[bytes], int]:
    """Export bodies of about BATCH spans each, and how many spans in all."""
    turns = Turns(seed)
    bodies, group, count, total = [], [], 0, 0
    for index in range(traces):
        agent, turn = turns.turn(spans, START_NS + index * 1_000_000_000)
        group.append((agent, turn))
        count += len(turn)
        total += len(turn)
        if count >= BATCH:
            bodies.append(request_for(group))
            group, count = [], 0
    if group:
        bodies.append(request_for(group))
    return bodies, total


async def ingest(http: httpx.AsyncClient, bodies: list[bytes]) -> float:
    queue = list(reversed(bodies))

    async def exporter() -> None:
        while queue:
            response = await http.post(
                "/v1/traces",
                content=queue.pop(),
                headers={"Content-Type": "application/x-protobuf"},
            )
            response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(exporter() for _ in range(EXPORTERS)))
    return time.perf_counter() - started


async def median_ms(runs: int, action: Callable[[], Awaitable[object]]) -> float:
    await action()  # warm the caches once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def store_read_ms(db: Path, trace_id: str, runs: int) -> str:
    """The store's own part of a fetch, timed in this process on the server's file (WAL lets
    a second reader in): the read from SQLite and the answer's bytes, without HTTP."""
    connection = sqlite3.connect(db, isolation_level=None)
    schema.configure(connection)
    figures = []
    try:
        for protobuf, encode in ((False, json_answer), (True, protobuf_answer)):
            times = []
            for _ in range(runs + 1):
                started = time.perf_counter()
                stored = read_trace(connection, bytes.fromhex(trace_id), 2**30, protobuf)
                assert stored is not None
                encode(stored, v2=True, partial_message="")
                times.append((time.perf_counter() - started) * 1000)
            figures.append(
                f"{statistics.median(times[1:]):,.1f} ms {'protobuf' if protobuf else 'json'}"
            )
    finally:
        connection.close()
    return ", ".join(figures)


async def measure(url: str, db: Path, args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        bodies, total = batches(args.traces, args.spans, seed=7)
        seconds = await ingest(http, bodies)
        print(f"ingest: {total:,} spans in {args.traces:,} traces, {len(bodies)} requests of "
              f"~{BATCH} spans, {EXPORTERS} exporters: {total / seconds:,.0f} spans/s")  # fmt: skip

        agent, big = Turns(seed=11).turn(10_000, START_NS + args.traces * 1_000_000_000)
        body = request_for([(agent, big)])
        started = time.perf_counter()
        (await http.post(
            "/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"}
        )).raise_for_status()  # fmt: skip
        print(f"ingest: one 10,000-span trace ({len(body) / 2**20:.1f} MiB protobuf) in "
              f"{(time.perf_counter() - started) * 1000:,.0f} ms")  # fmt: skip

        trace_id = big[0].trace_id.hex()

        async def fetch(accept: str) -> int:
            response = await http.get(f"/api/v2/traces/{trace_id}", headers={"Accept": accept})
            response.raise_for_status()
            return len(response.content)

        for accept in ("application/json", "application/protobuf"):
            size = await fetch(accept)
            ms = await median_ms(args.runs, lambda accept=accept: fetch(accept))  # type: ignore[misc]
            print(f"fetch 10,000-span trace, {accept.split('/')[1]}: {ms:,.1f} ms "
                  f"({size / 2**20:.1f} MiB)")  # fmt: skip
        print(
            f"  of which the store reads and encodes it: {store_read_ms(db, trace_id, args.runs)}"
        )
        client = TempoClient(http)
        ms = await median_ms(args.runs, lambda: client.trace(trace_id))
        print(f"console opens it (fetch + waterfall, TempoClient.trace): {ms:,.0f} ms")

        window = {"start": START_NS // 10**9 - 60, "end": START_NS // 10**9 + args.traces + 60}
        searches: dict[str, dict[str, Any]] = {
            "console default query, limit 50": {"q": DEFAULT_QUERY, "limit": 50},
            "errors, limit 50": {"q": "{ status = error } | select(resource.agent.name)", "limit": 50},
            "matches nothing (every span inspected)": {"q": '{ span.gen_ai.tool.name = "nope" }'},
            "tool regex, limit 20": {"q": '{ span.gen_ai.tool.name =~ "git.*" }', "limit": 20},
        }  # fmt: skip
        for name, params in searches.items():

            async def search(params: dict[str, Any] = params) -> None:
                response = await http.get("/api/search", params={**params, **window, "spss": 3})
                response.raise_for_status()

            print(f"search, {name}: {await median_ms(args.runs, search):,.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=2000)
    parser.add_argument("--spans", type=int, default=40, help="spans per trace")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "traces.db"
        command = [sys.executable, "-m", "agentops_services.cli.main", "traces", "--db", str(db),
                   "--port", str(port), "--otlp-port", "0"]  # fmt: skip
        server = subprocess.Popen(command, cwd=REPO)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("agentops traces did not become ready")
                time.sleep(0.05)
            asyncio.run(measure(url, db, args))
            print(f"database file: {db.stat().st_size / 2**20:,.0f} MiB (plus WAL)")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
