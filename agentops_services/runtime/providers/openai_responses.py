"""OpenAI Responses API, streaming (Provider config `useResponsesAPI`: openai, azure,
openaicompat)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from agentops_services.api.conversation import Message, ToolResultPart
from agentops_services.runtime.providers import base as model
from agentops_services.runtime.providers.http import chunk_error, parse_stream
from agentops_services.runtime.providers.openai_chat import system_text, usage_from


def response_input(messages: list[Message]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            items.extend(
                {"type": "function_call_output", "call_id": p.tool_call_id, "output": p.text}
                for p in message.content
                if isinstance(p, ToolResultPart)
            )
        elif message.role == "assistant":
            if message.text:
                items.append(
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": message.text}],
                    }
                )
            items.extend(
                {
                    "type": "function_call",
                    "call_id": call.tool_call_id,
                    "name": call.tool_name,
                    "arguments": call.input or "{}",
                }
                for call in message.tool_calls()
            )
        elif message.role == "user":
            items.append(
                {"role": "user", "content": [{"type": "input_text", "text": message.text}]}
            )
    return items


def responses_body(request: model.ModelRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model,
        "input": response_input(request.messages),
        "stream": True,
        "store": False,
    }
    instructions = system_text(request)
    if instructions:
        body["instructions"] = instructions
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
            }
            for t in request.tools
        ]
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_output_tokens is not None:
        body["max_output_tokens"] = request.max_output_tokens
    defaults = request.call_defaults.openai if request.call_defaults else None
    if defaults and defaults.reasoning_effort:
        body["reasoning"] = {"effort": defaults.reasoning_effort, "summary": "auto"}
    if defaults and defaults.service_tier:
        body["service_tier"] = defaults.service_tier
    return body


@dataclass
class ResponsesStreamParser:
    prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    open_text: set[str] = field(default_factory=set)
    open_reasoning: set[str] = field(default_factory=set)
    calls: dict[str, tuple[str, str]] = field(default_factory=dict)
    """item id -> (call id, name) of function calls in progress."""
    arguments: dict[str, list[str]] = field(default_factory=dict)
    finished: model.StepFinish | None = None
    any_call: bool = False

    def feed(self, kind: str, data: Mapping[str, Any]) -> list[model.ModelEvent]:
        kind = kind or str(data.get("type", ""))
        if kind == "response.output_item.added":
            return self._item_added(data.get("item") or {})
        if kind == "response.output_text.delta":
            return self._text(str(data.get("item_id", "")), str(data.get("delta", "")))
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            return self._reasoning(str(data.get("item_id", "")), str(data.get("delta", "")))
        if kind == "response.function_call_arguments.delta":
            item_id = str(data.get("item_id", ""))
            if item_id in self.calls and data.get("delta"):
                self.arguments[item_id].append(str(data["delta"]))
                return [model.ToolInputDelta(self.calls[item_id][0], str(data["delta"]))]
            return []
        if kind == "response.output_item.done":
            return self._item_done(data.get("item") or {})
        if kind in ("response.completed", "response.incomplete"):
            return self._completed(data.get("response") or {}, kind)
        if kind in ("response.failed", "error"):
            raise chunk_error(
                (data.get("response") or {}).get("error") or data.get("error") or data
            )
        return []

    def _item_added(self, item: Mapping[str, Any]) -> list[model.ModelEvent]:
        if item.get("type") == "function_call":
            item_id = str(item.get("id") or item.get("call_id"))
            call_id = str(item.get("call_id") or item_id)
            self.calls[item_id] = (call_id, str(item.get("name", "")))
            self.arguments[item_id] = []
            self.any_call = True
            return [model.ToolInputStart(call_id, str(item.get("name", "")))]
        return []

    def _text(self, item_id: str, delta: str) -> list[model.ModelEvent]:
        events: list[model.ModelEvent] = []
        block = f"{self.prefix}-{item_id}"
        if item_id not in self.open_text:
            self.open_text.add(item_id)
            events.append(model.TextStart(block))
        if delta:
            events.append(model.TextDelta(block, delta))
        return events

    def _reasoning(self, item_id: str, delta: str) -> list[model.ModelEvent]:
        events: list[model.ModelEvent] = []
        block = f"{self.prefix}-{item_id}"
        if item_id not in self.open_reasoning:
            self.open_reasoning.add(item_id)
            events.append(model.ReasoningStart(block))
        if delta:
            events.append(model.ReasoningDelta(block, delta))
        return events

    def _item_done(self, item: Mapping[str, Any]) -> list[model.ModelEvent]:
        item_id = str(item.get("id", ""))
        if item.get("type") == "function_call" and item_id in self.calls:
            call_id, name = self.calls.pop(item_id)
            arguments = str(item.get("arguments") or "".join(self.arguments.pop(item_id, [])))
            return [
                model.ToolInputEnd(call_id),
                model.ToolCallReady(call_id, name or str(item.get("name", "")), arguments or "{}"),
            ]
        if item_id in self.open_text:
            self.open_text.discard(item_id)
            return [model.TextEnd(f"{self.prefix}-{item_id}")]
        if item_id in self.open_reasoning:
            self.open_reasoning.discard(item_id)
            return [model.ReasoningEnd(f"{self.prefix}-{item_id}")]
        return []

    def _completed(self, response: Mapping[str, Any], kind: str) -> list[model.ModelEvent]:
        status = response.get("status", "completed")
        if self.any_call:
            reason = "tool-calls"
        elif kind == "response.incomplete" or status == "incomplete":
            reason = "length"
        else:
            reason = "stop"
        self.finished = model.StepFinish(
            usage_from(response.get("usage")), reason, response.get("id"), response.get("model")
        )
        return []

    def finish(self) -> list[model.ModelEvent]:
        if self.finished is None:
            raise model.ProviderError("the model stream ended before it finished", retryable=True)
        return [self.finished]


@dataclass
class OpenAIResponsesProvider:
    name: str
    type: str
    base_url: str
    api_key: str | None
    client: httpx.AsyncClient
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    azure_api_version: str | None = None

    def stream(self, request: model.ModelRequest) -> AsyncIterator[model.ModelEvent]:
        headers = dict(self.extra_headers)
        params = None
        if self.type == "azure":
            if self.api_key:
                headers["api-key"] = self.api_key
            url = self.base_url.rstrip("/") + "/openai/responses"
            params = {"api-version": self.azure_api_version or "2025-04-01-preview"}
        else:
            if self.api_key:
                headers["Authorization"] = f"Bearer {self.api_key}"
            url = self.base_url.rstrip("/") + "/responses"
        return parse_stream(
            ResponsesStreamParser(), self.client, url, responses_body(request), headers, params
        )
