"""The object store's SQLite file: one row per object and the store's resourceVersion counter.

Each function is one unit of plain sqlite3 code, run on the connection's thread in one hop
(`sqlite_pool.on_thread`). A write and the counter it advances commit in one transaction, so
after a crash the counter is never behind a stored object's resourceVersion.

Durability is the memory store's: WAL with synchronous=NORMAL; a committed write survives the
process being killed, only a power loss can take the last ones.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from agentops_services.local.kinds import Key, Object

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    resource_version INTEGER NOT NULL
);
INSERT OR IGNORE INTO counter (id, resource_version) VALUES (1, 0);
"""


class StoreFileError(Exception):
    """The store's file cannot be used (not a database, written by a newer AgentOps); the
    message names the file and says why."""


@dataclass(frozen=True)
class StoredRow:
    object: Object
    source: str


def prepare(db: sqlite3.Connection) -> None:
    """Settings and schema; refuses a file written by a newer version."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreFileError(
            f"written by a newer AgentOps (schema {version}, this one knows {SCHEMA_VERSION})"
        )
    db.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")


def load(db: sqlite3.Connection) -> tuple[int, list[StoredRow]]:
    """The counter and every object."""
    (resource_version,) = db.execute("SELECT resource_version FROM counter").fetchone()
    rows = db.execute("SELECT body, source FROM objects").fetchall()
    return resource_version, [StoredRow(json.loads(body), source) for body, source in rows]


def put(db: sqlite3.Connection, key: Key, source: str, obj: Object, resource_version: int) -> None:
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    with db:
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO objects (kind, name, source, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, name) DO UPDATE SET source = excluded.source, body = excluded.body",
            (*key, source, body),
        )
        _advance(db, resource_version)


def remove(db: sqlite3.Connection, key: Key, resource_version: int) -> None:
    with db:
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM objects WHERE kind = ? AND name = ?", key)
        _advance(db, resource_version)


def _advance(db: sqlite3.Connection, resource_version: int) -> None:
    db.execute("UPDATE counter SET resource_version = ? WHERE id = 1", (resource_version,))
