"""The chat's pure parts: where a stream is in the runtime's log (duplicates, gaps, unknown and
unreadable events) and the transcript reducer's edge cases (tool card lifecycle, requests that
close or are withdrawn, gaps, the message limit, hydrating a conversation with a running
turn)."""

from __future__ import annotations

import json

from httpx_sse import ServerSentEvent

from agentops_services.api import fep
from agentops_services.api.conversation import Message, TextPart, ToolCallPart
from agentops_tui.services.chat.client import StreamCursor
from agentops_tui.services.chat.fan_out import FanOutBlock
from agentops_tui.services.chat.transcript import (
    BlockRef,
    Change,
    TextBlock,
    ToolBlock,
    Transcript,
)
from agentops_tui.services.chat.turns import traced_turns, turn_time

S = "agent"


def frame(seq: int | None, data: dict[str, object] | str) -> ServerSentEvent:
    text = data if isinstance(data, str) else json.dumps(data)
    return ServerSentEvent(data=text, id="" if seq is None else str(seq))


def test_the_cursor_passes_each_event_once_and_keeps_unknown_types() -> None:
    cursor = StreamCursor(None, 0)
    first = cursor.accept(frame(7, {"type": "session_idle", "session_id": S}))
    assert first is not None and first.seq == 7 and isinstance(first.event, fep.SessionIdle)
    assert cursor.accept(frame(7, {"type": "session_idle", "session_id": S})) is None
    assert cursor.accept(frame(6, {"type": "session_idle", "session_id": S})) is None
    novel = cursor.accept(frame(8, {"type": "board_changed", "iid": 4}))
    assert novel is not None and isinstance(novel.event, fep.UnknownEvent)
    assert novel.event.to_wire()["iid"] == 4
    # unreadable: skipped, but its number is taken (it will not come again)
    assert cursor.accept(frame(9, "{not json")) is None
    assert cursor.accept(frame(9, {"type": "session_idle", "session_id": S})) is None
    assert cursor.last == 9


def test_a_gap_moves_the_cursor_to_what_the_log_still_has() -> None:
    cursor = StreamCursor(3, 3)
    # an events_gap frame has no id: the SSE decoder repeats the previous one
    gap = cursor.accept(frame(3, {"type": "events_gap", "after": 3, "first_available": 40}))
    assert gap is not None and gap.seq is None and cursor.last == 39
    assert cursor.resume_after == 39
    assert StreamCursor(None, 12).resume_after == 12


def apply_all(transcript: Transcript, *events: fep.FepEventBase) -> Change:
    change = Change()
    for event in events:
        change |= transcript.apply(event)
    return change


def test_a_tool_card_goes_composing_running_completed_and_each_change_names_it() -> None:
    transcript = Transcript()
    apply_all(
        transcript,
        fep.AgentStart(session_id=S, prompt="go"),
        fep.StepStart(step_number=0, session_id=S),
    )
    change = transcript.apply(fep.ToolInputStart(id="c1", tool_name="bash"))
    tool = transcript.messages[1].blocks[0]
    assert isinstance(tool, ToolBlock) and tool.status == "composing"
    assert change.blocks == (BlockRef(1, 0),) and change.status  # phase: composing
    transcript.apply(fep.ToolInputDelta(id="c1", delta='{"command": "l'))
    assert tool.arguments() is None  # partial JSON
    transcript.apply(fep.ToolInputDelta(id="c1", delta='s"}'))
    transcript.apply(fep.ToolInputEnd(id="c1"))
    assert (tool.status, tool.arguments()) == ("running", {"command": "ls"})
    change = transcript.apply(
        fep.ToolResult(
            id="c1", tool_name="bash", output="a\nb", metadata='{"ui": "terminal", "duration": 7}'
        )
    )
    assert change.blocks == (BlockRef(1, 0),) and not change.messages
    assert (tool.status, tool.output, tool.duration_ms) == ("completed", "a\nb", 7.0)
    assert transcript.apply(fep.StreamFinish(finish_reason="stop")) == Change()


def test_a_delta_of_a_block_never_started_starts_it() -> None:
    transcript = Transcript()
    change = transcript.apply(fep.TextDelta(id="t9", delta="resumed "))
    change |= transcript.apply(fep.TextDelta(id="t9", delta="here"))
    (message,) = transcript.messages.values()
    assert message.role == "assistant" and message.blocks == [TextBlock("resumed here", True)]
    assert change.messages == (0,) and change.blocks == (BlockRef(0, 0),)


