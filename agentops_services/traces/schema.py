"""The trace store's SQLite schema, connection settings and migrations.

Four tables: `spans` (one row a span: the columns TraceQL tests and its attributes as a JSON
object), `span_payloads` (its OTLP JSON and protobuf, by the span's row id: kept apart so a
search's scan reads narrow rows, not kilobytes of payload per span), `origins` (a resource and
scope shared by many spans) and `traces` (a summary per trace, kept current on every write,
which search lists and retention orders). Spans of a trace are found through the
unique index on (trace_id, span_id), which also makes a re-sent span a no-op.

There are no foreign keys: the single writer keeps the tables consistent, and deleting a
trace's thousands of spans should not pay for checks on each.
"""

from __future__ import annotations

import sqlite3

from agentops_services.traces.traceql_sql import REGEX_FUNCTION, regex_match

BUSY_TIMEOUT_MS = 5000
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # A committed export survives the process dying; only a power loss can lose the last ones.
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA cache_size=-32000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA mmap_size=268435456",
)
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE origins (
        id INTEGER PRIMARY KEY,
        key BLOB NOT NULL UNIQUE,
        resource_key BLOB NOT NULL,
        resource_json TEXT NOT NULL,
        scope_json TEXT NOT NULL,
        resource_proto BLOB NOT NULL,
        scope_proto BLOB NOT NULL,
        resource_attrs TEXT NOT NULL,
        service_name TEXT NOT NULL,
        last_used_ns INTEGER NOT NULL
    );
    CREATE TABLE spans (
        id INTEGER PRIMARY KEY,
        trace_id BLOB NOT NULL,
        span_id BLOB NOT NULL,
        parent_id BLOB,
        origin_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        kind INTEGER NOT NULL,
        status_code INTEGER NOT NULL,
        status_message TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        size INTEGER NOT NULL,
        attrs TEXT NOT NULL
    );
    CREATE UNIQUE INDEX spans_by_trace ON spans(trace_id, span_id);
    CREATE TABLE span_payloads (
        span INTEGER PRIMARY KEY,
        body TEXT NOT NULL,
        proto BLOB NOT NULL
    );
    CREATE TABLE traces (
        trace_id BLOB PRIMARY KEY,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        root_service TEXT,
        root_name TEXT,
        span_count INTEGER NOT NULL,
        error_count INTEGER NOT NULL,
        size INTEGER NOT NULL,
        services TEXT NOT NULL,
        first_received_ns INTEGER NOT NULL,
        received_ns INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX traces_by_start ON traces(start_ns);
    CREATE INDEX traces_by_received ON traces(received_ns);
    """,
)


def configure(db: sqlite3.Connection) -> None:
    """Pragmas and the TraceQL regex function, on every connection."""
    for pragma in PRAGMAS:
        db.execute(pragma)
    db.create_function(REGEX_FUNCTION, 2, regex_match, deterministic=True)


def migrate(db: sqlite3.Connection) -> int:
    """Apply the migrations the file has not had; returns the version it had."""
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"the trace database is schema version {version}, newer than this AgentOps knows "
            f"({len(MIGRATIONS)}); use a newer AgentOps or another --db file"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        db.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version={number}; COMMIT;")
    return version
