"""The memory MCP endpoint, driven by the MCP SDK's own client over streamable HTTP."""

from __future__ import annotations

from mcp import Client
from mcp.types import TextContent

from tests.service.conftest import MemoryService


def text(result: object) -> str:
    content = result.content  # type: ignore[attr-defined]
    return "".join(part.text for part in content if isinstance(part, TextContent))


async def test_mcp_tools_save_search_get_delete(memory: MemoryService) -> None:
    async with Client(f"{memory.url}/mcp") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {"mem_save", "mem_search", "mem_context", "mem_get", "mem_delete"}

        saved = await client.call_tool(
            "mem_save",
            {
                "title": "Canary first",
                "content": "Always deploy payments as a canary.",
                "type": "decision",
                "project": "Payments",
                "tags": ["deploy"],
            },
        )
        assert text(saved) == "Saved [decision] Canary first (id 1, created)"

        found = await client.call_tool(
            "mem_search", {"query": "how do we deploy payments", "project": "payments"}
        )
        assert "1. [decision] Canary first (id 1)" in text(found)

        context = await client.call_tool("mem_context", {"project": "payments", "query": "deploy"})
        assert "- [decision] Canary first: Always deploy payments as a canary." in text(context)

        got = await client.call_tool("mem_get", {"id": 1})
        assert text(got).startswith("[decision] Canary first (id 1, project payments)")

        assert text(await client.call_tool("mem_delete", {"id": 1})) == "Deleted memory 1"
        missing = await client.call_tool("mem_get", {"id": 1})
        assert missing.is_error
        assert "observation 1 not found" in text(missing)

        invalid = await client.call_tool("mem_save", {"title": " ", "content": "x"})
        assert invalid.is_error
        assert "title: is required" in text(invalid)
    rest = (await memory.client.get("/stats")).json()
    assert rest["projects"] == ["payments"], "the MCP tools write the same store as the REST API"
