"""What the detail pane says about one span: the GenAI facts first (model, tokens, finish
reasons; a tool's name, arguments and result), then its events, links and attributes.

The facts are read from the OpenTelemetry GenAI attributes our runtime sets
(`gen_ai.request.model`, `gen_ai.usage.*`, `gen_ai.tool.call.arguments`/`result`), with the
runtime's own `tool.*` attributes as fallbacks; whatever is not a fact is still listed under
attributes, so nothing the span carries is hidden.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from agentops_tui.services.traces.otlp import AttributeValue
from agentops_tui.services.traces.tree import SpanNode

_MODEL_PREFIXES = ("gen_ai.request.", "gen_ai.response.", "gen_ai.usage.", "gen_ai.provider.")


def display(value: AttributeValue) -> str:
    """An attribute value as text: lists comma-separated, maps as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(display(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _text(attributes: Mapping[str, AttributeValue], *keys: str) -> str | None:
    """The first of `keys` the span has, as text."""
    for key in keys:
        if attributes.get(key) is not None:
            return display(attributes[key])
    return None


def _count(attributes: Mapping[str, AttributeValue], key: str) -> int | None:
    value = attributes.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class ModelCall:
    """A model call's facts (a `chat` span; a turn or step carries the token totals)."""

    operation: str | None
    provider: str | None
    request_model: str | None
    response_model: str | None
    input_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    cache_read_tokens: int | None
    cache_creation_tokens: int | None
    finish_reasons: tuple[str, ...]


@dataclass(frozen=True)
class ToolCall:
    name: str
    call_id: str | None
    tool_type: str | None
    arguments: str | None
    result: str | None
    error: str | None
    mcp_server: str | None


@dataclass(frozen=True)
class EventDetail:
    name: str
    offset_ns: int
    """From the span's start."""
    attributes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LinkDetail:
    trace_id: str
    span_id: str
    attributes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SpanDetail:
    node: SpanNode
    status_message: str
    """Why it failed: the status message (with the recorded exception's message when the
    status names only its type), else the exception, else `error.type`; '' when it did not."""
    agent: str | None
    model: ModelCall | None
    tool: ToolCall | None
    events: tuple[EventDetail, ...]
    links: tuple[LinkDetail, ...]
    attributes: tuple[tuple[str, str], ...]
    """Every attribute, sorted by key."""
    resource: tuple[tuple[str, str], ...]


def _pairs(attributes: Mapping[str, AttributeValue]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((key, display(value)) for key, value in attributes.items()))


def _model(attributes: Mapping[str, AttributeValue]) -> ModelCall | None:
    if not any(key.startswith(_MODEL_PREFIXES) for key in attributes):
        return None
    reasons = attributes.get("gen_ai.response.finish_reasons")
    return ModelCall(
        operation=_text(attributes, "gen_ai.operation.name"),
        provider=_text(attributes, "gen_ai.provider.name", "gen_ai.system"),
        request_model=_text(attributes, "gen_ai.request.model"),
        response_model=_text(attributes, "gen_ai.response.model"),
        input_tokens=_count(attributes, "gen_ai.usage.input_tokens"),
        output_tokens=_count(attributes, "gen_ai.usage.output_tokens"),
        reasoning_tokens=_count(attributes, "gen_ai.usage.reasoning_tokens"),
        cache_read_tokens=_count(attributes, "gen_ai.usage.cache_read_tokens"),
        cache_creation_tokens=_count(attributes, "gen_ai.usage.cache_creation_tokens"),
        finish_reasons=tuple(
            display(r) for r in (reasons if isinstance(reasons, list) else [reasons]) if r
        ),
    )


def _tool(node: SpanNode) -> ToolCall | None:
    attributes = node.attributes
    name = _text(attributes, "gen_ai.tool.name", "tool.name")
    if node.category != "tool" or name is None:
        return None
    error = attributes.get("tool.error")
    return ToolCall(
        name=name,
        call_id=_text(attributes, "gen_ai.tool.call.id"),
        tool_type=_text(attributes, "tool.type", "gen_ai.tool.type"),
        arguments=_text(attributes, "gen_ai.tool.call.arguments", "tool.preview"),
        result=_text(attributes, "gen_ai.tool.call.result"),
        error=None if error is None or error is False else display(error),
        mcp_server=_text(attributes, "tool.mcp.server"),
    )


def _failure(node: SpanNode) -> str:
    message = node.status_message
    exception = next((e.attributes for e in node.events if e.name == "exception"), None)
    if exception is not None:
        kind = _text(exception, "exception.type") or ""
        text = _text(exception, "exception.message") or ""
        if not message or message == kind:  # span() records the type; the event says why
            message = f"{kind}: {text}" if kind and text else kind or text
    return message or _text(node.attributes, "error.type") or ""


def span_detail(node: SpanNode) -> SpanDetail:
    events = tuple(
        EventDetail(
            name=event.name,
            offset_ns=max(0, event.time_ns - node.start_ns),
            attributes=_pairs(event.attributes),
        )
        for event in node.events
    )
    links = tuple(
        LinkDetail(link.trace_id, link.span_id, _pairs(link.attributes)) for link in node.links
    )
    attributes = node.attributes
    return SpanDetail(
        node=node,
        status_message=_failure(node),
        agent=_text(attributes, "gen_ai.agent.name", "agent.name")
        or _text(node.resource, "agent.name"),
        model=_model(attributes),
        tool=_tool(node),
        events=events,
        links=links,
        attributes=_pairs(attributes),
        resource=_pairs(node.resource),
    )
