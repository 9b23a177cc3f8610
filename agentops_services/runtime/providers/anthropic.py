"""Anthropic Messages API, streaming: text, extended thinking (with signatures kept so the
conversation can be sent back), tool use, and prompt caching of tools, system prompt and
conversation history."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from agentops_services.api.conversation import (
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from agentops_services.api.fep import Usage
from agentops_services.runtime.providers import base as model
from agentops_services.runtime.providers.http import parse_stream

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 8192
EPHEMERAL = {"type": "ephemeral"}
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool-calls",
    "max_tokens": "length",
    "refusal": "content-filter",
    "pause_turn": "other",
}


def _blocks(message: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart) and part.text:
            blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, ReasoningPart) and part.signature:
            blocks.append({"type": "thinking", "thinking": part.text, "signature": part.signature})
        elif isinstance(part, ToolCallPart):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": part.tool_call_id,
                    "name": part.tool_name,
                    "input": _arguments(part.input),
                }
            )
        elif isinstance(part, ToolResultPart):
            blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": part.tool_call_id,
                    "content": part.text,
                    "is_error": part.is_error,
                }
            )
    return blocks


def _arguments(text: str) -> Any:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def anthropic_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Our conversation as alternating user/assistant turns (tool results are user turns)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


def anthropic_body(request: model.ModelRequest) -> dict[str, Any]:
    messages = anthropic_messages(request.messages)
    defaults = request.call_defaults.anthropic if request.call_defaults else None
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_output_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages,
        "stream": True,
    }
    system = [
        {
            "type": "text",
            "text": part.text,
            **({"cache_control": EPHEMERAL} if part.cache and request.cache_prompt else {}),
        }
        for part in request.system
        if part.text
    ]
    if system:
        body["system"] = system
    if request.tools:
        tools = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
        if request.cache_prompt:
            tools[-1]["cache_control"] = EPHEMERAL  # caches the whole tool list
        body["tools"] = tools
    if request.cache_prompt and len(messages) >= 3:
        messages[-2]["content"][-1]["cache_control"] = EPHEMERAL  # the history so far
    if defaults and defaults.thinking_budget_tokens:
        body["thinking"] = {"type": "enabled", "budget_tokens": defaults.thinking_budget_tokens}
        body["max_tokens"] = max(body["max_tokens"], defaults.thinking_budget_tokens + 1024)
    elif request.temperature is not None:  # thinking requires the default temperature
        body["temperature"] = request.temperature
    if defaults and defaults.effort:
        body["output_config"] = {"effort": defaults.effort}
    if defaults and defaults.disable_parallel_tool_use and request.tools:
        body["tool_choice"] = {"type": "auto", "disable_parallel_tool_use": True}
    return body


@dataclass
class _Block:
    kind: str
    id: str
    name: str = ""
    parts: list[str] = field(default_factory=list)
    signature: str | None = None


@dataclass
class AnthropicStreamParser:
    """Messages stream events -> ModelEvents."""

    prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    blocks: dict[int, _Block] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    stop_reason: str | None = None
    response_id: str | None = None
    model_name: str | None = None
    done: bool = False

    def feed(self, kind: str, data: Mapping[str, Any]) -> list[model.ModelEvent]:
        handler = {
            "message_start": self._message_start,
            "content_block_start": self._block_start,
            "content_block_delta": self._block_delta,
            "content_block_stop": self._block_stop,
            "message_delta": self._message_delta,
            "message_stop": self._message_stop,
            "error": self._error,
        }.get(kind or str(data.get("type", "")))
        return handler(data) if handler else []

    def _message_start(self, data: Mapping[str, Any]) -> list[model.ModelEvent]:
        message = data.get("message") or {}
        self.response_id = message.get("id")
        self.model_name = message.get("model")
        self.usage.update(
            {k: v for k, v in (message.get("usage") or {}).items() if isinstance(v, int)}
        )
        return []

    def _block_start(self, data: Mapping[str, Any]) -> list[model.ModelEvent]:
        index = int(data.get("index", len(self.blocks)))
        block = data.get("content_block") or {}
        kind = block.get("type", "")
        if kind == "tool_use":
            state = self.blocks[index] = _Block(
                "tool", block.get("id") or f"toolu_{self.prefix}_{index}", block.get("name", "")
            )
            return [model.ToolInputStart(state.id, state.name)]
        if kind in ("thinking", "redacted_thinking"):
            self.blocks[index] = _Block("reasoning", f"{self.prefix}-{index}")
            return [model.ReasoningStart(f"{self.prefix}-{index}")]
        if kind == "text":
            self.blocks[index] = _Block("text", f"{self.prefix}-{index}")
            events: list[model.ModelEvent] = [model.TextStart(f"{self.prefix}-{index}")]
            if block.get("text"):
                events.append(model.TextDelta(f"{self.prefix}-{index}", block["text"]))
            return events
        return []

    def _block_delta(self, data: Mapping[str, Any]) -> list[model.ModelEvent]:
        state = self.blocks.get(int(data.get("index", -1)))
        delta = data.get("delta") or {}
        if state is None:
            return []
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [model.TextDelta(state.id, delta["text"])]
        if kind == "thinking_delta" and delta.get("thinking"):
            return [model.ReasoningDelta(state.id, delta["thinking"])]
        if kind == "signature_delta":
            state.signature = (state.signature or "") + delta.get("signature", "")
            return []
        if kind == "input_json_delta" and delta.get("partial_json"):
            state.parts.append(delta["partial_json"])
            return [model.ToolInputDelta(state.id, delta["partial_json"])]
        return []

    def _block_stop(self, data: Mapping[str, Any]) -> list[model.ModelEvent]:
        state = self.blocks.get(int(data.get("index", -1)))
        if state is None:
            return []
        if state.kind == "tool":
            return [
                model.ToolInputEnd(state.id),
                model.ToolCallReady(state.id, state.name, "".join(state.parts) or "{}"),
            ]
        if state.kind == "reasoning":
            return [model.ReasoningEnd(state.id, state.signature)]
        return [model.TextEnd(state.id)]

    def _message_delta(self, data: Mapping[str, Any]) -> list[model.ModelEvent]:
        self.stop_reason = (data.get("delta") or {}).get("stop_reason") or self.stop_reason
        self.usage.update(
            {k: v for k, v in (data.get("usage") or {}).items() if isinstance(v, int)}
        )
        return []

    def _message_stop(self, data: Mapping[str, Any]) -> list[model.ModelEvent]:
        self.done = True
        return []

    def _error(self, data: Mapping[str, Any]) -> list[model.ModelEvent]:
        error = data.get("error") or {}
        kind = str(error.get("type", "error"))
        raise model.ProviderError(
            f"{kind}: {error.get('message', '')}",
            retryable=kind in ("overloaded_error", "api_error", "rate_limit_error"),
        )

    def finish(self) -> list[model.ModelEvent]:
        if not self.done and self.stop_reason is None:
            raise model.ProviderError("the model stream ended before it finished", retryable=True)
        read = self.usage.get("cache_read_input_tokens", 0)
        created = self.usage.get("cache_creation_input_tokens", 0)
        fresh = self.usage.get("input_tokens", 0)
        output = self.usage.get("output_tokens", 0)
        usage = Usage(
            input_tokens=fresh + read + created,
            output_tokens=output,
            total_tokens=fresh + read + created + output,
            cache_read_tokens=read,
            cache_creation_tokens=created,
        )
        reason = STOP_REASONS.get(self.stop_reason or "", "other")
        return [model.StepFinish(usage, reason, self.response_id, self.model_name)]


@dataclass
class AnthropicProvider:
    name: str
    base_url: str
    api_key: str | None
    client: httpx.AsyncClient
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    type: str = "anthropic"

    def stream(self, request: model.ModelRequest) -> AsyncIterator[model.ModelEvent]:
        headers = {"anthropic-version": API_VERSION, **self.extra_headers}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        base = self.base_url.rstrip("/")
        url = base + ("/messages" if base.endswith("/v1") else "/v1/messages")
        return parse_stream(
            AnthropicStreamParser(), self.client, url, anthropic_body(request), headers
        )
