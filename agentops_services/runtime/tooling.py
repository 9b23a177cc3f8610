"""The tool-execution interface: what a tool is, how the loop calls one, and what comes back.

A tool never breaks the loop: unknown names, arguments that are not JSON or do not fit the
tool's schema, refusals and unexpected exceptions all become error results the model reads
and can correct. Only cancellation (an abort) passes through.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from opentelemetry import trace
from pydantic import BaseModel, ValidationError

from agentops_services.api.conversation import ToolCallPart
from agentops_services.api.fep import FepEventBase
from agentops_services.api.model import describe_errors
from agentops_services.runtime.providers.base import ToolSpec
from agentops_services.telemetry import cap, span

LOG = logging.getLogger(__name__)
TRACER = trace.get_tracer("agentops.runtime.tools")
MAX_PARALLEL_TOOLS = 5


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool returns; `metadata` is what the console renders its card from."""

    output: str
    is_error: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    media_type: str | None = None
    data: str | None = None
    """Base64 media content."""

    @classmethod
    def error(cls, message: str, **metadata: Any) -> ToolOutcome:
        return cls(output=message, is_error=True, metadata=metadata)


@dataclass(frozen=True)
class ToolContext:
    """What a running tool may use besides its arguments."""

    call_id: str
    tool_name: str
    session_id: str
    emit: Callable[[FepEventBase], object]
    """Append an event to the agent's stream (gates, delegation events)."""
    set_waiting: Callable[[bool], None] = lambda _waiting: None
    """Mark the agent as waiting for a person (permission or question)."""


class Tool(Protocol):
    """A tool the model can call."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def parameters(self) -> dict[str, Any]:
        """JSON Schema (an object) of the arguments."""
        ...

    @property
    def parallel_safe(self) -> bool:
        """May run concurrently with other parallel-safe calls of the same step."""
        ...

    @property
    def tool_type(self) -> str:
        """builtin, mcp, memory, git or orchestration (span attribute tool.type)."""
        ...

    @property
    def ui(self) -> str | None:
        """Card renderer hint for the console (metadata.ui)."""
        ...

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolOutcome: ...


Args = TypeVar("Args", bound=BaseModel)


class TypedTool(Generic[Args]):
    """A tool whose arguments are a pydantic model: the schema the model sees is generated from
    it, and arguments that do not fit are answered with the fields at fault."""

    name: ClassVar[str]
    description: ClassVar[str]
    arguments: ClassVar[type[BaseModel]]
    parallel_safe: ClassVar[bool] = False
    tool_type: ClassVar[str] = "builtin"
    ui: ClassVar[str | None] = None

    @property
    def parameters(self) -> dict[str, Any]:
        return plain_schema(self.arguments.model_json_schema())

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolOutcome:
        try:
            parsed = self.arguments.model_validate(arguments)
        except ValidationError as exc:
            return ToolOutcome.error(f"invalid arguments for {self.name}: {describe_errors(exc)}")
        return await self.call(parsed, context)  # type: ignore[arg-type]

    async def call(self, arguments: Args, context: ToolContext) -> ToolOutcome:
        raise NotImplementedError


def plain_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema every provider accepts: `$ref`s inlined, `$defs` and titles dropped
    (Gemini refuses references, and titles only cost tokens)."""
    definitions = schema.get("$defs", {})

    def walk(node: Any, properties: bool = False) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if properties:  # keys are property names, not keywords
            return {name: walk(value) for name, value in node.items()}
        if "$ref" in node:
            target = definitions[node["$ref"].rsplit("/", 1)[-1]]
            return walk({**target, **{k: v for k, v in node.items() if k != "$ref"}})
        return {
            key: walk(value, properties=key == "properties")
            for key, value in node.items()
            if key not in ("$defs", "title")
        }

    result: dict[str, Any] = walk(schema)
    return result


def _arguments(call: ToolCallPart) -> dict[str, Any] | ToolOutcome:
    """The call's arguments, or the error result telling the model they are not an object."""
    try:
        arguments = json.loads(call.input or "{}")
    except ValueError as exc:
        return ToolOutcome.error(f"invalid arguments for {call.tool_name}: not JSON ({exc})")
    if not isinstance(arguments, dict):
        return ToolOutcome.error(f"invalid arguments for {call.tool_name}: not a JSON object")
    return arguments


class ToolSource(Protocol):
    """Tools that can change while the agent runs."""

    def tools(self) -> Sequence[Tool]: ...


class CallHooks(Protocol):
    """Guards and side effects around every call (toolHooks)."""

    def refusal(self, call: ToolCallPart, arguments: Mapping[str, Any]) -> str | None: ...

    async def after(
        self, call: ToolCallPart, arguments: Mapping[str, Any], outcome: ToolOutcome
    ) -> ToolOutcome: ...


class PermissionCheck(Protocol):
    """Asks a person before a gated tool runs; None means allowed."""

    def gated(self, tool_name: str) -> bool: ...

    async def check(self, call: ToolCallPart, context: ToolContext) -> str | None: ...


