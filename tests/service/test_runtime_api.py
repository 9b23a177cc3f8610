"""The runtime's HTTP API: prompts, busy and abort, the event log and its followers, steering,
gates, AgentRuns, status and errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from httpx_sse import EventSource

from tests.conftest import eventually
from tests.fakes.tools import BlockingTool, EchoTool
from tests.service.conftest import (
    FakeProvider,
    Received,
    RuntimeService,
    agent_config,
    collect_sse,
    prompt_stream,
    running_runtime,
    types,
)

CALL_BLOCK = {"toolCalls": [{"name": "block", "id": "call_block"}]}


async def test_non_streaming_prompt_answers_with_output_model_and_steps(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [{"text": "The cluster is healthy."}]})
    async with running_runtime(tmp_path, agent_config(fake_llm)) as runtime:
        response = await runtime.client.post("/prompt", json={"prompt": "how is it?"})
        assert response.status_code == 200
        body = response.json()
        assert body["output"] == "The cluster is healthy."
        assert body["model"] == "fake/gpt-fake"
        assert body["steps"] == 1
        assert len(body["trace_id"]) == 32
        status = (await runtime.client.get("/status")).json()
        assert status["turns"] == 1 and status["messages"] == 2 and status["total_steps"] == 1
        assert status["state"] == "idle" and status["busy"] is False
        assert status["trace_id"] == body["trace_id"]


async def test_a_second_prompt_while_busy_gets_429_and_abort_ends_the_turn(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [CALL_BLOCK, {"text": "never reached"}]})
    block = BlockingTool()
    async with running_runtime(tmp_path, agent_config(fake_llm), tools=[block]) as runtime:
        turn = asyncio.create_task(prompt_stream(runtime.client, "wait"))
        await asyncio.wait_for(block.started.wait(), 10)
        busy = await runtime.client.post("/prompt", json={"prompt": "another"})
        assert busy.status_code == 429
        assert busy.headers["content-type"] == "application/json"
        assert busy.json()["error"] == "agent is busy"
        assert (await runtime.client.get("/status")).json()["state"] == "busy"

        aborted = await runtime.client.delete("/abort")
        assert aborted.json() == {"ok": True}
        # abort returns once the turn has ended: the agent is idle right away
        assert (await runtime.client.get("/status")).json()["busy"] is False
        events = await asyncio.wait_for(turn, 10)
    assert block.cancelled
    assert types(events)[-3:] == ["tool_result", "agent_error", "session_idle"]
    result = next(e for e in events if e.type == "tool_result")
    assert result.data["is_error"] and result.data["output"] == "aborted by the user"
    errors = [e for e in events if e.type == "agent_error"]
    assert len(errors) == 1 and errors[0].data["error"] == "aborted by the user"


async def test_abort_cancels_a_stalled_model_stream(tmp_path: Path, fake_llm: FakeProvider) -> None:
    fake_llm.use({"turns": [{"text": "I will now stall for ever", "stall": True, "chunkChars": 4}]})
    async with running_runtime(tmp_path, agent_config(fake_llm)) as runtime:
        turn = asyncio.create_task(prompt_stream(runtime.client, "go"))

        async def streaming() -> None:
            assert runtime.agent.events.last_seq >= 3

        await eventually(streaming)
        await runtime.client.delete("/abort")
        events = await asyncio.wait_for(turn, 10)
    names = types(events)
    assert names[-2:] == ["agent_error", "session_idle"]
    # the open text block was closed before the end events
    assert names.count("text_start") == names.count("text_end") == 1


async def test_abort_when_idle_is_fine(tmp_path: Path, fake_llm: FakeProvider) -> None:
    async with running_runtime(tmp_path, agent_config(fake_llm)) as runtime:
        response = await runtime.client.delete("/abort")
        assert response.status_code == 200 and response.json() == {"ok": True}


async def test_events_resume_after_an_id_and_with_last_event_id(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [{"text": "one two three four", "chunkChars": 4}]})
    async with running_runtime(tmp_path, agent_config(fake_llm)) as runtime:
        full = await prompt_stream(runtime.client, "count")
        cut = full[3].id
        assert cut is not None
        async with runtime.client.stream("GET", f"/events?after={cut}") as response:
            resumed = await collect_sse(response)
        async with runtime.client.stream(
            "GET", "/events", headers={"Last-Event-ID": str(cut)}
        ) as response:
            by_header = await collect_sse(response)
    assert [e.id for e in resumed] == [e.id for e in full[4:]]
    assert [e.data for e in by_header] == [e.data for e in full[4:]]


async def test_many_clients_follow_one_turn_and_see_the_same_events(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [CALL_BLOCK, {"text": "done", "chunkChars": 1}]})
    block = BlockingTool()
    async with running_runtime(tmp_path, agent_config(fake_llm), tools=[block]) as runtime:
        turn = asyncio.create_task(prompt_stream(runtime.client, "wait"))
        await asyncio.wait_for(block.started.wait(), 10)

        async def follow() -> list[Received]:
            # attaching mid-turn without `after` starts at the running turn's agent_start
            async with runtime.client.stream("GET", "/events") as response:
                return await collect_sse(response)

        followers = [asyncio.create_task(follow()) for _ in range(3)]

        async def attached() -> None:
            assert (await runtime.client.get("/status")).json()["followers"] == 4

        await eventually(attached)
        block.release.set()
        streamed = await asyncio.wait_for(turn, 10)
        seen = await asyncio.wait_for(asyncio.gather(*followers), 10)
    for events in seen:
        assert [e.data for e in events] == [e.data for e in streamed]


async def test_idle_streams_get_heartbeats(tmp_path: Path, fake_llm: FakeProvider) -> None:
    async with (
        running_runtime(tmp_path, agent_config(fake_llm), heartbeat=0.05) as runtime,
        runtime.client.stream("GET", "/events") as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        lines = response.aiter_lines()
        assert await asyncio.wait_for(anext(lines), 5) == ": heartbeat"


async def test_steer_reaches_the_next_step_and_working_memory_in_order(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [CALL_BLOCK, {"text": "Switched to staging."}]})
    block = BlockingTool()
    async with running_runtime(tmp_path, agent_config(fake_llm), tools=[block]) as runtime:
        turn = asyncio.create_task(prompt_stream(runtime.client, "deploy to prod"))
        await asyncio.wait_for(block.started.wait(), 10)
        steered = await runtime.client.post("/steer", json={"message": "use staging instead"})
        assert steered.json() == {"ok": True}
        block.release.set()
        await asyncio.wait_for(turn, 10)
        memory = (await runtime.client.get("/working-memory")).json()
    second_call = fake_llm.llm.requests[1].body["messages"]
    assert second_call[-1] == {"role": "user", "content": "[STEER] use staging instead"}
    roles = [(m["role"], m["content"][0].get("text")) for m in memory]
    assert roles == [
        ("user", "deploy to prod"),
        ("assistant", None),
        ("tool", None),
        ("user", "[STEER] use staging instead"),
        ("assistant", "Switched to staging."),
    ]


async def test_each_turn_prompt_in_working_memory_carries_its_trace_and_no_model_sees_it(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [{"text": "One."}, {"text": "Two."}]})
    async with running_runtime(tmp_path, agent_config(fake_llm)) as runtime:
        traces = []
        for prompt in ("first", "second"):
            answer = await runtime.client.post("/prompt", json={"prompt": prompt})
            traces.append(answer.json()["trace_id"])
        memory = (await runtime.client.get("/working-memory")).json()
    assert len(set(traces)) == 2 and all(len(t) == 32 for t in traces)
    prompts = [(m["content"][0]["text"], m.get("trace_id")) for m in memory if m["role"] == "user"]
    assert prompts == [("first", traces[0]), ("second", traces[1])]
    assert all("trace_id" not in m for m in memory if m["role"] != "user")
    second_call = json.dumps(fake_llm.llm.requests[-1].body)
    assert '"first"' in second_call, "the history went to the model"
    assert not any(t in second_call for t in traces) and "trace_id" not in second_call


async def test_a_steer_after_the_last_step_gets_one_more_step(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [{"text": "Deploying to prod."}, {"text": "OK, staging."}]})
    async with running_runtime(tmp_path, agent_config(fake_llm)) as runtime:
        runtime.agent.steer("staging, not prod")
        events = await prompt_stream(runtime.client, "deploy")
    finish = next(e for e in events if e.type == "agent_finish")
    # the steer was queued before the turn: step 0 already sees it
    assert finish.data["step_count"] == 1
    first_call = fake_llm.llm.requests[0].body["messages"]
    assert first_call[-1]["content"] == "[STEER] staging, not prod"


async def test_permission_gate_asks_and_every_console_sees_the_reply(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    call = {"toolCalls": [{"name": "echo", "input": {"text": "rm -rf"}, "id": "call_e"}]}
    fake_llm.use(
        {"turns": [call, {"text": "denied, ok"}, call, {"text": "ran it"}, call, {"text": "again"}]}
    )
    echo = EchoTool()
    config = agent_config(fake_llm, permissionTools=["echo"])
    async with running_runtime(tmp_path, config, tools=[echo]) as runtime:

        async def answer(response: str) -> list[Received]:
            turn = asyncio.create_task(prompt_stream(runtime.client, "do it"))

            async def asked() -> str:
                events = runtime.agent.events.since(runtime.agent.events.first_seq - 1)
                frames = [json.loads(f.data.split(b"data: ", 1)[1]) for f in events]
                pending = [str(f["id"]) for f in frames if f["type"] == "permission_asked"]
                replied = {f["id"] for f in frames if f["type"] == "permission_replied"}
                open_ids = [p for p in pending if p not in replied]
                assert open_ids
                return open_ids[-1]

            request_id = await eventually(asked)
            assert (await runtime.client.get("/status")).json()["state"] == "waiting"
            reply = await runtime.client.post(
                f"/permission/{request_id}/reply", json={"response": response}
            )
            assert reply.status_code == 200
            again = await runtime.client.post(
                f"/permission/{request_id}/reply", json={"response": response}
            )
            assert again.status_code == 404
            return await asyncio.wait_for(turn, 10)

        denied = await answer("deny")
        result = next(e for e in denied if e.type == "tool_result")
        assert result.data["is_error"] and result.data["output"] == "Permission denied by user"
        assert echo.calls == []
        replied = next(e for e in denied if e.type == "permission_replied")
        assert replied.data["response"] == "deny"
        statuses = [s.data["status"] for s in denied if s.type == "session_status"]
        assert statuses == ["waiting", "busy"]

        await answer("always")
        assert echo.calls == ["rm -rf"]
        third = await prompt_stream(runtime.client, "do it")  # allowed for good: not asked
        assert "permission_asked" not in types(third)
        assert echo.calls == ["rm -rf", "rm -rf"]

        unknown = await runtime.client.post("/permission/nope/reply", json={"response": "once"})
        assert unknown.status_code == 404 and unknown.json()["field"] == "id"
        bad = await runtime.client.post("/permission/nope/reply", json={"response": "maybe"})
        assert bad.status_code == 422 and bad.json()["field"] == "response"


async def test_question_tool_waits_for_the_answers(tmp_path: Path, fake_llm: FakeProvider) -> None:
    question = {
        "toolCalls": [
            {
                "name": "question",
                "id": "call_q",
                "input": {
                    "questions": [
                        {
                            "header": "Target",
                            "question": "Which cluster?",
                            "options": [{"label": "prod"}, {"label": "staging"}],
                        }
                    ]
                },
            }
        ]
    }
    fake_llm.use({"turns": [question, {"text": "Staging it is."}]})
    config = agent_config(fake_llm, enableQuestionTool=True)
    async with running_runtime(tmp_path, config) as runtime:
        turn = asyncio.create_task(prompt_stream(runtime.client, "deploy"))

        async def asked() -> str:
            tool = runtime.agent.gates.question
            assert tool is not None and tool.pending._waiting
            return next(iter(tool.pending._waiting))

        request_id = await eventually(asked)
        reply = await runtime.client.post(
            f"/question/{request_id}/reply", json={"answers": [["staging"]]}
        )
        assert reply.json() == {"ok": True}
        events = await asyncio.wait_for(turn, 10)
    asked_event = next(e for e in events if e.type == "question_asked")
    assert asked_event.data["questions"][0]["question"] == "Which cluster?"
    result = next(e for e in events if e.type == "tool_result")
    assert json.loads(result.data["output"]) == [["staging"]]
    # the model saw the tool among its tools
    tools = [t["function"]["name"] for t in fake_llm.llm.requests[0].body["tools"]]
    assert tools == ["question"]


async def run_status(runtime: RuntimeService, name: str) -> dict[str, Any]:
    response = await runtime.client.get(f"/runs/{name}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_agent_runs_are_accepted_at_once_and_idempotent(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [CALL_BLOCK, {"text": "Run finished."}]})
    block = BlockingTool()
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with running_runtime(tmp_path, agent_config(fake_llm), tools=[block]) as runtime:
        body = {"runName": "nightly-1", "prompt": "run the checks", "traceparent": traceparent}
        accepted = await runtime.client.post("/runs", json=body)
        assert accepted.status_code == 202
        assert accepted.json()["phase"] == "Running"
        again = await runtime.client.post("/runs", json=body)
        assert (
            again.status_code == 202 and again.json()["startedAt"] == accepted.json()["startedAt"]
        )
        other = await runtime.client.post("/runs", json={"runName": "nightly-2", "prompt": "x"})
        assert other.status_code == 409
        assert other.json()["error"] == "agent is busy with AgentRun nightly-1"
        prompt = await runtime.client.post("/prompt", json={"prompt": "hello?"})
        assert prompt.status_code == 429 and "nightly-1" in prompt.json()["error"]
        block.release.set()

        async def succeeded() -> dict[str, Any]:
            status = await run_status(runtime, "nightly-1")
            assert status["phase"] == "Succeeded"
            return status

        done = await eventually(succeeded)
        missing = await runtime.client.get("/runs/nope")
    assert done["output"] == "Run finished."
    assert done["toolCalls"] == 1 and done["steps"] == 2
    assert done["traceID"] == "0af7651916cd43dd8448eb211c80319c"  # joined the caller's trace
    assert done["completedAt"] >= done["startedAt"]
    assert missing.status_code == 404


async def test_bad_requests_get_json_errors_naming_the_field(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    async with running_runtime(tmp_path, agent_config(fake_llm)) as runtime:
        client = runtime.client
        blank = await client.post("/prompt", json={"prompt": "   "})
        assert blank.status_code == 422 and blank.json()["field"] == "prompt"
        missing = await client.post("/prompt/stream", json={})
        assert missing.status_code == 422 and missing.json()["field"] == "prompt"
        broken = await client.post("/steer", content=b"{nope")
        assert broken.status_code == 400 and "invalid JSON" in broken.json()["error"]
        negative = await client.get("/events?after=-1")
        assert negative.status_code == 422 and negative.json()["field"] == "after"
        run = await client.post("/runs", json={"prompt": "x"})
        assert run.status_code == 422 and run.json()["field"] == "runName"
        for response in (blank, missing, broken, negative, run):
            assert response.headers["content-type"] == "application/json"
        health = await client.get("/healthz")
        assert health.json() == {"status": "ok"}
        document = (await client.get("/openapi.json")).json()
        assert "/prompt/stream" in document["paths"] and "/runs/{name}" in document["paths"]


async def test_sse_frames_carry_ids(tmp_path: Path, fake_llm: FakeProvider) -> None:
    fake_llm.use({"turns": [{"text": "hi"}]})
    async with (
        running_runtime(tmp_path, agent_config(fake_llm)) as runtime,
        runtime.client.stream("POST", "/prompt/stream", json={"prompt": "hi"}) as response,
    ):
        assert response.headers["x-accel-buffering"] == "no"
        ids = [event.id async for event in EventSource(response).aiter_sse()]
    assert ids == [str(n) for n in range(1, len(ids) + 1)]


async def test_a_non_streaming_prompt_can_be_approved_from_an_attached_console(
    tmp_path: Path, fake_llm: FakeProvider
) -> None:
    call = {"toolCalls": [{"name": "echo", "input": {"text": "deploy"}, "id": "call_e"}]}
    fake_llm.use({"turns": [call, {"text": "Deployed."}]})
    echo = EchoTool()
    config = agent_config(fake_llm, permissionTools=["echo"])
    async with running_runtime(tmp_path, config, tools=[echo]) as runtime:
        prompt = asyncio.create_task(runtime.client.post("/prompt", json={"prompt": "deploy"}))
        async with runtime.client.stream("GET", "/events?after=0") as console:
            async for event in EventSource(console).aiter_sse():
                data = json.loads(event.data)
                if data["type"] == "permission_asked":
                    reply = {"response": "once"}
                    await runtime.client.post(f"/permission/{data['id']}/reply", json=reply)
                if data["type"] == "session_idle":
                    break
        response = await asyncio.wait_for(prompt, 10)
    assert response.status_code == 200 and response.json()["output"] == "Deployed."
    assert echo.calls == ["deploy"]
