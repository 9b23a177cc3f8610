"""The chat client against a real runtime process (the scripted model): a turn with a tool call
reduced to its transcript, streams cut mid-turn and resumed without a lost or repeated event,
a runtime restart under a follower, permission replies, steer and abort, attaching to a turn
started elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import EventSource

from agentops_services.api import fep
from agentops_tui.services.chat.client import (
    Backoff,
    ChatClient,
    LinkNotice,
    PermissionResponse,
    RequestClosedError,
    StreamedEvent,
)
from agentops_tui.services.chat.transcript import (
    ErrorBlock,
    ReasoningBlock,
    TextBlock,
    ToolBlock,
    Transcript,
)
from tests.conftest import eventually
from tests.runtime_process import daemon, write_agent
from tests.tcp_proxy import Breakage, tcp_proxy

FAST = Backoff(first=0.05, cap=0.2, give_up_after=30)
LONG_TEXT = " ".join(f"word{n:03d}" for n in range(60))


@contextlib.asynccontextmanager
async def runtime(
    tmp_path: Path, turns: list[dict[str, Any]], **config: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """A runtime process whose tools work in tmp_path/work."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    path = write_agent(tmp_path, turns, **config)
    async with daemon(path, tmp_path / "state", WORKSPACE=str(work)) as running:
        yield running


async def collect(stream: AsyncIterator[StreamedEvent]) -> list[StreamedEvent]:
    """The stream's events to its end (a stream that hangs fails the test)."""

    async def drain() -> list[StreamedEvent]:
        return [item async for item in stream]

    return await asyncio.wait_for(drain(), 30)


async def full_log(http: httpx.AsyncClient, after: int = 0) -> list[tuple[int, str]]:
    """(id, JSON) of the runtime's log after `after`, read directly up to a session_idle."""
    frames: list[tuple[int, str]] = []
    async with http.stream("GET", f"/events?after={after}") as response:
        async for sse in EventSource(response).aiter_sse():
            frames.append((int(sse.id), sse.data))
            if json.loads(sse.data)["type"] == "session_idle":
                return frames
    raise AssertionError("the log has no session_idle")


def as_log(items: list[StreamedEvent]) -> list[tuple[int, str]]:
    return [(item.seq or 0, item.event.to_json()) for item in items]


def types(items: list[StreamedEvent]) -> list[str]:
    return [item.event.type for item in items]


def drawn(transcript: Transcript) -> list[tuple[str, list[Any]]]:
    """What a view draws of each message (tool cards by name, arguments, status, output)."""
    return [
        (
            m.role,
            [
                (b.tool_name, b.input, b.status, b.output) if isinstance(b, ToolBlock) else b
                for b in m.blocks
            ],
        )
        for m in transcript.messages.values()
    ]


async def test_a_turn_with_a_tool_call_streams_and_reduces_to_its_transcript(
    tmp_path: Path,
) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "notes.txt").write_text("hello\n")
    turns: list[dict[str, Any]] = [
        {
            "reasoning": "The user wants the files.",
            "text": "Let me look.",
            "toolCalls": [{"name": "ls", "input": {"path": "."}, "id": "call_ls"}],
        },
        {"text": "There is one file, notes.txt.", "chunkChars": 5},
    ]
    async with runtime(tmp_path, turns, builtinTools=["ls"]) as (http, _):
        client = ChatClient(http)
        items = await collect(client.send("what is here?"))
        history = await client.history()
        status = await client.status()

    assert [item.seq for item in items] == list(range(1, len(items) + 1))
    assert types(items)[0] == "agent_start" and types(items)[-1] == "session_idle"
    transcript = Transcript()
    deltas = []
    for item in items:
        change = transcript.apply(item.event)
        if isinstance(item.event, fep.TextDelta) and item.event.id.endswith("-t"):
            deltas.append(change)
    user, first, second = transcript.messages.values()
    assert user.role == "user" and user.text == "what is here?"
    assert (first.role, first.step, second.role, second.step) == ("assistant", 0, "assistant", 1)
    reasoning, text, tool = first.blocks
    assert reasoning == ReasoningBlock("The user wants the files.")
    assert text == TextBlock("Let me look.")
    assert isinstance(tool, ToolBlock)
    assert (tool.call_id, tool.tool_name, tool.status) == ("call_ls", "ls", "completed")
    assert json.loads(tool.input) == {"path": "."}
    assert "notes.txt" in tool.output
    assert tool.metadata["ui"] == "file-tree" and tool.duration_ms is not None
    assert second.blocks == [TextBlock("There is one file, notes.txt.")]
    # each delta of the answer touched that one block, which holds them all
    assert len(deltas) > 3
    assert {change.blocks for change in deltas[1:]} == {((second.id, 0),)}
    finish = next(i.event for i in items if isinstance(i.event, fep.AgentFinish))
    assert transcript.usage == finish.total_usage and transcript.model == "demo/replay"
    assert transcript.budget is not None and transcript.budget.context_window > 0
    assert (transcript.state, transcript.phase) == ("idle", "idle")
    assert status.state == "idle" and status.last_event_id == items[-1].seq

    # the conversation hydrated from working memory draws the same messages
    assert drawn(Transcript.from_history(history)) == drawn(transcript)