def test_requests_close_when_answered_anywhere_and_are_withdrawn_at_the_end() -> None:
    transcript = Transcript()
    apply_all(
        transcript,
        fep.AgentStart(session_id=S, prompt="go"),
        fep.StepStart(step_number=0, session_id=S),
        fep.ToolCall(id="c1", tool_name="write", input='{"path": "a"}'),
        fep.ToolCall(id="c2", tool_name="write", input='{"path": "b"}'),
        fep.PermissionAsked(
            id="p1", session_id=S, tool_name="write", input='{"path": "a"}', description=""
        ),
        fep.PermissionAsked(
            id="p2", session_id=S, tool_name="write", input='{"path": "b"}', description=""
        ),
        fep.QuestionAsked(id="q1", session_id=S, questions=[fep.Question(question="Why?")]),
    )
    first, second = transcript.messages[1].blocks
    assert isinstance(first, ToolBlock) and isinstance(second, ToolBlock)
    assert (first.permission, second.permission) == ("asked", "asked")
    assert list(transcript.permissions) == ["p1", "p2"] and list(transcript.questions) == ["q1"]
    assert transcript.phase == "waiting"
    transcript.apply(fep.PermissionReplied(id="p1", session_id=S, response="always"))
    assert first.permission == "always" and list(transcript.permissions) == ["p2"]
    change = transcript.apply(fep.SessionIdle(session_id=S))
    assert second.permission == "withdrawn" and BlockRef(1, 1) in change.blocks
    assert not transcript.permissions and not transcript.questions
    assert (transcript.state, transcript.phase) == ("idle", "idle")


def test_a_gap_is_counted_so_the_view_can_reload() -> None:
    transcript = Transcript()
    change = transcript.apply(fep.EventsGap(after=10, first_available=25))
    assert change.status and transcript.missed_events == 14


def test_the_oldest_messages_go_beyond_the_limit() -> None:
    transcript = Transcript(limit=3)
    change = apply_all(
        transcript,
        *(fep.AgentStart(session_id=S, prompt=f"p{n}") for n in range(5)),
    )
    assert [m.text for m in transcript.messages.values()] == ["p2", "p3", "p4"]
    assert change.removed == (0, 1) and change.messages == (0, 1, 2, 3, 4)


def test_hydrating_leaves_out_the_running_turn_and_closes_unanswered_calls() -> None:
    call = Message(
        role="assistant",
        content=[ToolCallPart(tool_call_id="c1", tool_name="bash", input="{}")],
    )
    history = [
        Message.user("first"),
        call,
        Message.user("second"),
        Message.user("[STEER] faster"),
    ]
    done = Transcript.from_history(history)
    assert [(m.role, m.text, m.steer) for m in done.messages.values()] == [
        ("user", "first", False),
        ("assistant", "", False),
        ("user", "second", False),
        ("user", "faster", True),
    ]
    tool = done.messages[1].blocks[0]
    assert isinstance(tool, ToolBlock)
    assert (tool.status, tool.output) == ("error", "no result was recorded")
    running = Transcript.from_history(history, running=True)
    assert [m.text for m in running.messages.values()] == ["first", ""]


T1, T2, T3 = "1" * 32, "2" * 32, "3" * 32


def test_a_turn_prompt_keeps_its_trace_live_and_hydrated() -> None:
    history = [
        Message.user("first", trace_id=T1),
        Message(role="assistant", content=[TextPart(text="one")]),
        Message.user("[STEER] faster"),
        Message.user("second\nwith detail", trace_id=T2),
    ]
    transcript = Transcript.from_history(history)
    assert [(m.text, m.trace_id) for m in transcript.messages.values()] == [
        ("first", T1),
        ("one", None),
        ("faster", None),
        ("second\nwith detail", T2),
    ]
    assert transcript.trace_id == T2, "the latest turn's, as /status would say"
    transcript.apply(fep.AgentStart(session_id=S, prompt="third", trace_id=T3))
    assert transcript.messages[4].trace_id == T3 and transcript.trace_id == T3
    internal = transcript.apply(fep.AgentStart(session_id=S, trace_id="4" * 32, internal=True))
    assert not internal.messages and transcript.trace_id == "4" * 32


def test_traced_turns_are_newest_first_with_the_running_one_marked() -> None:
    transcript = Transcript.from_history(
        [Message.user("first", trace_id=T1), Message.user("second\nmore", trace_id=T2)]
    )
    transcript.apply(
        fep.AgentStart(
            session_id=S, prompt="  third  ", trace_id=T3, timestamp="2025-03-01T09:15:02.123Z"
        )
    )
    turns = traced_turns(transcript)
    assert [(t.trace_id, t.prompt, t.running) for t in turns] == [
        (T3, "third", True),
        (T2, "second", False),
        (T1, "first", False),
    ]
    assert len(turn_time(turns[0])) == len("09:15:02") and turn_time(turns[1]) == ""
    transcript.apply(fep.SessionIdle(session_id=S))
    assert not any(t.running for t in traced_turns(transcript))


def test_a_runtime_that_records_no_trace_in_history_still_offers_the_latest() -> None:
    transcript = Transcript.from_history([Message.user("first")])
    assert traced_turns(transcript) == []
    transcript.trace_id = T1  # from /status
    assert [(t.trace_id, t.prompt) for t in traced_turns(transcript)] == [(T1, "")]


def fan_out(group: str, *runs: str) -> fep.DelegationFanOut:
    return fep.DelegationFanOut(
        group_id=group,
        count=len(runs),
        timeout="2025-03-01T10:00:00Z",
        run_names=list(runs),
        parent_agent="lead",
    )


