"""The MCP gateway: one MCP server, stdio child (spawn) or remote endpoint (proxy), served over
streamable HTTP at /mcp with the agent's allow/deny policy applied to every tool listing and
call, and a /health that says whether the server behind it is reachable."""
