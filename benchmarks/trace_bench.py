"""Trace explorer benchmark: a 10,000-span agent trace from Tempo's JSON to laid-out rows.

    .venv/bin/python benchmarks/trace_bench.py [--spans 10000] [--runs 7] [--width 160]

The trace is generated from a fixed seed in Tempo's `/api/v2/traces/<id>` format (base64 ids,
numbers as strings, enums by name) with the spans and attributes our runtime emits: an
orchestrator's turn delegating to worker agents in their own processes, each turn fetching
memory (client span, the memory service's server and store spans) and then running steps of a
`chat` model call and tool calls (some through MCP, some failing), with prompt, completion and
tool arguments and results as long as the runtime caps them. The steps timed are what opening a
trace costs (from the protobuf the console asks Tempo for, and from JSON for a Tempo that only
answers that: decode, build the waterfall, lay out every row), what a key press costs (zoom, then
lay out one screen of rows) and the errors filter, each including the freeing of what it
made; `measure()` returns the figures for benchmarks/console_bench.py to include. The stdlib's
`json.loads` of the same body is timed too: this machine's speed varies with its neighbours,
and that floor shows how fast it is at the time.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format

from agentops_tui.services.traces.client import waterfall_from_json
from agentops_tui.services.traces.filters import select
from agentops_tui.services.traces.layout import Viewport, layout
from agentops_tui.services.traces.otlp import gc_paused, parse_v2
from agentops_tui.services.traces.proto import TraceByIDResponse, waterfall_from_protobuf
from agentops_tui.services.traces.tree import build

START_NS = 1_775_728_800_000_000_000  # 2026-04-09 10:00 UTC
TOOLS = ("kubectl", "read_file", "grep", "bash", "write_file", "github.search_issues")
MODELS = ("claude-sonnet-4-5", "gpt-4.1")
WORDS = (
    "deployment pod namespace rollout replica image container restart probe service endpoint "
    "ingress config secret volume node schedule taint label selector manifest patch apply"
).split()


class TraceWriter:
    """Spans in Tempo's JSON, grouped into one batch per process."""

    def __init__(self, seed: int, limit: int) -> None:
        self.rng = random.Random(seed)
        self.trace_id = self._id(16)
        self.batches: dict[str, dict[str, Any]] = {}
        self.count = 0
        self.limit = limit

    def _id(self, size: int) -> str:
        return base64.b64encode(self.rng.randbytes(size)).decode()

    def text(self, words: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(words))

    def batch(self, service: str, agent: str | None = None) -> list[dict[str, Any]]:
        key = f"{service}/{agent}"
        if key not in self.batches:
            attributes = {"service.name": service, "service.version": "0.1.0"}
            if agent:
                attributes |= {"agent.name": agent, "agent.namespace": "ops", "agent.mode": "task"}
            self.batches[key] = {
                "resource": {"attributes": _attributes(attributes)},
                "scopeSpans": [{"scope": {"name": "agentops"}, "spans": []}],
            }
        spans: list[dict[str, Any]] = self.batches[key]["scopeSpans"][0]["spans"]
        return spans

    def span(
        self,
        batch: list[dict[str, Any]],
        name: str,
        parent: str | None,
        start: int,
        duration: int,
        attributes: dict[str, Any],
        *,
        kind: str = "SPAN_KIND_INTERNAL",
        events: list[dict[str, Any]] | None = None,
        error: str | None = None,
    ) -> dict[str, Any]:
        """The span, added to `batch`; its end can be set later, when it is known."""
        span_id = self._id(8)
        span: dict[str, Any] = {
            "traceId": self.trace_id,
            "spanId": span_id,
            "name": name,
            "kind": kind,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + duration),
            "attributes": _attributes(attributes),
            "status": {"code": "STATUS_CODE_ERROR", "message": error} if error else {},
        }
        if parent:
            span["parentSpanId"] = parent
        if events:
            span["events"] = events
        batch.append(span)
        self.count += 1
        return span

    def document(self) -> bytes:
        return json.dumps({"trace": {"resourceSpans": list(self.batches.values())}}).encode()


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_value(v) for v in value]}}
    return {"stringValue": value}


def _attributes(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in values.items()]


def _event(name: str, at: int, **attributes: Any) -> dict[str, Any]:
    return {"timeUnixNano": str(at), "name": name, "attributes": _attributes(attributes)}