async def test_a_stream_cut_twice_mid_turn_resumes_without_losing_or_repeating_an_event(
    tmp_path: Path,
) -> None:
    turns: list[dict[str, Any]] = [{"text": LONG_TEXT, "chunkChars": 4, "delayMs": 2}]
    async with (
        runtime(tmp_path, turns) as (http, _),
        tcp_proxy(http.base_url.port or 0) as proxy,
        httpx.AsyncClient(base_url=proxy.url) as through_proxy,
    ):
        proxy.plan = [Breakage(2_500, "cut"), Breakage(2_500, "cut")]
        notices: list[tuple[LinkNotice, int]] = []
        items: list[StreamedEvent] = []
        client = ChatClient(
            through_proxy, backoff=FAST, on_link=lambda n: notices.append((n, len(items)))
        )
        async with asyncio.timeout(30):
            async for item in client.send("tell me a long story"):
                items.append(item)
        log = await full_log(http)

    assert proxy.broken == ["cut", "cut"]
    assert [n.kind for n, _ in notices] == ["lost", "restored", "lost", "restored"]
    assert 0 < notices[0][1] < notices[2][1] < len(items)  # both cuts fell inside the turn
    assert as_log(items) == log  # every event once, in order, as the runtime logged it
    text = "".join(i.event.delta for i in items if isinstance(i.event, fep.TextDelta))
    assert text == LONG_TEXT


async def test_a_silent_link_is_noticed_by_the_missing_heartbeats(tmp_path: Path) -> None:
    turns: list[dict[str, Any]] = [{"text": LONG_TEXT, "chunkChars": 4, "delayMs": 2}]
    async with (
        runtime(tmp_path, turns) as (http, _),
        tcp_proxy(http.base_url.port or 0) as proxy,
        httpx.AsyncClient(base_url=proxy.url) as through_proxy,
    ):
        proxy.plan = [Breakage(2_500, "stall")]  # no more bytes, and no socket error either
        notices: list[LinkNotice] = []
        client = ChatClient(through_proxy, backoff=FAST, on_link=notices.append, heartbeat=0.2)
        items = await collect(client.send("tell me a long story"))
        log = await full_log(http)
    assert proxy.broken == ["stall"]
    assert notices[0].kind == "lost" and notices[0].detail == "ReadTimeout"
    assert as_log(items) == log