@dataclass
class ToolRegistry:
    """The agent's tools, in the order they are advertised."""

    tools: Sequence[Tool] = ()
    max_result_chars: int = 50_000
    permissions: PermissionCheck | None = None
    hooks: CallHooks | None = None
    sources: Sequence[ToolSource] = ()
    """Where tools that come and go are found (MCP servers); the static tools win a name."""
    _by_name: dict[str, Tool] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._by_name = {}
        for tool in self.tools:
            if tool.name in self._by_name:
                raise ValueError(f"two tools are named {tool.name!r}")
            self._by_name[tool.name] = tool

    def __len__(self) -> int:
        return len(self._by_name)

    def current(self) -> dict[str, Tool]:
        """Every tool the model may call right now, by name, in advertising order."""
        if not self.sources:
            return self._by_name
        merged = dict(self._by_name)
        for source in self.sources:
            for tool in source.tools():
                merged.setdefault(tool.name, tool)
        return merged

    def names(self) -> list[str]:
        return list(self.current())

    def specs(self) -> list[ToolSpec]:
        return [ToolSpec(t.name, t.description, t.parameters) for t in self.current().values()]

    def parallel_safe(self, name: str) -> bool:
        tool = self.current().get(name)
        return bool(tool and tool.parallel_safe)

    async def execute(self, call: ToolCallPart, context: ToolContext) -> ToolOutcome:
        """Run one call; every failure but cancellation becomes an error result."""
        tool = self.current().get(call.tool_name)
        tool_type = tool.tool_type if tool else "unknown"
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.tool_name,
            "gen_ai.tool.call.id": call.tool_call_id,
            "gen_ai.tool.call.arguments": cap(call.input, 1000),
            "tool.name": call.tool_name,
            "tool.type": tool_type,
        }
        started = time.perf_counter()
        with span(TRACER, f"tool.execute: {call.tool_name}", attributes=attributes) as current:
            arguments = _arguments(call)
            if isinstance(arguments, ToolOutcome):
                outcome = arguments
            else:
                outcome = await self._outcome(tool, call, arguments, context)
            duration_ms = round((time.perf_counter() - started) * 1000)
            outcome = self._finish(tool, outcome, duration_ms)
            if self.hooks is not None and not isinstance(arguments, ToolOutcome):
                outcome = await self.hooks.after(call, arguments, outcome)
            current.set_attribute("tool.duration_ms", duration_ms)
            current.set_attribute("gen_ai.tool.call.result", cap(outcome.output, 1000))
            if outcome.is_error:
                current.set_attribute("tool.error", cap(outcome.output, 1000))
                current.set_attribute("error.type", "tool_error")
        return outcome

    async def _outcome(
        self,
        tool: Tool | None,
        call: ToolCallPart,
        arguments: dict[str, Any],
        context: ToolContext,
    ) -> ToolOutcome:
        if tool is None:
            return ToolOutcome.error(f"tool not found: {call.tool_name}")
        if self.permissions and self.permissions.gated(call.tool_name):
            refusal = await self.permissions.check(call, context)
            if refusal is not None:
                return ToolOutcome.error(refusal)
        refusal = self.hooks.refusal(call, arguments) if self.hooks else None
        if refusal is not None:
            return ToolOutcome.error(refusal)
        try:
            return await tool.run(arguments, context)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            LOG.exception("tool %s failed", call.tool_name)
            return ToolOutcome.error(f"tool {call.tool_name} failed: {type(exc).__name__}: {exc}")

    def _finish(self, tool: Tool | None, outcome: ToolOutcome, duration_ms: int) -> ToolOutcome:
        """Cap the output and add the card metadata every result carries."""
        output = outcome.output
        if len(output) > self.max_result_chars:
            dropped = len(output) - self.max_result_chars
            output = output[: self.max_result_chars] + f"\n... [{dropped} characters truncated]"
        metadata = {"duration": duration_ms, **outcome.metadata}
        if tool is not None and tool.ui and "ui" not in metadata:
            metadata["ui"] = tool.ui
        return ToolOutcome(output, outcome.is_error, metadata, outcome.media_type, outcome.data)


async def run_calls(
    registry: ToolRegistry,
    calls: Iterable[ToolCallPart],
    context_for: Callable[[ToolCallPart], ToolContext],
    on_result: Callable[[ToolCallPart, ToolOutcome], None],
) -> dict[str, ToolOutcome]:
    """Execute a step's calls: in call order, except that consecutive parallel-safe calls run
    together (at most MAX_PARALLEL_TOOLS at a time) and report as they finish."""
    results: dict[str, ToolOutcome] = {}
    limit = asyncio.Semaphore(MAX_PARALLEL_TOOLS)

    async def one(call: ToolCallPart) -> None:
        async with limit:
            outcome = await registry.execute(call, context_for(call))
        results[call.tool_call_id] = outcome
        on_result(call, outcome)

    batch: list[ToolCallPart] = []
    for call in [*calls, None]:
        if call is not None and registry.parallel_safe(call.tool_name):
            batch.append(call)
            continue
        if batch:
            async with asyncio.TaskGroup() as group:
                for queued in batch:
                    group.create_task(one(queued))
            batch = []
        if call is not None:
            await one(call)
    return results
