"""Google Gemini `streamGenerateContent` (SSE), with thinking and function calling."""

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
from agentops_services.runtime.providers.http import chunk_error, parse_stream
from agentops_services.runtime.providers.openai_chat import system_text

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content-filter",
    "RECITATION": "content-filter",
    "BLOCKLIST": "content-filter",
    "PROHIBITED_CONTENT": "content-filter",
    "SPII": "content-filter",
    "MALFORMED_FUNCTION_CALL": "error",
}
THINKING_MODELS = ("gemini-2.5", "gemini-3")
# JSON Schema keywords Gemini's function declarations do not accept.
_UNSUPPORTED_SCHEMA_KEYS = {"$schema", "additionalProperties", "$defs", "title", "default"}


def gemini_schema(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: gemini_schema(v) for k, v in schema.items() if k not in _UNSUPPORTED_SCHEMA_KEYS}
    if isinstance(schema, list):
        return [gemini_schema(item) for item in schema]
    return schema


def _parts(message: Message, names: Mapping[str, str]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart) and part.text:
            parts.append({"text": part.text})
        elif isinstance(part, ReasoningPart) and part.signature:
            parts.append({"text": part.text, "thought": True, "thoughtSignature": part.signature})
        elif isinstance(part, ToolCallPart):
            try:
                args = json.loads(part.input) if part.input.strip() else {}
            except ValueError:
                args = {}
            call: dict[str, Any] = {"functionCall": {"name": part.tool_name, "args": args}}
            if part.signature:
                call["thoughtSignature"] = part.signature
            parts.append(call)
        elif isinstance(part, ToolResultPart):
            name = part.tool_name or names.get(part.tool_call_id, "tool")
            key = "error" if part.is_error else "output"
            parts.append({"functionResponse": {"name": name, "response": {key: part.text}}})
    return parts


def gemini_body(request: model.ModelRequest) -> dict[str, Any]:
    names = {c.tool_call_id: c.tool_name for m in request.messages for c in m.tool_calls()}
    contents: list[dict[str, Any]] = []
    for message in request.messages:
        role = "model" if message.role == "assistant" else "user"
        parts = _parts(message, names)
        if not parts or message.role == "system":
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    body: dict[str, Any] = {"contents": contents}
    system = system_text(request)
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    if request.tools:
        body["tools"] = [
            {
                "functionDeclarations": [
                    {
                        "name": t.name,
                        "description": t.description,
                        "parameters": gemini_schema(t.parameters),
                    }
                    for t in request.tools
                ]
            }
        ]
    config: dict[str, Any] = {}
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.max_output_tokens is not None:
        config["maxOutputTokens"] = request.max_output_tokens
    defaults = request.call_defaults.google if request.call_defaults else None
    thinking: dict[str, Any] = {"includeThoughts": True}
    if defaults and defaults.thinking_level:
        thinking["thinkingLevel"] = defaults.thinking_level
    if defaults and defaults.thinking_budget_tokens:
        thinking["thinkingBudget"] = defaults.thinking_budget_tokens
    # Older models refuse a thinking config; thinking models get thoughts summarised back.
    if len(thinking) > 1 or request.model.startswith(THINKING_MODELS):
        config["thinkingConfig"] = thinking
    body["generationConfig"] = config
    if defaults and defaults.safety_settings:
        body["safetySettings"] = [s.model_dump() for s in defaults.safety_settings]
    return body


@dataclass
class GeminiStreamParser:
    prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    text_open: bool = False
    thought_open: bool = False
    signature: str | None = None
    calls: int = 0
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    response_id: str | None = None
    model_name: str | None = None

    def feed(self, kind: str, chunk: Mapping[str, Any]) -> list[model.ModelEvent]:
        if "error" in chunk:
            raise chunk_error(chunk["error"])
        self.response_id = chunk.get("responseId") or self.response_id
        self.model_name = chunk.get("modelVersion") or self.model_name
        if chunk.get("usageMetadata"):
            meta = chunk["usageMetadata"]
            prompt = int(meta.get("promptTokenCount", 0))
            output = int(meta.get("candidatesTokenCount", 0)) + int(
                meta.get("thoughtsTokenCount", 0)
            )
            self.usage = Usage(
                input_tokens=prompt,
                output_tokens=output,
                total_tokens=int(meta.get("totalTokenCount", prompt + output)),
                reasoning_tokens=int(meta.get("thoughtsTokenCount", 0)),
                cache_read_tokens=int(meta.get("cachedContentTokenCount", 0)),
            )
        events: list[model.ModelEvent] = []
        for candidate in chunk.get("candidates") or ():
            for part in (candidate.get("content") or {}).get("parts") or ():
                events += self._part(part)
            if candidate.get("finishReason"):
                self.finish_reason = FINISH_REASONS.get(candidate["finishReason"], "other")
        return events

    def _part(self, part: Mapping[str, Any]) -> list[model.ModelEvent]:
        events: list[model.ModelEvent] = []
        if part.get("thoughtSignature"):
            self.signature = part["thoughtSignature"]
        if "functionCall" in part:
            events += self._close_text() + self._close_thought()
            call = part["functionCall"]
            call_id = f"call_{self.prefix}_{self.calls}"
            self.calls += 1
            arguments = json.dumps(call.get("args") or {})
            name = str(call.get("name", ""))
            events += [
                model.ToolInputStart(call_id, name),
                model.ToolInputDelta(call_id, arguments),
                model.ToolInputEnd(call_id),
                model.ToolCallReady(call_id, name, arguments, part.get("thoughtSignature")),
            ]
            return events
        text = part.get("text")
        if not isinstance(text, str) or not text:
            return events
        if part.get("thought"):
            if not self.thought_open:
                self.thought_open = True
                events.append(model.ReasoningStart(f"{self.prefix}-thought"))
            events.append(model.ReasoningDelta(f"{self.prefix}-thought", text))
            return events
        events += self._close_thought()
        if not self.text_open:
            self.text_open = True
            events.append(model.TextStart(f"{self.prefix}-text"))
        events.append(model.TextDelta(f"{self.prefix}-text", text))
        return events

    def _close_thought(self) -> list[model.ModelEvent]:
        if not self.thought_open:
            return []
        self.thought_open = False
        return [model.ReasoningEnd(f"{self.prefix}-thought", self.signature)]

    def _close_text(self) -> list[model.ModelEvent]:
        if not self.text_open:
            return []
        self.text_open = False
        return [model.TextEnd(f"{self.prefix}-text")]

    def finish(self) -> list[model.ModelEvent]:
        if self.finish_reason is None:
            raise model.ProviderError("the model stream ended before it finished", retryable=True)
        reason = "tool-calls" if self.calls and self.finish_reason == "stop" else self.finish_reason
        return [
            *self._close_thought(),
            *self._close_text(),
            model.StepFinish(self.usage, reason, self.response_id, self.model_name),
        ]


@dataclass
class GeminiProvider:
    name: str
    base_url: str
    api_key: str | None
    client: httpx.AsyncClient
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    type: str = "google"

    def stream(self, request: model.ModelRequest) -> AsyncIterator[model.ModelEvent]:
        headers = dict(self.extra_headers)
        if self.api_key:
            headers["x-goog-api-key"] = self.api_key
        url = f"{self.base_url.rstrip('/')}/v1beta/models/{request.model}:streamGenerateContent"
        return parse_stream(
            GeminiStreamParser(), self.client, url, gemini_body(request), headers, {"alt": "sse"}
        )