async def test_a_follower_survives_a_cut_and_a_runtime_restart(tmp_path: Path) -> None:
    turns: list[dict[str, Any]] = [
        {"match": "one", "text": "First answer."},
        {"match": "two", "text": "Second answer."},
    ]
    config = write_agent(tmp_path, turns)
    state = tmp_path / "state"
    followed: list[StreamedEvent] = []
    notices: list[LinkNotice] = []
    idles = asyncio.Queue[int]()

    async def follow(client: ChatClient) -> None:
        async for item in client.events(after=0):
            followed.append(item)
            if isinstance(item.event, fep.SessionIdle):
                idles.put_nowait(len(followed))

    async with tcp_proxy(0) as proxy, httpx.AsyncClient(base_url=proxy.url) as through_proxy:
        async with daemon(config, state) as (first, _):
            proxy.upstream_port = first.base_url.port or 0
            follower = asyncio.create_task(
                follow(ChatClient(through_proxy, backoff=FAST, on_link=notices.append))
            )
            proxy.plan = [Breakage(1_500, "cut")]  # cut during the first turn
            before = await collect(ChatClient(first).send("one"))
            await asyncio.wait_for(idles.get(), 10)
            assert proxy.broken == ["cut"]
            assert as_log(followed) == as_log(before)
            # ... then the runtime stops (its streams end) and a new process takes its place
        async with daemon(config, state) as (second, _):
            proxy.upstream_port = second.base_url.port or 0

            async def restarted() -> None:
                assert any(n.kind == "restarted" for n in notices)

            await eventually(restarted, timeout=20)
            after = await collect(ChatClient(second).send("two"))
            await asyncio.wait_for(idles.get(), 10)
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
    # the new process's events, numbered from 1 again, followed in full after the old ones
    assert after[0].seq == 1
    assert as_log(followed) == as_log(before) + as_log(after)
    assert "Second answer." in "".join(
        i.event.delta for i in followed if isinstance(i.event, fep.TextDelta)
    )


async def test_a_permission_request_is_answered_through_the_client(tmp_path: Path) -> None:
    write = {"name": "write", "input": {"path": "note.txt", "content": "hello"}, "id": "call_w"}
    turns: list[dict[str, Any]] = [
        {"toolCalls": [write]},
        {"text": "Written."},
        {"toolCalls": [write]},
        {"text": "No."},
    ]
    config = {"builtinTools": ["write"], "permissionTools": ["write"]}
    async with runtime(tmp_path, turns, **config) as (http, _):
        client = ChatClient(http)

        async def turn(reply: PermissionResponse) -> tuple[Transcript, str]:
            transcript, asked = Transcript(), ""
            async with asyncio.timeout(30):
                async for item in client.send("write the note"):
                    transcript.apply(item.event)
                    if isinstance(item.event, fep.PermissionAsked):
                        asked = item.event.id
                        assert list(transcript.permissions) == [asked]
                        tool = transcript.messages[1].blocks[0]
                        assert isinstance(tool, ToolBlock) and tool.permission == "asked"
                        assert transcript.phase == "waiting"
                        await client.reply_permission(asked, reply)
            return transcript, asked

        allowed, asked = await turn("once")
        assert (tmp_path / "work" / "note.txt").read_text() == "hello"
        with pytest.raises(RequestClosedError):
            await client.reply_permission(asked, "once")
        (tmp_path / "work" / "note.txt").unlink()
        denied, _ = await turn("deny")
    assert not (tmp_path / "work" / "note.txt").exists()
    tool = allowed.messages[1].blocks[0]
    assert isinstance(tool, ToolBlock)
    assert (tool.status, tool.permission) == ("completed", "once")
    assert not allowed.permissions and allowed.state == "idle"
    refused = denied.messages[1].blocks[0]
    assert isinstance(refused, ToolBlock)
    assert (refused.status, refused.permission) == ("error", "deny")
    assert refused.output == "Permission denied by user"