def _memory(w: TraceWriter, agent: str, parent: str, start: int) -> int:
    """memory.fetch_context from the runtime, served by the memory service; its duration."""
    took = w.rng.randint(3, 40) * 1_000_000
    client = w.span(
        w.batch("agentops-runtime", agent), "memory.fetch_context", parent, start, took,
        {"memory.operation": "fetch_context", "memory.project": agent, "memory.limit": 10,
         "gen_ai.operation.name": "retrieval", "memory.context_query": w.text(20)},
        kind="SPAN_KIND_CLIENT",
    )  # fmt: skip
    server = w.span(
        w.batch("agentops-memory"), "memory.fetch_context", client["spanId"], start + 500_000,
        took - 1_000_000, {"http.request.method": "GET", "url.path": "/context",
                           "http.response.status_code": 200},
        kind="SPAN_KIND_SERVER",
    )  # fmt: skip
    w.span(
        w.batch("agentops-memory"), "store.fetch_context", server["spanId"], start + 700_000,
        took - 2_000_000, {"memory.operation": "fetch_context", "memory.project": agent,
                           "gen_ai.operation.name": "retrieval"},
        events=[_event("context.injected", start + 900_000, **{
            "memory.injected.type": "decision", "memory.injected.title": w.text(6)})],
    )  # fmt: skip
    return took


def _step(w: TraceWriter, agent: str, parent: str, number: int, start: int) -> int:
    """One step (a model call, then its tool calls); its duration."""
    batch = w.batch("agentops-runtime", agent)
    model = w.rng.choice(MODELS)
    chat_took = w.rng.randint(400, 6000) * 1_000_000
    calls = w.rng.choice((0, 1, 1, 2, 3))
    tools_took = [w.rng.randint(5, 2500) * 1_000_000 for _ in range(calls)]
    took = chat_took + sum(tools_took) + 2_000_000
    step = w.span(
        batch, "agent.step", parent, start, took,
        {"step.number": number, "agent.name": agent, "step.finish_reason": "tool_use",
         "step.tool_call_count": calls, "gen_ai.usage.input_tokens": w.rng.randint(2000, 90000),
         "gen_ai.usage.output_tokens": w.rng.randint(20, 2000)},
    )  # fmt: skip
    w.span(
        batch, f"chat {model}", step["spanId"], start + 1_000_000, chat_took,
        {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
         "gen_ai.request.model": model, "gen_ai.request.max_tokens": 8192,
         "gen_ai.request.temperature": 0.2, "gen_ai.response.model": model,
         "gen_ai.response.finish_reasons": ["tool_use" if calls else "end_turn"],
         "gen_ai.usage.input_tokens": w.rng.randint(2000, 90000),
         "gen_ai.usage.output_tokens": w.rng.randint(20, 2000),
         "gen_ai.usage.cache_read_tokens": w.rng.randint(0, 60000), "agent.tool_calls": calls,
         "gen_ai.response.id": f"msg_{w.rng.getrandbits(64):016x}"},
        kind="SPAN_KIND_CLIENT",
        events=[_event("gen_ai.first_token", start + 300_000_000)],
    )  # fmt: skip
    at = start + 1_000_000 + chat_took
    for tool_took in tools_took:
        tool = w.rng.choice(TOOLS)
        failed = w.rng.random() < 0.04
        result = w.text(80)
        attributes = {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool,
            "gen_ai.tool.call.id": f"toolu_{w.rng.getrandbits(64):016x}",
            "gen_ai.tool.call.arguments": json.dumps({"command": w.text(12)}),
            "tool.name": tool, "tool.type": "mcp" if "." in tool else "builtin",
            "tool.duration_ms": tool_took // 1_000_000, "gen_ai.tool.call.result": result,
        }  # fmt: skip
        if failed:
            attributes |= {"tool.error": result, "error.type": "tool_error"}
        call = w.span(batch, f"tool.execute: {tool}", step["spanId"], at, tool_took, attributes)
        if "." in tool:
            w.span(
                batch, f"mcp.call: github/{tool.split('.')[1]}", call["spanId"], at + 200_000,
                tool_took - 400_000,
                {"gen_ai.operation.name": "execute_tool", "tool.mcp.server": "github",
                 "tool.name": tool.split(".")[1], "gen_ai.tool.name": tool,
                 "tool.mcp.transport": "streamable-http", "tool.type": "mcp",
                 "mcp.method.name": "tools/call"},
            )  # fmt: skip
        at += tool_took
    return took


def _turn(w: TraceWriter, agent: str, parent: str | None, start: int, steps: int) -> int:
    """An agent's turn (agent.prompt) with memory and `steps` steps; its duration."""
    batch = w.batch("agentops-runtime", agent)
    root = w.span(
        batch, "agent.prompt", parent, start, 1,
        {"agent.name": agent, "agent.mode": "task", "gen_ai.operation.name": "invoke_agent",
         "gen_ai.provider.name": "anthropic", "gen_ai.request.model": MODELS[0],
         "gen_ai.agent.name": agent, "gen_ai.agent.id": f"ops/{agent}"},
        kind="SPAN_KIND_SERVER",
    )  # fmt: skip
    at = start + _memory(w, agent, root["spanId"], start + 1_000_000) + 2_000_000
    for number in range(steps):
        if w.count >= w.limit:
            break
        at += _step(w, agent, root["spanId"], number, at)
    took = at - start
    root["endTimeUnixNano"] = str(start + took)
    root["events"] = [
        _event("gen_ai.user.message", start, role="user", content=w.text(120)),
        _event("gen_ai.choice", start + took, index=0, finish_reason="stop", content=w.text(300)),
    ]
    return took