def completed(group: str, run: str, phase: str, remaining: int) -> fep.DelegationRunCompleted:
    return fep.DelegationRunCompleted(
        group_id=group,
        run_name=run,
        child_agent=run.partition("-")[0],
        phase=phase,
        duration="40s",
        remaining=remaining,
        parent_agent="lead",
    )


def all_completed(group: str, succeeded: int, failed: int) -> fep.DelegationAllCompleted:
    return fep.DelegationAllCompleted(
        group_id=group,
        single=False,
        succeeded=succeeded,
        failed=failed,
        total_duration="1m3s",
        parent_agent="lead",
    )


def card(transcript: Transcript, ref: BlockRef) -> FanOutBlock:
    block = transcript.messages[ref.message].blocks[ref.block]
    assert isinstance(block, FanOutBlock)
    return block


def test_a_fan_out_is_one_card_per_group_updated_in_place_past_the_turn() -> None:
    transcript = Transcript()
    apply_all(
        transcript,
        fep.AgentStart(session_id=S, prompt="review everything"),
        fep.StepStart(step_number=0, session_id=S),
        fep.ToolCall(id="c1", tool_name="run_agents", input="{}"),
    )
    change = transcript.apply(fan_out("g1", "review-1", "audit-1", "lint-1"))
    ref = BlockRef(1, 1)
    assert change.blocks == (ref,) and not change.messages and transcript.phase == "delegating"
    group = card(transcript, ref)
    assert (group.status(), group.done, group.total) == ("Running", 0, 3)
    change = transcript.apply(completed("g1", "audit-1", "Failed", 2))
    assert change == Change(blocks=(ref,)), "only the card redraws"
    assert group.status() == "1/3" and list(group.runs) == ["review-1", "audit-1", "lint-1"]
    apply_all(
        transcript,
        fep.ToolResult(id="c1", tool_name="run_agents", output="started"),
        fep.SessionIdle(session_id=S),
    )
    assert transcript.apply(fan_out("g2", "docs-1")).blocks != (ref,), "another group, a card"
    change = apply_all(
        transcript,
        completed("g1", "review-1", "Succeeded", 1),
        completed("g1", "lint-1", "Succeeded", 0),
        all_completed("g1", 2, 1),
        completed("g1", "lint-1", "Succeeded", 0),  # told twice
    )
    assert change.blocks == (ref,) and not change.messages
    assert (group.status(), group.done, group.total) == ("2 ok / 1 failed", 3, 3)
    assert [(r.agent, r.phase) for r in group.runs.values()] == [
        ("review", "Succeeded"),
        ("audit", "Failed"),
        ("lint", "Succeeded"),
    ]
    assert (transcript.state, transcript.phase) == ("idle", "idle"), "progress is not a turn"


def test_fan_out_events_out_of_order_or_about_unknown_children_still_add_up() -> None:
    transcript = Transcript()
    first = transcript.apply(completed("g1", "y-1", "Succeeded", 1))  # attached mid-way
    (ref,) = first.blocks
    group = card(transcript, ref)
    assert (group.status(), group.total, list(group.runs)) == ("1/2", 2, ["y-1"])
    assert transcript.apply(fan_out("g1", "x-1", "y-1")).blocks == (ref,)
    assert list(group.runs) == ["x-1", "y-1"] and group.runs["y-1"].phase == "Succeeded"
    transcript.apply(completed("g1", "z-1", "Succeeded", 1))  # never announced
    assert (list(group.runs), group.done, group.total) == (["x-1", "y-1", "z-1"], 2, 3)
    transcript.apply(completed("g1", "x-1", "Succeeded", 0))
    transcript.apply(all_completed("g1", 3, 0))
    assert (group.status(), group.done, group.total) == ("All Completed", 3, 3)
    alone = transcript.apply(all_completed("g9", 4, 0))  # only the end was seen
    lone = card(transcript, alone.blocks[0])
    assert (lone.status(), lone.done, lone.total, lone.runs) == ("All Completed", 4, 4, {})


def test_a_fan_out_that_times_out_stays_timed_out() -> None:
    transcript = Transcript()
    (ref,) = transcript.apply(fan_out("g1", "p-1", "q-1", "r-1")).blocks
    transcript.apply(completed("g1", "p-1", "Succeeded", 2))
    change = transcript.apply(
        fep.DelegationTimeout(group_id="g1", completed=1, timed_out=2, parent_agent="lead")
    )
    group = card(transcript, ref)
    assert change.blocks == (ref,) and group.status() == "Timed Out"
    assert [r.phase for r in group.runs.values()] == ["Succeeded", "TimedOut", "TimedOut"]
    assert (group.done, group.total) == (1, 3)
    transcript.apply(all_completed("g1", 3, 0))
    assert group.status() == "Timed Out" and group.succeeded == 0


def test_a_single_delegation_is_a_group_of_one() -> None:
    transcript = Transcript()
    (ref,) = transcript.apply(
        fep.DelegationSingle(group_id="g1", run_name="fix-1", timeout="", parent_agent="lead")
    ).blocks
    transcript.apply(completed("g1", "fix-1", "Succeeded", 0))
    group = card(transcript, ref)
    assert group.single and (group.status(), group.done, group.total) == ("1/1", 1, 1)