async def test_a_steer_reaches_the_running_turn_and_abort_ends_a_stalled_one(
    tmp_path: Path,
) -> None:
    write = {"name": "write", "input": {"path": "plan.txt", "content": "prod"}, "id": "call_w"}
    turns: list[dict[str, Any]] = [
        {"toolCalls": [write]},
        {"match": "staging", "text": "Switched to staging."},
        {"text": "Still thinking", "stall": True},
    ]
    config = {"builtinTools": ["write"], "permissionTools": ["write"]}
    async with runtime(tmp_path, turns, **config) as (http, _):
        client = ChatClient(http)
        steered = []
        async with asyncio.timeout(30):
            async for item in client.send("deploy to prod"):
                steered.append(item)
                if isinstance(item.event, fep.PermissionAsked):  # the turn waits here
                    await client.steer("use staging instead")
                    await client.reply_permission(item.event.id, "once")
        history = await client.history()

        streamed = asyncio.Queue[StreamedEvent]()

        async def stalled_turn() -> None:
            async for item in client.send("think hard"):
                streamed.put_nowait(item)

        turn = asyncio.create_task(stalled_turn())
        while not isinstance((await asyncio.wait_for(streamed.get(), 10)).event, fep.TextDelta):
            pass
        assert (await client.status()).state == "busy"
        await client.abort()
        assert (await client.status()).state == "idle"  # abort answers once the turn ended
        await asyncio.wait_for(turn, 10)
    # the model's next step saw the steer (its scripted answer matches only the steer's words)
    texts = "".join(i.event.delta for i in steered if isinstance(i.event, fep.TextDelta))
    assert texts == "Switched to staging."
    hydrated = Transcript.from_history(history)
    steer = [m for m in hydrated.messages.values() if m.steer]
    assert [m.text for m in steer] == ["use staging instead"]
    ended = [streamed.get_nowait().event for _ in range(streamed.qsize())]
    assert [e.type for e in ended][-2:] == ["agent_error", "session_idle"]
    transcript = Transcript()
    for event in ended:
        transcript.apply(event)
    assert isinstance(ended[-2], fep.AgentError) and ended[-2].error == "aborted by the user"
    last = list(transcript.messages.values())[-1]
    assert isinstance(last.blocks[-1], ErrorBlock) and transcript.state == "idle"


async def test_a_console_attaching_mid_turn_draws_the_turn_once(tmp_path: Path) -> None:
    ls = {"name": "ls", "input": {"path": "."}, "id": "call_ls"}
    turns: list[dict[str, Any]] = [
        {"text": "Hello."},
        {"text": "Listing.", "toolCalls": [ls]},
        {"text": "Done listing."},
    ]
    config = {"builtinTools": ["ls"], "permissionTools": ["ls"]}
    async with runtime(tmp_path, turns, **config) as (http, _):
        first = ChatClient(http)
        await collect(first.send("hi"))
        asked = asyncio.Event()
        waiting: list[str] = []

        async def started_elsewhere() -> None:
            async for item in first.send("list the files"):
                if isinstance(item.event, fep.PermissionAsked):
                    waiting.append(item.event.id)
                    asked.set()

        elsewhere = asyncio.create_task(started_elsewhere())
        await asyncio.wait_for(asked.wait(), 10)

        # another console: the status says busy, the history holds the turn so far
        console = ChatClient(http)
        status = await console.status()
        transcript = Transcript.from_history(await console.history(), running=status.busy)
        assert status.busy and [m.text for m in transcript.messages.values()] == ["hi", "Hello."]
        follower = console.events()
        async with asyncio.timeout(30):
            async for item in follower:
                transcript.apply(item.event)
                if isinstance(item.event, fep.PermissionAsked):
                    assert list(transcript.permissions) == waiting
                    await console.reply_permission(item.event.id, "once")
                if isinstance(item.event, fep.SessionIdle):
                    break
        await follower.aclose()
        await asyncio.wait_for(elsewhere, 10)
        final = Transcript.from_history(await console.history())
    assert drawn(transcript) == drawn(final)
    assert len(final.messages) == 5


async def test_start_leaves_the_turn_to_a_follower(tmp_path: Path) -> None:
    async with runtime(tmp_path, [{"text": "Started elsewhere."}]) as (http, _):
        client = ChatClient(http)
        after = (await client.status()).last_event_id
        follower = client.events(after=after)
        await client.start("go")
        items = []
        async with asyncio.timeout(30):
            async for item in follower:
                items.append(item)
                if isinstance(item.event, fep.SessionIdle):
                    break
        await follower.aclose()
    assert types(items)[0] == "agent_start" and types(items)[-1] == "session_idle"
    assert "Started elsewhere." in "".join(
        i.event.delta for i in items if isinstance(i.event, fep.TextDelta)
    )
