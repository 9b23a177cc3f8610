"""The runtime with a real memory service: context injected into each turn, the memory tools,
hooks that remember, a summary when the conversation ends, extraction, and outages that only
warn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.service.conftest import (
    FakeProvider,
    MemoryService,
    agent_config,
    prompt_stream,
    running_runtime,
)


def with_memory(fake: FakeProvider, memory_url: str, **extra: Any) -> dict[str, Any]:
    memory = {"serverURL": memory_url, "project": "Payments", "contextLimit": 3}
    return agent_config(fake, memory=memory, **extra)


async def remember(memory: MemoryService, title: str, content: str) -> None:
    await memory.client.post("/sessions", json={"id": "seed", "project": "payments"})
    response = await memory.client.post(
        "/observations",
        json={"session_id": "seed", "type": "bugfix", "title": title, "content": content,
              "project": "payments"},
    )  # fmt: skip
    assert response.status_code == 201


async def observations(memory: MemoryService) -> list[dict[str, Any]]:
    response = await memory.client.get(
        "/observations/recent", params={"project": "payments", "limit": 50}
    )
    items: list[dict[str, Any]] = response.json()
    return items


async def test_relevant_memories_are_injected_even_without_a_system_prompt(
    tmp_path: Path, fake_llm: FakeProvider, memory: MemoryService
) -> None:
    await remember(memory, "Ingress 502s", "The ingress returns 502 when the pool is exhausted.")
    fake_llm.use({"turns": [{"text": "It is the pool."}]})
    config = with_memory(fake_llm, memory.url, systemPrompt="")
    async with running_runtime(tmp_path, config) as runtime:
        events = await prompt_stream(runtime.client, "why does the ingress return 502?")
        status = (await runtime.client.get("/status")).json()
    system = fake_llm.llm.requests[0].body["messages"][0]
    assert system["role"] == "system"
    assert "<memory:context>\n- [bugfix] Ingress 502s: The ingress returns 502" in system["content"]
    start = next(e for e in events if e.type == "agent_start")
    assert start.data["context_budget"]["memory_context_tokens"] > 0
    assert status["memory_enabled"] is True


async def test_memory_tools_save_and_search(
    tmp_path: Path, fake_llm: FakeProvider, memory: MemoryService
) -> None:
    save = {"name": "mem_save", "id": "s", "input": {
        "type": "decision", "title": "Use canary rollouts", "content": "Canary first, always.",
        "tags": ["deploy"]}}  # fmt: skip
    search = {"name": "mem_search", "id": "q", "input": {"query": "canary"}}
    fake_llm.use({"turns": [{"toolCalls": [save]}, {"toolCalls": [search]}, {"text": "Saved."}]})
    async with running_runtime(tmp_path, with_memory(fake_llm, memory.url)) as runtime:
        events = await prompt_stream(runtime.client, "remember to use canaries")
    results = {e.data["id"]: e.data for e in events if e.type == "tool_result"}
    assert results["s"]["output"] == "Saved [decision] Use canary rollouts"
    assert results["q"]["output"].startswith("Found 1 memories:\n\n1. [decision] Use canary")
    saved = await observations(memory)
    assert [(o["title"], o["tags"]) for o in saved] == [("Use canary rollouts", ["deploy"])]


async def test_the_conversation_ends_with_a_summary_in_its_session(
    tmp_path: Path, fake_llm: FakeProvider, memory: MemoryService
) -> None:
    fake_llm.use({"turns": [{"text": "The rollout finished."}]})
    async with running_runtime(tmp_path, with_memory(fake_llm, memory.url)) as runtime:
        await prompt_stream(runtime.client, "finish the rollout")
        session = runtime.agent.memory.session_id
    response = await memory.client.get("/sessions/recent", params={"project": "payments"})
    ended = next(s for s in response.json() if s["id"] == session)
    assert ended["message_count"] == 2 and ended["summary"]


async def test_a_memory_outage_is_a_warning_not_a_failed_turn(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [{"toolCalls": [{"name": "mem_search", "input": {"query": "x"}}]},
                            {"text": "Carrying on."}]})  # fmt: skip
    config = with_memory(fake_llm, "http://127.0.0.1:9")  # nothing listens on the discard port
    async with running_runtime(tmp_path, config) as runtime:
        events = await prompt_stream(runtime.client, "anything")
    warnings = [w for e in events if e.type == "warnings" for w in e.data["warnings"]]
    assert any(w.startswith("memory unavailable, the turn goes on without it") for w in warnings)
    result = next(e for e in events if e.type == "tool_result")
    assert result.data["is_error"] and "memory search failed" in result.data["output"]
    assert events[-2].type == "agent_finish"


async def test_hooks_audit_capture_and_inject_memories(
    tmp_path: Path, fake_llm: FakeProvider, memory: MemoryService
) -> None:
    await remember(memory, "Disk pressure", "Node disk fills up from container logs.")
    hooks = {
        "auditTools": ["bash"],
        "memorySaveRules": [{"tool": "bash", "matchOutput": "Filesystem", "type": "discovery"}],
        "contextInjectTools": [{"tool": "bash", "query": "disk", "limit": 2}],
        "blockedCommands": ["mkfs"],
    }
    turns = [
        {"toolCalls": [{"name": "bash", "id": "df", "input": {"command": "echo Filesystem ok"}}]},
        {"toolCalls": [{"name": "bash", "id": "mk", "input": {"command": "mkfs /dev/sda"}}]},
        {"text": "Done."},
    ]
    fake_llm.use({"turns": turns})
    config = with_memory(fake_llm, memory.url, builtinTools=["bash"], toolHooks=hooks)
    async with running_runtime(tmp_path, config) as runtime:
        events = await prompt_stream(runtime.client, "check the disk")
        await runtime.agent.loop.tools.hooks.drain()  # type: ignore[union-attr]
    result = next(e.data for e in events if e.type == "tool_result" and e.data["id"] == "df")
    assert result["output"].startswith("Filesystem ok\n\n[Related memory]\n<memory:context>")
    assert "Disk pressure" in result["output"]
    titles = {o["title"]: o for o in await observations(memory)}
    assert "Audit: bash (error, " in " ".join(titles)  # the blocked call, upserted over the first
    assert titles["Auto-captured: bash — echo Filesystem ok"]["type"] == "discovery"
    assert titles["Blocked command: mkfs"]["type"] == "security"


async def test_extract_drafts_one_memory_from_the_conversation(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    draft = '```json\n{"type": "bugfix", "title": "Pool size", "content": "Raise it.", "tags": ["DB"]}\n```'
    fake_llm.use({"turns": [{"text": "Raised the pool size."}, {"text": draft}]})
    async with running_runtime(tmp_path, agent_config(fake_llm)) as runtime:
        empty = await runtime.client.post("/memory/extract")
        await prompt_stream(runtime.client, "fix the pool")
        response = await runtime.client.post("/memory/extract", json={"focus": "the fix"})
    assert empty.status_code == 422
    assert response.json() == {
        "type": "bugfix", "title": "Pool size", "content": "Raise it.", "tags": ["db"]
    }  # fmt: skip
    prompt = fake_llm.llm.requests[-1].body["messages"][-1]["content"]
    assert "[user] fix the pool" in prompt and "User focus: the fix" in prompt
