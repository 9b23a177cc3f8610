"""A fake LLM provider on loopback that speaks the real streaming wire formats: OpenAI Chat
Completions and Responses (and Azure's deployment paths), Anthropic Messages, and Gemini
streamGenerateContent. It answers from a Script (the same model the product's `scripted`
provider replays), lists `models` at `GET /v1/models` (as an OpenAI-compatible server does),
records every request, and fails the way real providers fail: an HTTP error with
Retry-After, an unreadable chunk, a stream that stalls.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agentops_services.api.script import Script, ScriptTurn

Frames = AsyncIterator[bytes]


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    body = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {body}\n\n".encode()


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    query: dict[str, str]


@dataclass
class FakeLLM:
    """The fake provider; `requests` holds every request in arrival order."""

    script: Script
    used: int = 0
    requests: list[Recorded] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    """Set at teardown so stalled streams end and the server can stop."""
    models: list[str] = field(default_factory=lambda: ["fake-model"])
    """What `GET /v1/models` lists, first the one a client picks."""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/models", self._models),
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/openai/deployments/{deployment}/chat/completions", self._chat,
                      methods=["POST"]),
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
                Route("/v1beta/models/{model_action}", self._gemini, methods=["POST"]),
                Route("/oauth/token", self._token, methods=["POST"]),
            ]
        )  # fmt: skip

    async def _record(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = await request.json()
        self.requests.append(
            Recorded(request.url.path, dict(request.headers), body, dict(request.query_params))
        )
        return body

    async def _models(self, request: Request) -> Response:
        self.requests.append(
            Recorded(request.url.path, dict(request.headers), {}, dict(request.query_params))
        )
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return JSONResponse({"object": "list", "data": data})

    def _turn(self, latest_user_text: str) -> ScriptTurn:
        turn, self.used = self.script.pick(self.used, latest_user_text)
        return turn

    async def _answer(
        self, request: Request, latest: Callable[[dict[str, Any]], str], encode: Encoder
    ) -> Response:
        body = await self._record(request)
        turn = self._turn(latest(body))
        if turn.error:
            headers = {}
            if turn.error.retry_after is not None:
                headers["retry-after"] = f"{turn.error.retry_after:g}"
            payload = {"error": {"type": "fake_error", "message": turn.error.message}}
            return JSONResponse(payload, status_code=turn.error.status, headers=headers)
        return StreamingResponse(self._play(turn, encode, body), media_type="text/event-stream")

    async def _play(self, turn: ScriptTurn, encode: Encoder, body: dict[str, Any]) -> Frames:
        if turn.malformed:
            yield b"data: {not json\n\n"
        for n, frame in enumerate(encode(turn, str(body.get("model", "fake-model")))):
            if turn.stall and n == 3:
                await self.release.wait()
                return
            if turn.delay_ms:
                await asyncio.sleep(turn.delay_ms / 1000)
            yield frame

    async def _chat(self, request: Request) -> Response:
        return await self._answer(request, _openai_latest, openai_chat_frames)

    async def _responses(self, request: Request) -> Response:
        return await self._answer(request, _responses_latest, responses_frames)

    async def _anthropic(self, request: Request) -> Response:
        return await self._answer(request, _anthropic_latest, anthropic_frames)

    async def _gemini(self, request: Request) -> Response:
        if not request.path_params["model_action"].endswith(":streamGenerateContent"):
            return JSONResponse({"error": {"message": "not found"}}, status_code=404)
        return await self._answer(request, _gemini_latest, gemini_frames)

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        fields = {key: str(value) for key, value in form.items()}
        self.requests.append(Recorded(request.url.path, dict(request.headers), fields, {}))
        if form.get("client_secret") != "s3cret":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        return JSONResponse({"access_token": f"token-{len(self.requests)}", "expires_in": 3600})


Encoder = Callable[[ScriptTurn, str], list[bytes]]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(block.get("text", "")) for block in content if isinstance(block, dict))
    return ""


def _openai_latest(body: dict[str, Any]) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return _text_of(users[-1].get("content")) if users else ""


def _responses_latest(body: dict[str, Any]) -> str:
    users = [i for i in body.get("input", []) if i.get("role") == "user"]
    return _text_of(users[-1].get("content")) if users else ""


def _anthropic_latest(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        text = _text_of(message.get("content")) if message.get("role") == "user" else ""
        if text:
            return text
    return ""


def _gemini_latest(body: dict[str, Any]) -> str:
    for content in reversed(body.get("contents", [])):
        if content.get("role") == "user":
            text = "".join(str(p.get("text", "")) for p in content.get("parts", []))
            if text:
                return text
    return ""


def _usage(turn: ScriptTurn) -> tuple[int, int]:
    if turn.usage:
        return turn.usage.input_tokens, turn.usage.output_tokens
    return 100, max(1, len((turn.text or "") + (turn.reasoning or "")) // 4)


def openai_chat_frames(turn: ScriptTurn, model: str) -> list[bytes]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return sse({**base, "choices": [choice]})

    frames = [chunk({"role": "assistant", "content": ""})]
    frames += [
        chunk({"reasoning_content": p}) for p in pieces(turn.reasoning or "", turn.chunk_chars)
    ]
    frames += [chunk({"content": p}) for p in pieces(turn.text or "", turn.chunk_chars)]
    for index, call in enumerate(turn.tool_calls):
        arguments = json.dumps(call.input)
        call_id = call.id or f"call_{index}"
        first = {"index": index, "id": call_id, "type": "function",
                 "function": {"name": call.name, "arguments": ""}}  # fmt: skip
        frames.append(chunk({"tool_calls": [first]}))
        frames += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]})
            for p in pieces(arguments, turn.chunk_chars)
        ]
    frames.append(chunk({}, "tool_calls" if turn.tool_calls else "stop"))
    prompt, completion = _usage(turn)
    usage = {"prompt_tokens": prompt, "completion_tokens": completion,
             "total_tokens": prompt + completion}  # fmt: skip
    frames.append(sse({**base, "choices": [], "usage": usage}))
    frames.append(sse("[DONE]"))
    return frames


def responses_frames(turn: ScriptTurn, model: str) -> list[bytes]:
    frames: list[bytes] = [sse({"type": "response.created", "response": {"id": "resp_fake"}},
                               "response.created")]  # fmt: skip

    def add(kind: str, **data: Any) -> None:
        frames.append(sse({"type": kind, **data}, kind))

    if turn.reasoning:
        add("response.output_item.added", item={"type": "reasoning", "id": "rs_1"})
        for p in pieces(turn.reasoning, turn.chunk_chars):
            add("response.reasoning_summary_text.delta", item_id="rs_1", delta=p)
        add("response.output_item.done", item={"type": "reasoning", "id": "rs_1"})
    if turn.text:
        add("response.output_item.added", item={"type": "message", "id": "msg_1"})
        for p in pieces(turn.text, turn.chunk_chars):
            add("response.output_text.delta", item_id="msg_1", delta=p)
        add("response.output_item.done", item={"type": "message", "id": "msg_1"})
    for index, call in enumerate(turn.tool_calls):
        item = {"type": "function_call", "id": f"fc_{index}", "call_id": call.id or f"call_{index}",
                "name": call.name}  # fmt: skip
        add("response.output_item.added", item=item)
        arguments = json.dumps(call.input)
        for p in pieces(arguments, turn.chunk_chars):
            add("response.function_call_arguments.delta", item_id=f"fc_{index}", delta=p)
        add("response.output_item.done", item={**item, "arguments": arguments})
    prompt, completion = _usage(turn)
    add("response.completed", response={
        "id": "resp_fake", "model": model, "status": "completed",
        "usage": {"input_tokens": prompt, "output_tokens": completion,
                  "total_tokens": prompt + completion}})  # fmt: skip
    return frames


def anthropic_frames(turn: ScriptTurn, model: str) -> list[bytes]:
    prompt, completion = _usage(turn)
    frames: list[bytes] = []

    def add(kind: str, **data: Any) -> None:
        frames.append(sse({"type": kind, **data}, kind))

    add("message_start", message={"id": "msg_fake", "model": model, "role": "assistant",
                                  "usage": {"input_tokens": prompt, "output_tokens": 1,
                                            "cache_read_input_tokens": 0}})  # fmt: skip
    index = 0
    if turn.reasoning:
        add("content_block_start", index=index,
            content_block={"type": "thinking", "thinking": ""})  # fmt: skip
        for p in pieces(turn.reasoning, turn.chunk_chars):
            add("content_block_delta", index=index, delta={"type": "thinking_delta", "thinking": p})
        add("content_block_delta", index=index,
            delta={"type": "signature_delta", "signature": "sig-fake"})  # fmt: skip
        add("content_block_stop", index=index)
        index += 1
    if turn.text:
        add("content_block_start", index=index, content_block={"type": "text", "text": ""})
        for p in pieces(turn.text, turn.chunk_chars):
            add("content_block_delta", index=index, delta={"type": "text_delta", "text": p})
        add("content_block_stop", index=index)
        index += 1
    for n, call in enumerate(turn.tool_calls):
        add("content_block_start", index=index, content_block={
            "type": "tool_use", "id": call.id or f"toolu_{n}", "name": call.name, "input": {}})  # fmt: skip
        for p in pieces(json.dumps(call.input), turn.chunk_chars):
            add("content_block_delta", index=index,
                delta={"type": "input_json_delta", "partial_json": p})  # fmt: skip
        add("content_block_stop", index=index)
        index += 1
    add("message_delta", delta={"stop_reason": "tool_use" if turn.tool_calls else "end_turn"},
        usage={"output_tokens": completion})  # fmt: skip
    add("message_stop")
    return frames


def gemini_frames(turn: ScriptTurn, model: str) -> list[bytes]:
    def chunk(parts: list[dict[str, Any]], finish: str | None = None) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return sse({"candidates": [candidate], "modelVersion": model, "responseId": "gem-fake"})

    frames = [
        chunk([{"text": p, "thought": True}])
        for p in pieces(turn.reasoning or "", turn.chunk_chars)
    ]
    frames += [chunk([{"text": p}]) for p in pieces(turn.text or "", turn.chunk_chars)]
    calls = [{"functionCall": {"name": c.name, "args": c.input}, "thoughtSignature": f"sig-{n}"}
             for n, c in enumerate(turn.tool_calls)]  # fmt: skip
    if calls:
        frames.append(chunk(calls))
    prompt, completion = _usage(turn)
    last = {"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": completion,
                              "totalTokenCount": prompt + completion}}  # fmt: skip
    frames.append(sse(last))
    return frames
