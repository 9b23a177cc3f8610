"""Permission and question gates: what happens when nobody answers, and when an answer is
given twice."""

from __future__ import annotations

import asyncio

import pytest

from agentops_services.api.conversation import ToolCallPart
from agentops_services.api.fep import FepEventBase
from agentops_services.runtime.gates import (
    PermissionGate,
    QuestionArguments,
    QuestionTool,
    UnknownRequestError,
)
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
