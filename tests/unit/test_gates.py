"""Permission and question gates: what happens when nobody answers, and when an answer is
given twice; what the Agent's status.pendingInput shows of the requests that wait."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from agentops_services.api.conversation import ToolCallPart
from agentops_services.api.fep import FepEventBase
from agentops_services.api.v1alpha1.agent import AgentStatus, PendingInput
from agentops_services.runtime.gates import (
    Gates,
    PermissionGate,
    QuestionArguments,
    QuestionTool,
    UnknownRequestError,
)
from agentops_services.runtime.pending_input import pending_input_patch
from agentops_services.runtime.tooling import ToolContext
from tests.conftest import eventually


def context(events: list[FepEventBase]) -> ToolContext:
    return ToolContext(call_id="c", tool_name="bash", session_id="agent", emit=events.append)


async def test_an_unanswered_permission_request_is_refused_and_announced() -> None:
    events: list[FepEventBase] = []
    gate = PermissionGate(frozenset({"bash"}), timeout=0.05)
    call = ToolCallPart(tool_call_id="c", tool_name="bash", input='{"command": "ls"}')
    refusal = await gate.check(call, context(events))
    assert refusal == "Permission not granted: nobody answered within 0.05 s"
    assert [e.type for e in events] == ["permission_asked", "permission_replied"]
    assert events[1].model_dump()["response"] == "timeout"
    with pytest.raises(UnknownRequestError):
        gate.reply(events[0].model_dump()["id"], "once")  # too late


async def test_an_unanswered_question_is_an_error_result() -> None:
    events: list[FepEventBase] = []
    tool = QuestionTool(timeout=0.05)
    arguments = QuestionArguments.model_validate({"questions": [{"question": "Which one?"}]})
    outcome = await tool.call(arguments, context(events))
    assert outcome.is_error and outcome.output == "User did not respond within 0.05 s"
    assert [e.type for e in events] == ["question_asked", "question_replied"]


async def test_a_permission_answer_reaches_the_waiting_call() -> None:
    events: list[FepEventBase] = []
    gate = PermissionGate(frozenset({"bash"}))
    call = ToolCallPart(tool_call_id="c", tool_name="bash", input="{}")
    waiting = asyncio.create_task(gate.check(call, context(events)))

    async def asked() -> None:
        assert events

    await eventually(asked)
    gate.reply(events[0].model_dump()["id"], "always")
    assert await waiting is None
    assert not gate.gated("bash")  # allowed for good


def question(text: str) -> QuestionArguments:
    return QuestionArguments.model_validate({"questions": [{"question": text}]})


async def test_listeners_learn_the_oldest_waiting_request_until_none_waits() -> None:
    """Permission and question requests together: the oldest shows, with the tool's name but
    none of its arguments; answers, timeouts and aborts each withdraw theirs."""
    events: list[FepEventBase] = []
    gate, tool = PermissionGate(frozenset({"bash"})), QuestionTool(timeout=0.05)
    gates = Gates(gate, tool)
    seen: list[PendingInput | None] = []
    gates.listen(seen.append)
    assert seen == [None]  # at once: a new runtime clears what a crashed one left
    call = ToolCallPart(tool_call_id="c", tool_name="bash", input='{"command": "cat token"}')
    permission = asyncio.create_task(gate.check(call, context(events)))

    async def asked() -> None:
        assert len(seen) == 2

    await eventually(asked)
    first = seen[-1]
    assert first is not None and first.kind == "permission" and first.summary == "bash"
    assert "token" not in str(pending_input_patch(first))
    long = "Which cluster? " * 20
    timed_out = await tool.call(question(long), context(events))
    assert timed_out.is_error
    shown = [s for s in seen if s is not None]
    assert [s.request_id for s in shown] == [first.request_id] * len(shown)  # oldest first
    assert seen[-1] == first  # the question timed out; the permission request still waits
    gates.reply_permission(first.request_id, "reject")
    assert await permission == "Permission denied by user"
    assert seen[-1] is None
    aborted = asyncio.create_task(tool.call(question(long), context(events)))

    async def questioned() -> None:
        latest = seen[-1]
        assert latest is not None and latest.kind == "question"
        assert latest.summary == long[:127] + "…"

    await eventually(questioned)
    aborted.cancel()
    with pytest.raises(asyncio.CancelledError):
        await aborted
    assert seen[-1] is None


def test_the_pending_input_patch_fits_the_agent_status_and_null_removes_it() -> None:
    pending = PendingInput(
        kind="question",
        since=datetime(2025, 5, 1, 12, 0, 0, 500_000, tzinfo=UTC),
        request_id="r-1",
        summary="Which cluster?",
    )
    patch = pending_input_patch(pending)
    assert patch == {
        "status": {
            "pendingInput": {
                "kind": "question",
                "since": "2025-05-01T12:00:00Z",
                "requestID": "r-1",
                "summary": "Which cluster?",
            }
        }
    }
    assert AgentStatus.model_validate(patch["status"]).pending_input == pending.model_copy(
        update={"since": datetime(2025, 5, 1, 12, 0, 0, tzinfo=UTC)}
    )
    assert pending_input_patch(None) == {"status": {"pendingInput": None}}
