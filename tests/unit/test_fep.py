"""FEP events: literal upstream-shaped JSON parses to the right model and writes back unchanged."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from agentops_services.api import fep

TS = '"timestamp":"2026-04-09T10:00:00Z"'
USAGE = '{"cache_creation_tokens":0,"cache_read_tokens":1200,"input_tokens":1534,"output_tokens":87,"reasoning_tokens":0,"total_tokens":1621}'
BUDGET = (
    '{"actual_input_tokens":0,"actual_output_tokens":0,"budget_tokens":150000,"cache_read_tokens":0,'
    '"cache_write_tokens":0,"context_window":200000,"conversation_tokens":812,"memory_context_tokens":96,'
    '"prompt_tokens":12,"system_prompt_tokens":1450,"tool_tokens":2210}'
)

# Keys sorted as Go marshals maps, values as the upstream runtime sends them.
UPSTREAM = {
    fep.AgentStart: f'{{"context_budget":{BUDGET},"prompt":"list pods","session_id":"sre-bot",{TS},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","type":"agent_start"}}',
    fep.AgentFinish: f'{{"model":"anthropic/claude-sonnet-4-5","session_id":"sre-bot","step_count":2,{TS},"total_usage":{USAGE},"type":"agent_finish"}}',
    fep.AgentError: f'{{"error":"HTTP 529: overloaded","retryable":true,"session_id":"sre-bot",{TS},"type":"agent_error"}}',
    fep.StepStart: f'{{"session_id":"sre-bot","step_number":0,{TS},"type":"step_start"}}',
    fep.StepFinish: f'{{"context_budget":{BUDGET},"finish_reason":"tool-calls","session_id":"sre-bot","step_number":0,{TS},"tool_call_count":1,"type":"step_finish","usage":{USAGE}}}',
    fep.TextStart: f'{{"id":"txt_0",{TS},"type":"text_start"}}',
    fep.TextDelta: f'{{"delta":"Three pods are ","id":"txt_0",{TS},"type":"text_delta"}}',
    fep.TextEnd: f'{{"id":"txt_0",{TS},"type":"text_end"}}',
    fep.ReasoningStart: f'{{"id":"rs_0",{TS},"type":"reasoning_start"}}',
    fep.ReasoningDelta: f'{{"delta":"The user wants","id":"rs_0",{TS},"type":"reasoning_delta"}}',
    fep.ReasoningEnd: f'{{"id":"rs_0",{TS},"type":"reasoning_end"}}',
    fep.ToolInputStart: f'{{"id":"toolu_01",{TS},"tool_name":"bash","type":"tool_input_start"}}',
    fep.ToolInputDelta: f'{{"delta":"{{\\"command\\": \\"kub","id":"toolu_01",{TS},"type":"tool_input_delta"}}',
    fep.ToolInputEnd: f'{{"id":"toolu_01",{TS},"type":"tool_input_end"}}',
    fep.ToolCall: f'{{"id":"toolu_01","input":"{{\\"command\\":\\"kubectl get pods\\"}}","provider_executed":false,{TS},"tool_name":"bash","type":"tool_call"}}',
    fep.ToolResult: f'{{"id":"toolu_01","is_error":false,"metadata":"{{\\"command\\":\\"kubectl get pods\\",\\"duration\\":412,\\"exitCode\\":0,\\"ui\\":\\"terminal\\"}}","output":"NAME READY\\nweb-1 1/1",{TS},"tool_name":"bash","type":"tool_result"}}',
    fep.Source: f'{{"id":"src_1","source_type":"url",{TS},"title":"Pods","type":"source","url":"https://kubernetes.io/docs/concepts/workloads/pods/"}}',
    fep.Warnings: f'{{{TS},"type":"warnings","warnings":["temperature is not supported by this model"]}}',
    fep.StreamFinish: f'{{"finish_reason":"stop",{TS},"type":"stream_finish","usage":{USAGE}}}',
    fep.PermissionAsked: f'{{"description":"Tool bash wants to execute","id":"5f0c","input":"{{\\"command\\":\\"rm -rf build\\"}}","session_id":"sre-bot",{TS},"tool_name":"bash","type":"permission_asked"}}',
    fep.PermissionReplied: f'{{"id":"5f0c","response":"once","session_id":"sre-bot",{TS},"type":"permission_replied"}}',
    fep.QuestionAsked: f'{{"id":"q1","questions":[{{"header":"Env","multiple":false,"options":[{{"description":"production","label":"prod"}},{{"description":"staging","label":"stg"}}],"question":"Which environment?"}}],"session_id":"sre-bot",{TS},"type":"question_asked"}}',
    fep.QuestionReplied: f'{{"answers":[["prod"]],"id":"q1","session_id":"sre-bot",{TS},"type":"question_replied"}}',
    fep.SessionStatus: f'{{"session_id":"sre-bot","status":"waiting",{TS},"type":"session_status"}}',
    fep.SessionIdle: f'{{"session_id":"sre-bot",{TS},"type":"session_idle"}}',
    fep.EventsGap: f'{{"after":12,"first_available":340,{TS},"type":"events_gap"}}',
    fep.DelegationSingle: f'{{"groupId":"g-1","parentAgent":"lead","runName":"coder-run-1712656800000-a1b2c3d4",{TS},"timeout":"2026-04-09T10:30:00Z","type":"delegation.single"}}',
    fep.DelegationFanOut: f'{{"count":2,"groupId":"g-2","parentAgent":"lead","runNames":["a-run-1","b-run-2"],{TS},"timeout":"2026-04-09T10:30:00Z","type":"delegation.fan_out"}}',
    fep.DelegationRunCompleted: f'{{"childAgent":"coder","duration":"0s","groupId":"g-2","parentAgent":"lead","phase":"Succeeded","remaining":1,"runName":"a-run-1",{TS},"type":"delegation.run_completed"}}',
    fep.DelegationAllCompleted: f'{{"failed":0,"groupId":"g-2","parentAgent":"lead","single":false,"succeeded":2,{TS},"totalDuration":"1m3s","type":"delegation.all_completed"}}',
    fep.DelegationTimeout: f'{{"completed":1,"groupId":"g-2","parentAgent":"lead","timedOut":1,{TS},"type":"delegation.timeout"}}',
    fep.DelegationResult: f'{{"failed":0,"groupId":"g-2","parentAgent":"lead","runs":{{"a-run-1":{{"agentName":"coder","duration":"41s","failureReason":"","model":"openai/gpt-4.1","outcome":{{"intent":"change"}},"output":"done","phase":"Succeeded","toolCalls":4,"traceID":"0af7651916cd43dd8448eb211c80319c"}},"b-run-2":{{"phase":"TimedOut"}}}},"single":false,"succeeded":1,{TS},"timedOut":true,"totalDuration":"30m0s","type":"delegation.result"}}',
}


def test_every_known_event_has_an_upstream_example() -> None:
    assert set(UPSTREAM) == set(fep.KNOWN_EVENTS)


@pytest.mark.parametrize("cls", list(UPSTREAM), ids=lambda c: c.__name__)
def test_round_trip_is_exact(cls: type[fep.FepEventBase]) -> None:
    text = UPSTREAM[cls]
    event = fep.parse_event(text)
    assert type(event) is cls
    assert json.loads(event.to_json()) == json.loads(text)
    assert fep.parse_event(json.loads(text)) == event


def test_unknown_type_and_fields_are_kept_not_fatal() -> None:
    event = fep.parse_event('{"type":"agent.online","timestamp":"t","agent":{"name":"x"}}')
    assert isinstance(event, fep.UnknownEvent)
    assert event.type == "agent.online"
    assert event.to_wire() == {"type": "agent.online", "timestamp": "t", "agent": {"name": "x"}}
    delta = fep.parse_event('{"type":"text_delta","timestamp":"t","id":"a","delta":"b","seq":7}')
    assert isinstance(delta, fep.TextDelta)
    assert delta.to_wire()["seq"] == 7


def test_known_type_with_missing_field_is_an_error() -> None:
    with pytest.raises(ValidationError, match="delta"):
        fep.parse_event('{"type":"text_delta","timestamp":"t","id":"a"}')


def test_built_events_serialise_compactly_without_empty_optionals() -> None:
    event = fep.AgentStart(session_id="sre-bot", prompt="hi")
    wire = json.loads(event.to_json())
    assert set(wire) == {"type", "timestamp", "session_id", "prompt"}
    assert wire["timestamp"].endswith("Z")
    assert " " not in event.to_json().replace("sre-bot", "")


def test_tool_result_metadata_is_a_json_string() -> None:
    event = fep.parse_event(UPSTREAM[fep.ToolResult])
    assert isinstance(event, fep.ToolResult)
    assert isinstance(event.to_wire()["metadata"], str)
    assert event.ui_metadata()["ui"] == "terminal"
    assert fep.ToolResult(id="1", tool_name="t", output="", metadata="not json").ui_metadata() == {}


def test_usage_adds_up() -> None:
    total = fep.Usage(input_tokens=10, output_tokens=2, total_tokens=12) + fep.Usage(
        input_tokens=5, output_tokens=1, total_tokens=6
    )
    assert (total.input_tokens, total.output_tokens, total.total_tokens) == (15, 3, 18)
