"""Turns over the runtime's HTTP API, against a fake OpenAI-compatible provider."""

from __future__ import annotations

import json
from pathlib import Path

from agentops_services.api.fep import parse_event
from tests.fakes.tools import EchoTool
from tests.service.conftest import (
    FakeProvider,
    agent_config,
    prompt_stream,
    running_runtime,
    types,
)


async def test_a_tool_calling_turn_streams_events_in_protocol_order(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use(
        {
            "turns": [
                {
                    "reasoning": "The user wants an echo.",
                    "text": "Let me echo.",
                    "toolCalls": [{"name": "echo", "input": {"text": "hi"}, "id": "call_1"}],
                },
                {"text": "Done: hi."},
            ]
        }
    )
    echo = EchoTool()
    async with running_runtime(tmp_path, agent_config(fake_llm), tools=[echo]) as runtime:
        events = await prompt_stream(runtime.client, "echo hi")
    names = [t for t in types(events) if not t.endswith("_delta")]
    assert names == [
        "agent_start",
        "step_start",
        "reasoning_start",
        "reasoning_end",
        "text_start",
        "text_end",
        "tool_input_start",
        "tool_input_end",
        "tool_call",
        "stream_finish",
        "tool_result",
        "step_finish",
        "step_start",
        "text_start",
        "text_end",
        "stream_finish",
        "step_finish",
        "agent_finish",
        "session_idle",
    ]
    ids = [e.id or 0 for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for event in events:
        parse_event(event.data)  # every event fits the contract
    by_type = {e.type: e.data for e in events}
    assert by_type["agent_finish"]["step_count"] == 2
    assert by_type["agent_finish"]["model"] == "fake/gpt-fake"
    result = by_type["tool_result"]
    assert result["output"] == "echo: hi" and result["is_error"] is False
    metadata = json.loads(result["metadata"])
    assert metadata["ui"] == "terminal" and metadata["chars"] == 2
    assert echo.calls == ["hi"]
    text = "".join(e.data["delta"] for e in events if e.type == "text_delta")
    assert text == "Let me echo.Done: hi."
