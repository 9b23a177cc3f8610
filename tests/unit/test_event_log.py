"""The event log: numbering, resume, eviction gaps, stop, heartbeats, close."""

from __future__ import annotations

import asyncio
import json

from agentops_services.api.fep import SessionIdle, TextDelta
from agentops_services.runtime.events import HEARTBEAT, EventLog
from tests.conftest import eventually


def frames(chunk: bytes) -> list[tuple[str | None, dict[str, object]]]:
    out = []
    for block in chunk.decode().strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines.get("id"), json.loads(lines["data"])))
    return out


async def test_followers_resume_after_any_id_and_stop_at_session_idle() -> None:
    log = EventLog()
    for n in range(3):
        log.append(TextDelta(id="t", delta=str(n)))
    log.append(SessionIdle(session_id="a"))
    log.append(TextDelta(id="t", delta="later"))
    received = [chunk async for chunk in log.follow(1, stop_at="session_idle")]
    got = [f for chunk in received for f in frames(chunk)]
    assert [i for i, _ in got] == ["2", "3", "4"]
    assert got[-1][1]["type"] == "session_idle"


async def test_a_follower_behind_the_ring_gets_an_explicit_gap() -> None:
    log = EventLog(capacity=5)
    for n in range(12):
        log.append(TextDelta(id="t", delta=str(n)))
    log.close()
    got = [f for chunk in [c async for c in log.follow(2)] for f in frames(chunk)]
    assert got[0] == (None, {**got[0][1], "type": "events_gap", "after": 2, "first_available": 8})
    assert [i for i, _ in got[1:]] == ["8", "9", "10", "11", "12"]


async def test_live_events_reach_a_waiting_follower_and_idle_ones_get_heartbeats() -> None:
    log = EventLog()
    stream = log.follow(0, heartbeat=0.01)
    assert await asyncio.wait_for(anext(stream), 5) == HEARTBEAT

    async def next_chunk() -> bytes:
        return await anext(stream)

    waiting = asyncio.create_task(next_chunk())
    log.append(TextDelta(id="t", delta="now"))
    chunk = await asyncio.wait_for(waiting, 5)
    assert frames(chunk) == [("1", frames(chunk)[0][1])]
    assert log.followers == 1
    await stream.aclose()
    assert log.followers == 0


async def test_closing_ends_every_follower() -> None:
    log = EventLog()

    async def drain() -> list[bytes]:
        return [chunk async for chunk in log.follow(0)]

    follower = asyncio.create_task(drain())

    async def waiting() -> None:
        assert log.followers == 1

    await eventually(waiting)
    log.close()
    assert await asyncio.wait_for(follower, 5) == []


async def test_a_pinned_follower_holds_the_writer_back_instead_of_losing_events() -> None:
    log = EventLog(capacity=100)
    stream = log.follow(0, pinned=True)
    received: list[bytes] = []

    async def writer() -> None:
        for n in range(500):
            log.append(TextDelta(id="t", delta=str(n)))
            if log.lagging():
                await log.wait_for_room()
        log.append(SessionIdle(session_id="a"))

    writing = asyncio.create_task(writer())
    async for chunk in stream:
        received.append(chunk)
        if b"session_idle" in chunk:
            break
    await writing
    got = [f for chunk in received for f in frames(chunk)]
    assert [int(i or 0) for i, _ in got] == list(range(1, 502))  # no gap, nothing lost
