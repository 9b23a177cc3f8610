"""Console benchmark on the real control plane: cold start to the first rendered frame of the
Agent list (a fresh `python` process importing and starting the console, headless), and the
key-press-to-repaint latency in the Agent list while 1,000 Agents receive status updates.

    .venv/bin/python benchmarks/console_bench.py [--agents 1000] [--presses 200] [--updates 20]
        [--tokens-per-second 500] [--spans 10000] [--only list|chat|trace]

Cold start is measured from just before the process is spawned to the child's report that its
first frame is on screen (the console connecting), and to the frame listing the Agents; both
include the interpreter's start. Key latency runs from posting a `j`/`k` key to the first frame
written to the (headless) terminal that shows the moved cursor, with `--updates` status patches
per second arriving meanwhile; keys come every 20 ms, a fast typist's pace.

Chat: a real runtime (the scripted provider) streams a reply at `--tokens-per-second` (a token
taken as 4 characters) into an open chat while keys are typed into the composer; latency runs
from a key to the frame showing the typed character, compared between the first and last third
of the stream (a growing backlog would make the last third slower), and the lag from the turn's
end to the frame showing the whole reply. Trace: a `--spans` trace (benchmarks/trace_bench.py's
generator) served as Tempo serves it (protobuf when asked) on loopback, from `open_trace` to the first frame with the
waterfall drawn.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from google.protobuf import json_format
from rich.console import RenderableType
from textual.screen import Screen
from textual.widgets import DataTable, Markdown

from agentops_services.api.crd import all_crds
from agentops_services.kube import resources as types
from agentops_services.kube.client import api_client
from agentops_services.kube.crds import apply_crds
from agentops_services.kube.rest import Kube
from agentops_services.testing.controlplane import ControlPlane, free_port
from agentops_tui.app import AgentOpsApp
from agentops_tui.backends.cluster import ClusterBackend
from agentops_tui.screens.chat import ChatScreen
from agentops_tui.screens.resource_list import ResourceListScreen
from agentops_tui.screens.traces import TraceScreen
from agentops_tui.services.traces.client import waterfall_from_json
from agentops_tui.services.traces.proto import TraceByIDResponse
from agentops_tui.widgets.composer import Composer
from agentops_tui.widgets.waterfall import WaterfallView
from benchmarks.trace_bench import generate

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "bench"
CHILD = """
import sys, time
from agentops_tui.app import AgentOpsApp

async def connect(_context=None):
    from agentops_services.kube.client import api_client
    from agentops_services.kube.rest import Kube
    from agentops_tui.backends.cluster import ClusterBackend

    api = await api_client(sys.argv[1])
    return ClusterBackend(Kube(api), "bench", "bench", owns_client=True)

class Probe(AgentOpsApp):
    async def on_mount(self):
        await super().on_mount()
        self.call_after_refresh(lambda: print(f"FIRST_FRAME {time.time()}", flush=True))

    def _view(self, name):
        screen = super()._view(name)
        screen.call_after_refresh(self.listed)
        return screen

    def listed(self):
        print(f"LISTED {time.time()}", flush=True)
        self.exit()

