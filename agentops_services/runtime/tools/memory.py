"""The memory tools (native tools over the memory REST API): mem_save, mem_search and
mem_context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, Field

from agentops_services.runtime.memory_client import MemoryClient, MemoryUnavailableError
from agentops_services.runtime.tooling import ToolContext, ToolOutcome, TypedTool
from agentops_services.runtime.tools.files import Arguments


@dataclass
class MemoryTool:
    memory: MemoryClient
    tool_type: ClassVar[str] = "memory"
    ui: ClassVar[str | None] = "memory"


class SaveArguments(Arguments):
    type: str = "discovery"
    """decision, discovery, bugfix, pattern, architecture, config, learning or preference."""
    title: str = Field(min_length=1, max_length=500)
    """Short, searchable title."""
    content: str = Field(min_length=1)
    """What was learned, self-contained, including why."""
    tags: list[str] | None = Field(None, max_length=20)
    """A few lowercase tags."""


@dataclass
class MemSaveTool(MemoryTool, TypedTool[SaveArguments]):
    name: ClassVar[str] = "mem_save"
    description: ClassVar[str] = (
        "Save something worth remembering across conversations (a decision, a fix, a "
        "discovery) to long-term memory."
    )
    arguments: ClassVar[type[BaseModel]] = SaveArguments

    async def call(self, arguments: SaveArguments, context: ToolContext) -> ToolOutcome:
        try:
            result = await self.memory.save(
                arguments.type, arguments.title, arguments.content, tags=arguments.tags
            )
        except (MemoryUnavailableError, ValueError) as exc:
            return ToolOutcome.error(f"failed to save memory: {exc}")
        metadata = {"id": result.id, "action": result.action, "type": arguments.type}
        return ToolOutcome(f"Saved [{arguments.type}] {arguments.title}", metadata=metadata)


class SearchArguments(Arguments):
    query: str = Field(min_length=1)
    """Words to look for."""
    limit: int = Field(10, ge=1, le=50)
    """Most results to return."""


@dataclass
class MemSearchTool(MemoryTool, TypedTool[SearchArguments]):
    name: ClassVar[str] = "mem_search"
    description: ClassVar[str] = "Search long-term memory of this project."
    arguments: ClassVar[type[BaseModel]] = SearchArguments
    parallel_safe: ClassVar[bool] = True

    async def call(self, arguments: SearchArguments, context: ToolContext) -> ToolOutcome:
        try:
            hits = await self.memory.search(arguments.query, arguments.limit)
        except MemoryUnavailableError as exc:
            return ToolOutcome.error(f"memory search failed: {exc}")
        if not hits:
            return ToolOutcome("No memories found matching the query.", metadata={"count": 0})
        lines = [f"Found {len(hits)} memories:", ""]
        for n, hit in enumerate(hits, 1):
            lines += [
                f"{n}. [{hit.type}] {hit.title} (rank: {hit.rank:.1f})",
                f"   {hit.content}",
                "",
            ]
        return ToolOutcome("\n".join(lines).rstrip(), metadata={"count": len(hits)})


class ContextArguments(Arguments):
    limit: int = Field(5, ge=1, le=50)
    """Most memories to return."""


@dataclass
class MemContextTool(MemoryTool, TypedTool[ContextArguments]):
    name: ClassVar[str] = "mem_context"
    description: ClassVar[str] = "Recent sessions and memories of this project."
    arguments: ClassVar[type[BaseModel]] = ContextArguments
    parallel_safe: ClassVar[bool] = True

    async def call(self, arguments: ContextArguments, context: ToolContext) -> ToolOutcome:
        try:
            block = await self.memory.context(None, arguments.limit)
        except MemoryUnavailableError as exc:
            return ToolOutcome.error(f"memory context failed: {exc}")
        return ToolOutcome(block or "No recent memory context available.")


def memory_tools(memory: MemoryClient) -> list[MemSaveTool | MemSearchTool | MemContextTool]:
    return [MemSaveTool(memory), MemSearchTool(memory), MemContextTool(memory)]
