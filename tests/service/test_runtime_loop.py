"""The agent loop through the runtime: retries, fallback, stop conditions, tool failures,
checkpoints and tracing, against the fake provider."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentops_services.runtime.loop import LoopSettings
from agentops_services.runtime.tooling import Tool
from tests.fakes.tools import BrokenTool, EchoTool
from tests.service.conftest import (
    FakeProvider,
    Received,
    agent_config,
    prompt_stream,
    running_runtime,
    types,
)


def only(events: list[Received], kind: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == kind]


def two_providers(fake: FakeProvider, **extra: Any) -> dict[str, Any]:
    return agent_config(
        fake,
        providers=[fake.entry(), fake.entry(name="backup")],
        fallbackModels=["backup/gpt-backup"],
        **extra,
    )


async def test_a_rate_limited_call_is_retried_within_its_step(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use(
        {
            "turns": [
                {"error": {"status": 429, "message": "slow down", "retryAfter": 0.01}},
                {"text": "Answer after the retry."},
            ]
        }
    )
    async with running_runtime(tmp_path, agent_config(fake_llm)) as runtime:
        events = await prompt_stream(runtime.client, "hi")
    assert "agent_error" not in types(events)
    assert [w["warnings"][0] for w in only(events, "warnings")] == [
        "fake/gpt-fake failed (HTTP 429: slow down); retrying in 0.0 s (attempt 2 of 3)"
    ]
    assert only(events, "step_start") == [
        {**only(events, "step_start")[0], "step_number": 0}
    ]  # one step, two attempts
    assert only(events, "agent_finish")[0]["step_count"] == 1
    assert len(fake_llm.llm.requests) == 2


async def test_fallback_takes_over_the_step_with_tools_and_system_prompt(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    failure = {"error": {"status": 503, "message": "overloaded", "retryAfter": 0.01}}
    fake_llm.use({"turns": [failure, failure, failure, {"text": "Backup answers."}]})
    config = two_providers(fake_llm, platformProtocol="You are tester.")
    async with running_runtime(tmp_path, config, tools=[EchoTool()]) as runtime:
        events = await prompt_stream(runtime.client, "hi")
        status = (await runtime.client.get("/status")).json()
    assert "agent_error" not in types(events)
    assert only(events, "agent_finish")[0]["model"] == "backup/gpt-backup"
    assert status["model"] == "backup/gpt-backup"
    primary, backup = fake_llm.llm.requests[0].body, fake_llm.llm.requests[-1].body
    assert backup["model"] == "gpt-backup"
    assert backup["tools"] == primary["tools"] and backup["tools"]
    assert backup["messages"][0] == primary["messages"][0]
    assert "You are tester." in backup["messages"][0]["content"]
    assert any(
        "step 0 falls back to backup/gpt-backup" in w["warnings"][0]
        for w in only(events, "warnings")
    )


async def test_when_every_model_fails_there_is_exactly_one_agent_error(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    failure = {"error": {"status": 500, "message": "boom", "retryAfter": 0.01}}
    fake_llm.use({"turns": [failure] * 6})
    async with running_runtime(tmp_path, two_providers(fake_llm)) as runtime:
        events = await prompt_stream(runtime.client, "hi")
    errors = only(events, "agent_error")
    assert len(errors) == 1
    assert errors[0]["retryable"] is True
    assert errors[0]["error"] == "all models failed, last error: backup/gpt-backup: HTTP 500: boom"
    assert types(events)[-2:] == ["agent_error", "session_idle"]
    assert len(fake_llm.llm.requests) == 6


async def test_a_final_error_is_not_retried(tmp_path: Path, fake_llm: FakeProvider) -> None:
    fake_llm.use({"turns": [{"error": {"status": 400, "message": "bad tool schema"}}] * 2})
    async with running_runtime(tmp_path, two_providers(fake_llm)) as runtime:
        events = await prompt_stream(runtime.client, "hi")
        response = await runtime.client.post("/prompt", json={"prompt": "again"})
    errors = only(events, "agent_error")
    assert errors == [
        {**errors[0], "error": "fake/gpt-fake: HTTP 400: bad tool schema", "retryable": False}
    ]
    assert len(fake_llm.llm.requests) == 2  # the stream, then the /prompt call
    assert response.status_code == 502


async def test_a_stalled_stream_is_retried(tmp_path: Path, fake_llm: FakeProvider) -> None:
    fake_llm.use({"turns": [{"text": "never ends", "stall": True}, {"text": "Fresh answer."}]})
    settings = LoopSettings(retry_delay=0.01, idle_timeout=0.3)
    async with running_runtime(tmp_path, agent_config(fake_llm), loop=settings) as runtime:
        events = await prompt_stream(runtime.client, "hi")
    assert "stalled" in only(events, "warnings")[0]["warnings"][0]
    assert only(events, "agent_finish")
    texts = [e.data["delta"] for e in events if e.type == "text_delta"]
    assert "".join(texts).endswith("Fresh answer.")
    assert types(events).count("text_start") == types(events).count("text_end")


async def test_max_steps_stops_a_tool_loop(tmp_path: Path, fake_llm: FakeProvider) -> None:
    call = {"toolCalls": [{"name": "echo", "input": {"text": "again"}}]}
    fake_llm.use({"turns": [call] * 10})
    config = agent_config(fake_llm, maxSteps=3)
    async with running_runtime(tmp_path, config, tools=[EchoTool()]) as runtime:
        events = await prompt_stream(runtime.client, "loop")
    assert only(events, "agent_finish")[0]["step_count"] == 3
    assert [s["step_number"] for s in only(events, "step_finish")] == [0, 1, 2]
    assert only(events, "warnings")[-1]["warnings"] == ["stopped after 3 steps (maxSteps)"]


async def test_the_context_budget_stops_the_loop(tmp_path: Path, fake_llm: FakeProvider) -> None:
    call = {
        "toolCalls": [{"name": "echo", "input": {"text": "x"}}],
        "usage": {"inputTokens": 190_000, "outputTokens": 10},
    }
    fake_llm.use({"turns": [call] * 3})
    async with running_runtime(tmp_path, agent_config(fake_llm), tools=[EchoTool()]) as runtime:
        events = await prompt_stream(runtime.client, "big")
    assert only(events, "agent_finish")[0]["step_count"] == 1
    assert "the budget is 150000" in only(events, "warnings")[-1]["warnings"][0]
    budget = only(events, "step_finish")[0]["context_budget"]
    assert budget["actual_input_tokens"] == 190_000 and budget["context_window"] == 200_000


async def test_tool_failures_become_results_the_model_reads(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    calls = {
        "toolCalls": [
            {"name": "broken", "id": "c1"},
            {"name": "missing", "id": "c2"},
            {"name": "echo", "id": "c3", "input": {"wrong": 1}},
        ]
    }
    fake_llm.use({"turns": [calls, {"text": "I see the errors."}]})
    tools: list[Tool] = [EchoTool(), BrokenTool()]
    async with running_runtime(tmp_path, agent_config(fake_llm), tools=tools) as runtime:
        events = await prompt_stream(runtime.client, "try")
    results = {r["id"]: r for r in only(events, "tool_result")}
    assert all(r["is_error"] for r in results.values())
    assert results["c1"]["output"] == "tool broken failed: RuntimeError: disk on fire"
    assert results["c2"]["output"] == "tool not found: missing"
    assert results["c3"]["output"].startswith("invalid arguments for echo: text: Field required")
    sent = fake_llm.llm.requests[1].body["messages"]
    assert [m["tool_call_id"] for m in sent if m["role"] == "tool"] == ["c1", "c2", "c3"]
    assert only(events, "agent_finish")


async def test_parallel_safe_calls_run_together_and_results_keep_call_order(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    calls = {
        "toolCalls": [{"name": "echo", "id": f"c{n}", "input": {"text": str(n)}} for n in range(4)]
    }
    fake_llm.use({"turns": [calls, {"text": "ok"}]})
    echo = EchoTool()
    async with running_runtime(tmp_path, agent_config(fake_llm), tools=[echo]) as runtime:
        await prompt_stream(runtime.client, "fan out")
        memory = (await runtime.client.get("/working-memory")).json()
    assert sorted(echo.calls) == ["0", "1", "2", "3"]
    tool_message = memory[2]
    assert [p["tool_call_id"] for p in tool_message["content"]] == ["c0", "c1", "c2", "c3"]
    assert json.loads(tool_message["content"][0]["metadata"])["ui"] == "terminal"


async def test_every_completed_step_is_checkpointed_and_restored(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    call = {"toolCalls": [{"name": "echo", "input": {"text": "saved"}, "id": "c1"}]}
    fake_llm.use({"turns": [call, {"text": "All saved."}]})
    async with running_runtime(tmp_path, agent_config(fake_llm), tools=[EchoTool()]) as runtime:
        await prompt_stream(runtime.client, "remember this")
        before = (await runtime.client.get("/working-memory")).json()
        checkpoint = json.loads((runtime.state_dir / "checkpoint.json").read_text())
    assert checkpoint["turnNum"] == 1 and len(checkpoint["messages"]) == 4
    fake_llm.use({"turns": [{"text": "I remember."}]})
    async with running_runtime(tmp_path, agent_config(fake_llm), tools=[EchoTool()]) as runtime:
        assert (await runtime.client.get("/working-memory")).json() == before
        await prompt_stream(runtime.client, "what did I say?")
    history = fake_llm.llm.requests[-1].body["messages"]
    assert [m["role"] for m in history] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]


async def test_an_unreadable_checkpoint_is_set_aside(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    (tmp_path / "sessions").mkdir()
    (tmp_path / "sessions" / "checkpoint.json").write_text("{torn")
    async with running_runtime(tmp_path, agent_config(fake_llm)) as runtime:
        assert (await runtime.client.get("/working-memory")).json() == []
    assert (tmp_path / "sessions" / "checkpoint.corrupt").read_text() == "{torn"


async def test_an_old_conversation_is_trimmed_to_the_budget(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [{"text": "x" * 16000, "chunkChars": 4000}] * 4})
    config = agent_config(fake_llm, primaryModel="fake/moonshot-v1-8k")  # an 8,000 token window
    async with running_runtime(tmp_path, config) as runtime:
        for _ in range(3):
            events = await prompt_stream(runtime.client, "write a lot")
        memory = (await runtime.client.get("/working-memory")).json()
    assert any("oldest messages" in w["warnings"][0] for w in only(events, "warnings"))
    assert len(memory) < 6 and memory[-1]["role"] == "assistant"


async def test_spans_follow_the_genai_conventions_and_join_the_callers_trace(
    tmp_path: Path, fake_llm: FakeProvider, spans: InMemorySpanExporter
) -> None:
    call = {"toolCalls": [{"name": "echo", "input": {"text": "traced"}, "id": "c1"}]}
    fake_llm.use({"turns": [call, {"text": "done"}]})
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    headers = {"traceparent": parent}
    async with (
        running_runtime(tmp_path, agent_config(fake_llm), tools=[EchoTool()]) as runtime,
        runtime.client.stream(
            "POST", "/prompt/stream", json={"prompt": "trace me"}, headers=headers
        ) as response,
    ):
        body = await response.aread()
    assert b"4bf92f3577b34da6a3ce929d0e0e4736" in body  # agent_start.trace_id
    finished = {s.name: s for s in spans.get_finished_spans()}
    root = finished["agent.prompt"]
    assert format(root.context.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert root.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["agent.steps"] == 2
    chat = finished["chat gpt-fake"]
    assert chat.attributes is not None
    assert chat.attributes["gen_ai.request.model"] == "gpt-fake"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 100
    tool = finished["tool.execute: echo"]
    assert tool.attributes is not None
    assert tool.attributes["gen_ai.tool.call.id"] == "c1"
    assert tool.attributes["gen_ai.tool.call.arguments"] == '{"text": "traced"}'
    assert tool.attributes["gen_ai.tool.call.result"] == "echo: traced"
    steps = [s for s in spans.get_finished_spans() if s.name == "agent.step"]
    assert len(steps) == 2
    assert all(s.parent is not None and s.parent.span_id == root.context.span_id for s in steps)
    assert tool.parent is not None and tool.parent.span_id in {s.context.span_id for s in steps}