Probe(connect).run(headless=True)
"""


def agent(name: str) -> dict[str, object]:
    return {
        "apiVersion": "agents.agentops.io/v1alpha1",
        "kind": "Agent",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "mode": "daemon",
            "model": "anthropic/claude-sonnet-4-5",
            "providerRefs": [{"name": "anthropic"}],
        },
    }


async def populate(kubeconfig: Path, count: int) -> None:
    async with await api_client(kubeconfig) as api:
        await apply_crds(api, all_crds().values())
        kube = Kube(api)
        await kube.create(types.NAMESPACE, None, {"metadata": {"name": NAMESPACE}})
        gate = asyncio.Semaphore(50)

        async def one(n: int) -> None:
            async with gate:
                await kube.create(types.AGENT, NAMESPACE, agent(f"agent-{n:04d}"))

        await asyncio.gather(*(one(n) for n in range(count)))


def cold_start(kubeconfig: Path, runs: int) -> tuple[list[float], list[float]]:
    """Seconds from spawning a console to its first frame, and to the frame listing the
    Agents, per run."""
    first, listed = [], []
    env = {**os.environ}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(CHILD)
    for _ in range(runs):
        started = time.time()
        done = subprocess.run(
            [sys.executable, script.name, str(kubeconfig)],
            capture_output=True, text=True, timeout=120, cwd=REPO, env=env, check=False,
        )  # fmt: skip
        marks = dict(line.split() for line in done.stdout.splitlines() if " " in line)
        if "FIRST_FRAME" not in marks or "LISTED" not in marks:
            raise SystemExit(f"the console did not render: {done.stderr[-2000:]}")
        first.append(float(marks["FIRST_FRAME"]) - started)
        listed.append(float(marks["LISTED"]) - started)
    return first, listed


class TimedConsole(AgentOpsApp):
    """The console, telling when a frame that shows the moved cursor reaches the terminal."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.awaiting: tuple[int, asyncio.Future[float]] | None = None

    def _display(self, screen: Screen[Any], renderable: RenderableType | None) -> None:
        super()._display(screen, renderable)
        if self.awaiting is None or not isinstance(screen, ResourceListScreen):
            return
        row, done = self.awaiting
        if screen.table.cursor_row == row and not done.done():
            done.set_result(time.perf_counter())

    async def press(self, key: str, expected_row: int) -> float:
        """Seconds from the key to the frame with the cursor on `expected_row`."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.awaiting = (expected_row, done)
        started = time.perf_counter()
        self.simulate_key(key)
        shown = await asyncio.wait_for(done, 10)
        self.awaiting = None
        return shown - started


def listing(screen: Screen[Any]) -> bool:
    """The Agent list is mounted and has rows."""
    return isinstance(screen, ResourceListScreen) and any(
        table.row_count for table in screen.query("#table").results(DataTable)
    )


async def key_latency(kubeconfig: Path, count: int, presses: int, rate: float) -> list[float]:
    async with await api_client(kubeconfig) as api:
        kube = Kube(api)

        async def connect(_context: str | None = None) -> ClusterBackend:
            return ClusterBackend(kube, "bench", NAMESPACE)

        async def churn(stop: asyncio.Event) -> None:
            n = 0
            while not stop.is_set():
                phase = ("Pending", "Running")[n % 2]
                name = f"agent-{(n * 37) % count:04d}"
                await kube.patch(types.AGENT, NAMESPACE, name, {"status": {"phase": phase}},
                                 subresource="status")  # fmt: skip
                n += 1
                await asyncio.sleep(1 / rate)

        app = TimedConsole(connect)
        latencies = []
        async with app.run_test(size=(120, 40)) as pilot:
            while not listing(app.screen):
                await pilot.pause(0.05)
            stop = asyncio.Event()
            updates = asyncio.create_task(churn(stop)) if rate > 0 else None
            row = 0
            for n in range(presses):
                down = (n // 50) % 2 == 0
                row += 1 if down else -1
                latencies.append(await app.press("j" if down else "k", row))
                await asyncio.sleep(0.02)  # a fast typist's pace, not a benchmark of the queue
            stop.set()
            if updates is not None:
                await updates
        return latencies


RUNTIME = [sys.executable, "-m", "agentops_services.cli.main", "runtime"]
CHARS_PER_TOKEN = 4
PARAGRAPH_WORDS = 60
"""A reply in paragraphs, as models write them (one endless paragraph would measure how fast
a terminal can re-wrap it, not the console)."""


def stream_script(directory: Path, tokens_per_second: float, seconds: float) -> Path:
    """A runtime config whose one answer streams for about `seconds` at the given rate."""
    words = [f"word{n % 1000:03d}" for n in range(int(tokens_per_second * seconds))]
    paragraphs = [
        " ".join(words[i : i + PARAGRAPH_WORDS]) for i in range(0, len(words), PARAGRAPH_WORDS)
    ]
    text = "\n\n".join(paragraphs)
    turn = {"text": text, "chunkChars": CHARS_PER_TOKEN,
            "delayMs": max(1, round(1000 / tokens_per_second))}  # fmt: skip
    (directory / "script.json").write_text(json.dumps({"turns": [turn]}))
    config = directory / "config.json"
    config.write_text(json.dumps({
        "providers": [{"name": "bench", "type": "scripted", "script": "script.json"}],
        "primaryModel": "bench/replay", "systemPrompt": "You are a benchmark.",
    }))  # fmt: skip
    return config


class TimedChat(AgentOpsApp):
    """The console, telling when a frame shows the composer holding an expected text, and
    when one shows a Markdown block with the whole reply."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.awaiting: tuple[Callable[[Screen[Any]], bool], asyncio.Future[float]] | None = None

    def _display(self, screen: Screen[Any], renderable: RenderableType | None) -> None:
        super()._display(screen, renderable)
        if self.awaiting is not None and not self.awaiting[1].done() and self.awaiting[0](screen):
            self.awaiting[1].set_result(time.perf_counter())

    async def frame_where(self, test: Callable[[Screen[Any]], bool], timeout: float = 30) -> float:
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.awaiting = (test, done)
        try:
            return await asyncio.wait_for(done, timeout)
        finally:
            self.awaiting = None


