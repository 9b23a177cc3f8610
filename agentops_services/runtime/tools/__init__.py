"""The agent's tools: built-ins (files, shell, web), memory tools and MCP tools."""
