"""The memory database's schema, as numbered migrations applied in order.

Version 1 is the upstream (Go) service's schema, so a database file it wrote is recognised (it
has the tables but no `schema_version`) and upgraded in place. Later versions are ours.
"""

from __future__ import annotations

import sqlite3

_FTS_COLUMNS = "title, content, type, project, topic_key"
"""Upstream's full-text columns (schema 1)."""
_SEARCHED = "title, content, topic_key"
"""Ours (schema 2 on): the columns queries search."""

MIGRATIONS: tuple[str, ...] = (
    # 1: upstream agentops-memory.
    f"""
    CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        summary TEXT,
        message_count INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS idx_sessions_project ON sessions(project);
    CREATE TABLE IF NOT EXISTS observations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        type TEXT NOT NULL,
        title TEXT NOT NULL,
        content TEXT NOT NULL,
        tags TEXT,
        project TEXT NOT NULL,
        scope TEXT NOT NULL DEFAULT 'project',
        topic_key TEXT,
        normalized_hash TEXT,
        revision_count INTEGER NOT NULL DEFAULT 1,
        duplicate_count INTEGER NOT NULL DEFAULT 1,
        last_seen_at TEXT NOT NULL,
        promoted_to TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        deleted_at TEXT
    );
    CREATE INDEX IF NOT EXISTS idx_obs_project ON observations(project) WHERE deleted_at IS NULL;
    CREATE INDEX IF NOT EXISTS idx_obs_type ON observations(type) WHERE deleted_at IS NULL;
    CREATE INDEX IF NOT EXISTS idx_obs_hash ON observations(normalized_hash)
        WHERE deleted_at IS NULL;
    CREATE INDEX IF NOT EXISTS idx_obs_session ON observations(session_id);
    CREATE INDEX IF NOT EXISTS idx_obs_topic ON observations(topic_key)
        WHERE topic_key IS NOT NULL AND deleted_at IS NULL;
    CREATE UNIQUE INDEX IF NOT EXISTS idx_obs_topic_unique
        ON observations(topic_key, project, scope)
        WHERE topic_key IS NOT NULL AND deleted_at IS NULL;
    CREATE VIRTUAL TABLE IF NOT EXISTS observations_fts USING fts5(
        {_FTS_COLUMNS}, content='observations', content_rowid='id', tokenize='porter unicode61'
    );
    CREATE TRIGGER IF NOT EXISTS observations_ai AFTER INSERT ON observations BEGIN
        INSERT INTO observations_fts(rowid, {_FTS_COLUMNS})
        VALUES (new.id, new.title, new.content, new.type, new.project, new.topic_key);
    END;
    CREATE TRIGGER IF NOT EXISTS observations_ad AFTER DELETE ON observations BEGIN
        INSERT INTO observations_fts(observations_fts, rowid, {_FTS_COLUMNS})
        VALUES ('delete', old.id, old.title, old.content, old.type, old.project, old.topic_key);
    END;
    CREATE TRIGGER IF NOT EXISTS observations_au AFTER UPDATE ON observations BEGIN
        INSERT INTO observations_fts(observations_fts, rowid, {_FTS_COLUMNS})
        VALUES ('delete', old.id, old.title, old.content, old.type, old.project, old.topic_key);
        INSERT INTO observations_fts(rowid, {_FTS_COLUMNS})
        SELECT new.id, new.title, new.content, new.type, new.project, new.topic_key
        WHERE new.deleted_at IS NULL;
    END;
    """,
    # 2: relevance bookkeeping, supersede links, case-insensitive projects. The full-text index
    # is rebuilt over the columns queries search (title, content, topic_key): upstream also
    # indexed type and project, whose tokens occur in every row, so every insert grew the
    # longest posting lists and every relevance query matched project names. Its triggers never
    # ask FTS5 to delete a row it does not hold (upstream's did, for soft-deleted rows, which
    # corrupts an external-content index), and only indexed columns re-index on update, so
    # counting an access or a duplicate does not rewrite the index. Indexes shaped for the
    # queries the service runs replace upstream's single-column ones (every index slows every
    # write); idx_obs_rank lets a search filter and tie-break matches without reading their text.
    f"""
    ALTER TABLE observations ADD COLUMN access_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE observations ADD COLUMN last_accessed_at TEXT;
    ALTER TABLE observations ADD COLUMN supersedes INTEGER REFERENCES observations(id);
    ALTER TABLE observations ADD COLUMN superseded_by INTEGER REFERENCES observations(id);
    UPDATE sessions SET project = lower(project) WHERE project != lower(project);
    UPDATE observations SET project = lower(project) WHERE project != lower(project);
    DROP TRIGGER IF EXISTS observations_ai;
    DROP TRIGGER IF EXISTS observations_ad;
    DROP TRIGGER IF EXISTS observations_au;
    DROP TABLE IF EXISTS observations_fts;
    CREATE VIRTUAL TABLE observations_fts USING fts5(
        {_SEARCHED}, content='observations', content_rowid='id', tokenize='porter unicode61'
    );
    CREATE TRIGGER observations_ai AFTER INSERT ON observations WHEN new.deleted_at IS NULL BEGIN
        INSERT INTO observations_fts(rowid, {_SEARCHED})
        VALUES (new.id, new.title, new.content, new.topic_key);
    END;
    CREATE TRIGGER observations_ad AFTER DELETE ON observations WHEN old.deleted_at IS NULL BEGIN
        INSERT INTO observations_fts(observations_fts, rowid, {_SEARCHED})
        VALUES ('delete', old.id, old.title, old.content, old.topic_key);
    END;
    CREATE TRIGGER observations_au
    AFTER UPDATE OF title, content, topic_key, deleted_at ON observations BEGIN
        INSERT INTO observations_fts(observations_fts, rowid, {_SEARCHED})
        SELECT 'delete', old.id, old.title, old.content, old.topic_key
        WHERE old.deleted_at IS NULL;
        INSERT INTO observations_fts(rowid, {_SEARCHED})
        SELECT new.id, new.title, new.content, new.topic_key
        WHERE new.deleted_at IS NULL;
    END;
    INSERT INTO observations_fts(rowid, {_SEARCHED})
        SELECT id, title, content, topic_key FROM observations WHERE deleted_at IS NULL;
    CREATE INDEX idx_obs_recent ON observations(project, created_at DESC, id DESC)
        WHERE deleted_at IS NULL;
    CREATE INDEX idx_obs_dedup ON observations(normalized_hash, project, scope, created_at)
        WHERE deleted_at IS NULL;
    DROP INDEX IF EXISTS idx_obs_project;
    DROP INDEX IF EXISTS idx_obs_type;
    DROP INDEX IF EXISTS idx_obs_hash;
    DROP INDEX IF EXISTS idx_obs_topic;
    CREATE INDEX idx_sessions_recent ON sessions(project, started_at DESC);
    CREATE INDEX idx_obs_rank
        ON observations(id, project, scope, type, access_count, updated_at)
        WHERE deleted_at IS NULL AND superseded_by IS NULL;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def current_version(db: sqlite3.Connection) -> int:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_version" in tables:
        row = db.execute("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0
    return 1 if "observations" in tables else 0


def migrate(db: sqlite3.Connection) -> int:
    """Bring the database to SCHEMA_VERSION, one transaction per migration; returns the version
    it started from. Refuses a database newer than this code."""
    start = current_version(db)
    if start > SCHEMA_VERSION:
        raise RuntimeError(
            f"database schema version {start} is newer than this agentops ({SCHEMA_VERSION})"
        )
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    for version in range(start + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[version - 1]):
                db.execute(statement)
            db.execute("DELETE FROM schema_version")
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return start


def _statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s.rstrip(";").strip()]