def composer_holds(text: str) -> Callable[[Screen[Any]], bool]:
    return lambda screen: isinstance(screen, ChatScreen) and screen.query_one(Composer).text == text


def reply_shown(text: str) -> Callable[[Screen[Any]], bool]:
    def shown(screen: Screen[Any]) -> bool:
        return isinstance(screen, ChatScreen) and any(
            m.source == text for m in screen.query(Markdown)
        )

    return shown


async def chat_latency(
    kubeconfig: Path, tokens_per_second: float, seconds: float = 6.0
) -> tuple[list[float], list[float], float]:
    """Key latencies in the first and last third of a streamed reply, and the lag from the
    turn's end to the frame showing all of it."""
    with tempfile.TemporaryDirectory() as work:
        config = stream_script(Path(work), tokens_per_second, seconds)
        port = free_port()
        runtime = await asyncio.create_subprocess_exec(
            *RUNTIME, "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
            "--state-dir", str(Path(work) / "state"), env={**os.environ, "AGENT_NAME": "agent-0000"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_serving(url, "/healthz")
            return await _chat_latency(kubeconfig, url, seconds)
        finally:
            runtime.terminate()
            await runtime.wait()


async def wait_serving(url: str, path: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=2) as http:
        deadline = time.monotonic() + 30
        while True:
            try:
                if (await http.get(path)).is_success:
                    return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.1)


async def _chat_latency(
    kubeconfig: Path, url: str, seconds: float
) -> tuple[list[float], list[float], float]:
    async with await api_client(kubeconfig) as api:
        backend = ClusterBackend(Kube(api), "bench", NAMESPACE, services={"runtime": url})

        async def connect(_context: str | None = None) -> ClusterBackend:
            return backend

        app = TimedChat(connect)
        latencies: list[tuple[float, float]] = []
        async with app.run_test(size=(120, 40)) as pilot:
            while not listing(app.screen):
                await pilot.pause(0.05)
            await app.open_chat("agent-0000")
            while not isinstance(app.screen, ChatScreen) or not app.screen.session.ready.is_set():
                await pilot.pause(0.05)
            chat = app.screen
            await pilot.press(*"go", "enter")
            started = time.perf_counter()
            typed = ""
            await app.frame_where(lambda _screen: chat.session.transcript.state != "idle")
            while chat.session.transcript.state != "idle":
                key = "abcdefghij"[len(typed) % 10]
                typed += key
                pressed = time.perf_counter()
                app.simulate_key(key)
                shown = await app.frame_where(composer_holds(typed))
                latencies.append((pressed - started, shown - pressed))
                await asyncio.sleep(0.02)
            ended = time.perf_counter()
            reply = chat.session.transcript.messages[max(chat.session.transcript.messages)].text
            lag = await app.frame_where(reply_shown(reply)) - ended
        stream = max(t for t, _ in latencies) or 1
        first = [d for t, d in latencies if t < stream / 3]
        last = [d for t, d in latencies if t > 2 * stream / 3]
        return first, last, max(lag, 0.0)


async def trace_open(kubeconfig: Path, spans: int, runs: int = 5) -> list[float]:
    """Seconds from asking for a trace to the frame with its waterfall drawn, per run. The
    trace is served from its own process (benchmarks/tempo_files), as Tempo would be."""
    body = generate(spans)
    trace_id = waterfall_from_json(body).trace_id
    times: list[float] = []
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / f"{trace_id}.json").write_bytes(body)
        envelope = json_format.Parse(body, TraceByIDResponse())
        (Path(root) / f"{trace_id}.pb").write_bytes(envelope.SerializeToString())
        port = free_port()
        tempo = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.tempo_files", str(port), root,
            cwd=REPO,
        )  # fmt: skip
        try:
            await wait_serving(f"http://127.0.0.1:{port}", f"/api/v2/traces/{trace_id}")
            times = await _trace_open(kubeconfig, f"http://127.0.0.1:{port}", trace_id, runs)
        finally:
            tempo.terminate()
            await tempo.wait()
    return times


