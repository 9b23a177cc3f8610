"""What a span is, from the OpenTelemetry GenAI conventions our runtime follows.

`gen_ai.operation.name` says it first (`invoke_agent` the turn, `chat` a model call,
`execute_tool` a tool, `retrieval` memory); span names are the fallback for other emitters,
with the prefixes the web console filtered on (`chat `, `gen_ai.`, `tool.`, `mcp.`, `memory.`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from agentops_tui.services.traces.otlp import AttributeValue, StatusCode

Category = Literal["agent", "llm", "tool", "memory", "other"]

_OPERATIONS: Mapping[str, Category] = {
    "invoke_agent": "agent",
    "create_agent": "agent",
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "llm",
    "execute_tool": "tool",
    "retrieval": "memory",
}
CLASSIFYING = frozenset({"gen_ai.operation.name", "gen_ai.tool.name", "error.type"})
"""The attributes `categorize` and `failed` read."""
_NAME_PREFIXES: tuple[tuple[str, Category], ...] = (
    ("chat ", "llm"),
    ("gen_ai.", "llm"),
    ("tool.", "tool"),
    ("mcp.", "tool"),
    ("memory.", "memory"),
    ("agent.prompt", "agent"),
)


def categorize(name: str, attributes: Mapping[str, AttributeValue]) -> Category:
    operation = attributes.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation in _OPERATIONS:
        return _OPERATIONS[operation]
    if "gen_ai.tool.name" in attributes:
        return "tool"
    return next((cat for prefix, cat in _NAME_PREFIXES if name.startswith(prefix)), "other")


def failed(status: StatusCode, attributes: Mapping[str, AttributeValue]) -> bool:
    """Whether the span failed: an error status, or `error.type`, which the conventions set on
    failures that leave the status alone (our runtime's tool errors and cancelled turns)."""
    return status == "error" or bool(attributes.get("error.type"))
