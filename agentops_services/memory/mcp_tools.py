"""The memory service's MCP endpoint: the seed's mem_save / mem_search tools and friends, for
any MCP client (agents that do not use the runtime's built-in memory tools, editors, IDEs)."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, ValidationError

from agentops_services import __version__
from agentops_services.api.memory import ObservationCreate
from agentops_services.memory.store import MemoryStore, NotFoundError

DEFAULT_PROJECT = "default"
MCP_SESSION_ID = "mcp"


def memory_mcp_server(store: MemoryStore) -> MCPServer:
    server = MCPServer(
        "agentops-memory",
        version=__version__,
        log_level="WARNING",  # the SDK installs a root log handler at this level if none exists
        instructions=(
            "Long-term memory of decisions, fixes and discoveries. Search before you act "
            "(mem_search, mem_context); save what the next person or agent should know (mem_save)."
        ),
    )

    @server.tool()
    async def mem_save(
        title: Annotated[str, Field(description="short, searchable title")],
        content: Annotated[str, Field(description="what happened and why, self-contained")],
        type: Annotated[
            str, Field(description="decision, bugfix, discovery, pattern, config, ...")
        ] = "discovery",
        project: str = DEFAULT_PROJECT,
        tags: list[str] | None = None,
        topic_key: Annotated[
            str | None, Field(description="stable key: a later save updates it")
        ] = None,
        scope: str = "project",
        supersedes: Annotated[
            int | None, Field(description="id of a memory this one replaces")
        ] = None,
    ) -> str:
        """Save a memory (a topic_key updates the memory with that key; a duplicate within 15
        minutes is counted, not stored twice)."""
        try:
            request = ObservationCreate(
                session_id=MCP_SESSION_ID,
                type=type,
                title=title,
                content=content,
                project=project,
                tags=tags,
                topic_key=topic_key,
                scope=scope,
                supersedes=supersedes,
            )
            result = await store.add_observation(request)
        except ValidationError as exc:
            raise ToolError(_first_error(exc)) from None
        except NotFoundError as exc:
            raise ToolError(str(exc)) from None
        return f"Saved [{type}] {title} (id {result.id}, {result.action})"

    @server.tool()
    async def mem_search(query: str, project: str = DEFAULT_PROJECT, limit: int = 10) -> str:
        """Search memories; any word may match, best matches first."""
        hits = await store.search(query, project, None, None, max(1, min(limit, 100)))
        if not hits:
            return "No memories found matching the query."
        lines = [f"Found {len(hits)} memories:", ""]
        for i, hit in enumerate(hits, 1):
            lines += [f"{i}. [{hit.type}] {hit.title} (id {hit.id})", f"   {hit.content}", ""]
        return "\n".join(lines)

    @server.tool()
    async def mem_context(
        project: str = DEFAULT_PROJECT, query: str | None = None, limit: int = 5
    ) -> str:
        """Recent session summaries and the memories most relevant to `query`."""
        context = await store.context(project, None, query, max(1, min(limit, 50)))
        parts = []
        if context.recent_sessions:
            parts += [
                "<memory:sessions>",
                *(f"- {s.summary}" for s in context.recent_sessions),
                "</memory:sessions>",
            ]
        if context.recent_observations:
            parts += ["<memory:context>"]
            parts += [f"- [{o.type}] {o.title}: {o.content}" for o in context.recent_observations]
            parts += ["</memory:context>"]
        return "\n".join(parts) or "No recent memory context available."

    @server.tool()
    async def mem_get(id: int) -> str:
        """One memory, whole."""
        try:
            obs = await store.get_observation(id)
        except NotFoundError as exc:
            raise ToolError(str(exc)) from None
        tags = f"\ntags: {', '.join(obs.tags)}" if obs.tags else ""
        return (
            f"[{obs.type}] {obs.title} (id {obs.id}, project {obs.project}){tags}\n\n{obs.content}"
        )

    @server.tool()
    async def mem_delete(id: int, hard: bool = False) -> str:
        """Delete a memory (soft unless hard is true)."""
        try:
            await store.delete_observation(id, hard)
        except NotFoundError as exc:
            raise ToolError(str(exc)) from None
        return f"Deleted memory {id}" + (" permanently" if hard else "")

    return server


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