async def _trace_open(kubeconfig: Path, url: str, trace_id: str, runs: int) -> list[float]:
    times: list[float] = []
    async with await api_client(kubeconfig) as api:
        backend = ClusterBackend(Kube(api), "bench", NAMESPACE, services={"tempo": url})

        async def connect(_context: str | None = None) -> ClusterBackend:
            return backend

        app = TimedChat(connect)
        async with app.run_test(size=(160, 50)) as pilot:
            while not listing(app.screen):
                await pilot.pause(0.05)
            for _ in range(runs):
                started = time.perf_counter()
                app.open_trace(trace_id)
                shown = await app.frame_where(waterfall_drawn)
                times.append(shown - started)
                app.pop_screen()
                await pilot.pause(0.2)
    return times


def waterfall_drawn(screen: Screen[Any]) -> bool:
    return isinstance(screen, TraceScreen) and bool(screen.query_one(WaterfallView).shown)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--updates", type=float, default=20.0)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--tokens-per-second", type=float, default=500.0)
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--only", choices=("list", "chat", "trace"))
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    with ControlPlane() as plane:
        asyncio.run(populate(plane.kubeconfig, args.agents))
        if args.only in (None, "list"):
            first, listed = cold_start(plane.kubeconfig, args.cold_runs)
            keys = asyncio.run(
                key_latency(plane.kubeconfig, args.agents, args.presses, args.updates)
            )
            rows += [
                (f"cold start to first frame, median of {args.cold_runs}",
                 f"{statistics.median(first) * 1000:.0f} ms", "<= 600 ms"),
                (f"cold start to the frame listing {args.agents} Agents",
                 f"{statistics.median(listed) * 1000:.0f} ms", "-"),
                (f"list key press to repaint ({args.updates:g} updates/s), p50",
                 ms(statistics.median(keys)), "<= 50 ms"),
                ("list key press to repaint, p95", ms(percentile(keys, 0.95)), "-"),
                ("list key press to repaint, p99", ms(percentile(keys, 0.99)), "-"),
            ]  # fmt: skip
        if args.only in (None, "chat"):
            early, late, lag = asyncio.run(chat_latency(plane.kubeconfig, args.tokens_per_second))
            rate = f"{args.tokens_per_second:g} tokens/s"
            rows += [
                (f"chat key press to repaint while {rate} stream, p50",
                 ms(statistics.median(early + late)), "<= 50 ms"),
                ("chat key press to repaint, p95", ms(percentile(early + late, 0.95)), "-"),
                ("chat key latency p50, first third / last third of the stream",
                 f"{ms(statistics.median(early))} / {ms(statistics.median(late))}",
                 "no growth"),
                ("turn's end to the frame showing the whole reply", ms(lag), "-"),
            ]  # fmt: skip
        if args.only in (None, "trace"):
            opened = asyncio.run(trace_open(plane.kubeconfig, args.spans))
            rows.append(
                (f"open a {args.spans:,}-span trace to its first frame, median of "
                 f"{len(opened)}", ms(statistics.median(opened)), "<= 500 ms")
            )  # fmt: skip
    print(f"{args.agents} Agents, 2 CPUs shared with etcd and the API server\n")
    print("| Measure | Result | Target |")
    print("|---|---|---|")
    for measure, result, target in rows:
        print(f"| {measure} | {result} | {target} |")


if __name__ == "__main__":
    main()