def generate(spans: int, seed: int = 7) -> bytes:
    """A trace of about `spans` spans (a step's spans are not cut) in Tempo's v2 JSON."""
    w = TraceWriter(seed, spans)
    orchestrator = w.batch("agentops-runtime", "orchestrator")
    root = w.span(
        orchestrator, "agent.prompt", None, START_NS, 1,
        {"agent.name": "orchestrator", "gen_ai.operation.name": "invoke_agent",
         "gen_ai.agent.name": "orchestrator"},
        kind="SPAN_KIND_SERVER",
    )  # fmt: skip
    at, end, worker = START_NS + 5_000_000, START_NS, 0
    while w.count < spans:
        delegate = w.span(
            orchestrator, "tool.execute: delegate", root["spanId"], at, 1,
            {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "delegate",
             "tool.name": "delegate", "tool.type": "builtin"},
        )  # fmt: skip
        took = _turn(w, f"worker-{worker}", delegate["spanId"], at + 10_000_000, steps=100)
        delegate["endTimeUnixNano"] = str(at + took + 20_000_000)
        end = max(end, at + took + 20_000_000)
        at += took // 3  # the workers overlap, as a fan-out does
        worker += 1
    root["endTimeUnixNano"] = str(end + 5_000_000)
    return w.document()


def _timed(
    action: Callable[[Any], object], runs: int, setup: Callable[[], Any] = lambda: None
) -> list[float]:
    """Seconds per run of `action(setup())`, `setup` untimed."""
    times = []
    for _ in range(runs):
        prepared = setup()
        started = time.perf_counter()
        action(prepared)
        times.append(time.perf_counter() - started)
        del prepared
    return times


def _loads(body: bytes) -> object:
    with gc_paused():  # as parse_v2 does: the floor it is compared with
        return json.loads(body)


def measure(spans: int = 10_000, runs: int = 7, width: int = 160) -> list[tuple[str, list[float]]]:
    """(step, seconds per run) for each step of opening and using a trace."""
    body = generate(spans)
    protobuf = json_format.Parse(body, TraceByIDResponse()).SerializeToString()
    waterfall = waterfall_from_json(body)
    shown = select(waterfall)
    whole = Viewport.whole(waterfall.duration_ns)

    def open_trace(rows: int | None) -> None:
        built = waterfall_from_protobuf(protobuf)
        layout(select(built), Viewport.whole(built.duration_ns), width, count=rows)

    return [
        ("(reference: the stdlib's json.loads of the same body)", _timed(
            lambda _: _loads(body), runs)),
        ("parse the JSON (pydantic)", _timed(lambda _: parse_v2(body), runs)),
        ("build the waterfall", _timed(lambda parsed: build(parsed["trace"]), runs, lambda: parse_v2(body))),
        ("decode the protobuf and build the waterfall", _timed(
            lambda _: waterfall_from_protobuf(protobuf), runs)),
        ("lay out every row", _timed(lambda _: layout(shown, whole, width), runs)),
        ("open in the console: decode, build, lay out 50 rows", _timed(lambda _: open_trace(50), runs)),
        ("open in `agentops trace`: decode, build, lay out all", _timed(lambda _: open_trace(None), runs)),
        ("key press: zoom in, lay out 50 rows", _timed(
            lambda _: layout(shown, whole.zoom(4, 0.3), width, first=4000, count=50), runs)),
        ("errors filter", _timed(lambda _: select(waterfall, "errors"), runs)),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--width", type=int, default=160)
    args = parser.parse_args()
    body = generate(args.spans)
    waterfall = build(parse_v2(body)["trace"])
    print(
        f"{len(waterfall.spans):,} spans, {len(body) / 2**20:.1f} MiB of JSON, "
        f"depth {max(n.depth for n in waterfall.spans)}, width {args.width}, "
        f"median and worst of {args.runs} runs\n"
    )
    print("| Step | Median | Worst | Target |")
    print("|---|---|---|---|")
    for name, times in measure(args.spans, args.runs, args.width):
        target = "< 500 ms" if name.startswith("open") else "< 50 ms" if "key" in name else "-"
        print(
            f"| {name} | {statistics.median(times) * 1000:.1f} ms "
            f"| {max(times) * 1000:.1f} ms | {target} |"
        )


if __name__ == "__main__":
    main()
