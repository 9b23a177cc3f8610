"""OpenAI Chat Completions, streaming: OpenAI itself and every server that speaks it
(OpenAI-compatible servers, OpenRouter, Azure OpenAI)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from agentops_services.api.conversation import ToolResultPart
from agentops_services.api.fep import Usage
from agentops_services.runtime.providers import base as model
from agentops_services.runtime.providers.http import chunk_error, parse_stream

FINISH_REASONS = {
    "stop": "stop",
    "tool_calls": "tool-calls",
    "function_call": "tool-calls",
    "length": "length",
    "content_filter": "content-filter",
}


def system_text(request: model.ModelRequest) -> str:
    return "\n\n".join(part.text for part in request.system if part.text)


def chat_messages(request: model.ModelRequest) -> list[dict[str, Any]]:
    """Our conversation in Chat Completions form."""
    out: list[dict[str, Any]] = []
    system = system_text(request)
    if system:
        out.append({"role": "system", "content": system})
    for message in request.messages:
        if message.role == "tool":
            out.extend(
                {"role": "tool", "tool_call_id": part.tool_call_id, "content": part.text}
                for part in message.content
                if isinstance(part, ToolResultPart)
            )
        elif message.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": message.text or None}
            calls = message.tool_calls()
            if calls:
                entry["tool_calls"] = [
                    {
                        "id": call.tool_call_id,
                        "type": "function",
                        "function": {"name": call.tool_name, "arguments": call.input or "{}"},
                    }
                    for call in calls
                ]
            out.append(entry)
        elif message.role == "system":
            out.append({"role": "system", "content": message.text})
        else:
            out.append({"role": "user", "content": message.text})
    return out


def chat_body(request: model.ModelRequest, reasoning_effort: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model,
        "messages": chat_messages(request),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in request.tools
        ]
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_output_tokens is not None:
        body["max_completion_tokens"] = request.max_output_tokens
    defaults = request.call_defaults.openai if request.call_defaults else None
    if defaults:
        if defaults.reasoning_effort and reasoning_effort:
            body["reasoning_effort"] = defaults.reasoning_effort
        if defaults.service_tier:
            body["service_tier"] = defaults.service_tier
    return body


def usage_from(data: Mapping[str, Any] | None) -> Usage:
    if not data:
        return Usage()
    prompt = int(data.get("prompt_tokens") or data.get("input_tokens") or 0)
    completion = int(data.get("completion_tokens") or data.get("output_tokens") or 0)
    prompt_details = data.get("prompt_tokens_details") or data.get("input_tokens_details") or {}
    completion_details = (
        data.get("completion_tokens_details") or data.get("output_tokens_details") or {}
    )
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=int(data.get("total_tokens") or prompt + completion),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
        cache_read_tokens=int(prompt_details.get("cached_tokens") or 0),
    )


@dataclass
class _PendingCall:
    id: str
    name: str
    arguments: list[str] = field(default_factory=list)


@dataclass
class ChatStreamParser:
    """Chat Completions chunks -> ModelEvents, one parser per model call."""

    prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    text_open: bool = False
    text_blocks: int = 0
    reasoning_open: bool = False
    calls: dict[int, _PendingCall] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    response_id: str | None = None
    model_name: str | None = None

    def feed(self, kind: str, chunk: Mapping[str, Any]) -> list[model.ModelEvent]:
        if "error" in chunk:
            raise chunk_error(chunk["error"])
        self.response_id = self.response_id or chunk.get("id")
        self.model_name = chunk.get("model") or self.model_name
        if chunk.get("usage"):
            self.usage = usage_from(chunk["usage"])
        events: list[model.ModelEvent] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                events += self._reasoning(reasoning)
            content = delta.get("content")
            if isinstance(content, str) and content:
                events += self._close_reasoning()
                if not self.text_open:
                    self.text_open = True
                    self.text_blocks += 1
                    events.append(model.TextStart(self._text_id))
                events.append(model.TextDelta(self._text_id, content))
            for call in delta.get("tool_calls") or ():
                events += self._tool_delta(call)
            if choice.get("finish_reason"):
                self.finish_reason = FINISH_REASONS.get(choice["finish_reason"], "other")
        return events

    def _reasoning(self, delta: str) -> list[model.ModelEvent]:
        events: list[model.ModelEvent] = []
        if not self.reasoning_open:
            self.reasoning_open = True
            events.append(model.ReasoningStart(f"{self.prefix}-reasoning"))
        events.append(model.ReasoningDelta(f"{self.prefix}-reasoning", delta))
        return events

    def _close_reasoning(self) -> list[model.ModelEvent]:
        if not self.reasoning_open:
            return []
        self.reasoning_open = False
        return [model.ReasoningEnd(f"{self.prefix}-reasoning")]

    def _close_text(self) -> list[model.ModelEvent]:
        if not self.text_open:
            return []
        self.text_open = False
        return [model.TextEnd(self._text_id)]

    @property
    def _text_id(self) -> str:
        return f"{self.prefix}-text-{self.text_blocks}"

    def _tool_delta(self, call: Mapping[str, Any]) -> list[model.ModelEvent]:
        index = int(call.get("index", len(self.calls)))
        function = call.get("function") or {}
        events: list[model.ModelEvent] = []
        pending = self.calls.get(index)
        if pending is None:
            events += self._close_reasoning() + self._close_text()
            call_id = call.get("id") or f"call_{self.prefix}_{index}"
            pending = self.calls[index] = _PendingCall(call_id, function.get("name") or "")
            events.append(model.ToolInputStart(call_id, pending.name))
        elif function.get("name") and not pending.name:
            pending.name = function["name"]
        arguments = function.get("arguments")
        if arguments:
            pending.arguments.append(arguments)
            events.append(model.ToolInputDelta(pending.id, arguments))
        return events

    def finish(self) -> list[model.ModelEvent]:
        if self.finish_reason is None:
            raise model.ProviderError("the model stream ended before it finished", retryable=True)
        events = self._close_reasoning() + self._close_text()
        for index in sorted(self.calls):
            call = self.calls[index]
            events.append(model.ToolInputEnd(call.id))
            events.append(model.ToolCallReady(call.id, call.name, "".join(call.arguments) or "{}"))
        finish = self.finish_reason
        if self.calls and finish == "stop":
            finish = "tool-calls"  # some compatible servers say stop after tool calls
        events.append(model.StepFinish(self.usage, finish, self.response_id, self.model_name))
        return events


@dataclass
class OpenAIChatProvider:
    """openai, openaicompat and openrouter (Chat Completions)."""

    name: str
    type: str
    base_url: str
    api_key: str | None
    client: httpx.AsyncClient
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    organization: str | None = None
    project: str | None = None

    def stream(self, request: model.ModelRequest) -> AsyncIterator[model.ModelEvent]:
        headers = dict(self.extra_headers)
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if self.organization:
            headers["OpenAI-Organization"] = self.organization
        if self.project:
            headers["OpenAI-Project"] = self.project
        url = self.base_url.rstrip("/") + "/chat/completions"
        return parse_stream(ChatStreamParser(), self.client, url, chat_body(request), headers)


@dataclass
class AzureChatProvider:
    """Azure OpenAI: deployments addressed by name, an api-version, an api-key header."""

    name: str
    base_url: str
    api_key: str | None
    api_version: str
    client: httpx.AsyncClient
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    type: str = "azure"

    def stream(self, request: model.ModelRequest) -> AsyncIterator[model.ModelEvent]:
        headers = dict(self.extra_headers)
        if self.api_key:
            headers["api-key"] = self.api_key
        url = f"{self.base_url.rstrip('/')}/openai/deployments/{request.model}/chat/completions"
        return parse_stream(
            ChatStreamParser(),
            self.client,
            url,
            chat_body(request),
            headers,
            {"api-version": self.api_version},
        )
