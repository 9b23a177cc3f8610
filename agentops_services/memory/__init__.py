"""The memory service: SQLite + FTS5 store, REST API on port 7437, MCP endpoint, tracing."""
