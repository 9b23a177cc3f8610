"""The memory store's SQL, as plain synchronous units of work on one sqlite3 connection.

`store.py` runs each unit on its connection's thread in one hop; a unit that writes runs inside
one IMMEDIATE transaction, so it is all or nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from agentops_services.api.memory import (
    ExportData,
    ImportResult,
    Observation,
    ObservationCreate,
    ObservationPatch,
    ObservationWriteResult,
    SearchHit,
    Session,
    SessionEndResult,
    Stats,
    TimelineEntry,
)
from agentops_services.memory.relevance import SearchPlan, TermStatistics
from agentops_services.memory.text import normalized_hash, query_terms, topic_keys_in

CONTEXT_SESSIONS = 3
# bm25() weights per FTS column (title, content, topic_key): a title match counts four times a
# content match, a topic key twice.
BM25 = "bm25(observations_fts, 4.0, 1.0, 2.0)"


def ranked(
    db: sqlite3.Connection,
    plan: SearchPlan,
    where: str,
    params: Sequence[Any],
    limit: int,
    columns: str,
) -> list[sqlite3.Row]:
    """Live rows matching the plan, best BM25 first (then most used, then newest).

    `where` filters the candidates through the compact idx_obs_rank (alias `i`), so the
    hundreds of matches a query visits never load their text; only the best `limit` rows are
    read whole (alias `o`) for `columns`.
    """
    return db.execute(
        f"SELECT {columns}, t.rank FROM (SELECT i.id AS id, {BM25} AS rank,"
        " i.access_count AS used, i.updated_at AS changed FROM observations_fts"
        " JOIN observations i INDEXED BY idx_obs_rank ON i.id = observations_fts.rowid"
        f" WHERE observations_fts MATCH ? AND observations_fts.rowid > ? AND {where}"
        " ORDER BY rank, used DESC, changed DESC LIMIT ?) t"
        " JOIN observations o ON o.id = t.id ORDER BY t.rank, t.used DESC, t.changed DESC",
        (plan.match, plan.min_rowid, *params, limit),
    ).fetchall()


OBSERVATION_COLUMNS = (
    "id, session_id, type, title, content, tags, project, scope, topic_key, normalized_hash, "
    "revision_count, duplicate_count, last_seen_at, promoted_to, created_at, updated_at, "
    "supersedes, superseded_by"
)


class NotFoundError(LookupError):
    """The referenced record does not exist (or was deleted)."""

    def __init__(self, what: str, field: str | None = None) -> None:
        super().__init__(what)
        self.field = field


class ConflictError(ValueError):
    """The record would duplicate a live one where only one may be (a topic key)."""

    def __init__(self, what: str, field: str) -> None:
        super().__init__(what)
        self.field = field


def _one(db: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(sql, params).fetchone()
    return row


def filters(
    project: str | None, type_: str | None, scope: str | None, table: str = ""
) -> tuple[str, list[Any]]:
    """WHERE clause (live observations only) and its parameters."""
    prefix = f"{table}." if table else ""
    clauses = [f"{prefix}deleted_at IS NULL", f"{prefix}superseded_by IS NULL"]
    params: list[Any] = []
    for column, value in (
        ("project", project.lower() if project else None),
        ("type", type_),
        ("scope", scope),
    ):
        if value:
            clauses.append(f"{prefix}{column} = ?")
            params.append(value)
    return " AND ".join(clauses), params


# --- sessions --------------------------------------------------------------------------------


def create_session(db: sqlite3.Connection, session_id: str, project: str, now: str) -> Session:
    db.execute(
        "INSERT OR IGNORE INTO sessions (id, project, started_at) VALUES (?, ?, ?)",
        (session_id, project.lower(), now),
    )
    row = _one(db, "SELECT * FROM sessions WHERE id = ?", (session_id,))
    assert row is not None
    return session_from(row)


def end_session(
    db: sqlite3.Connection, session_id: str, summary: str, count: int, now: str
) -> SessionEndResult:
    cursor = db.execute(
        "UPDATE sessions SET ended_at = ?, summary = ?, message_count = ? WHERE id = ?",
        (now, summary, count, session_id),
    )
    if cursor.rowcount == 0:
        raise NotFoundError(f"session {session_id!r} not found")
    return SessionEndResult(session_id=session_id, summary=summary, message_count=count)


def recent_sessions(db: sqlite3.Connection, project: str | None, limit: int) -> list[Session]:
    where, params = ("WHERE project = ?", [project.lower()]) if project else ("", [])
    rows = db.execute(
        f"SELECT * FROM sessions {where} ORDER BY started_at DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [session_from(r) for r in rows]


# --- observation writes ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewObservation:
    """A write, prepared: normalised project and scope, hash, time and dedup cut-off."""

    request: ObservationCreate
    project: str
    scope: str
    digest: str
    tags: str | None
    now: str
    dedup_since: str
    session_known: bool = False
    """The session was seen to exist: no need to make sure of it again."""


def add_observation(db: sqlite3.Connection, new: NewObservation) -> ObservationWriteResult:
    """Three tiers: update in place by topic_key, count a duplicate seen since the dedup cut-off,
    or insert. The session is created on the fly if the client never made it."""
    request = new.request
    if request.supersedes is not None:
        _require_live(db, request.supersedes, new.project)
    if not new.session_known:
        db.execute(
            "INSERT OR IGNORE INTO sessions (id, project, started_at) VALUES (?, ?, ?)",
            (request.session_id, new.project, new.now),
        )
    result = _update_by_topic(db, new) or _count_duplicate(db, new) or _insert(db, new)
    if request.supersedes is not None:
        if request.supersedes == result.id:
            raise NotFoundError("an observation cannot supersede itself", "supersedes")
        db.execute(
            "UPDATE observations SET superseded_by = ? WHERE id = ?",
            (result.id, request.supersedes),
        )
        db.execute(
            "UPDATE observations SET supersedes = ? WHERE id = ?", (request.supersedes, result.id)
        )
    return result


def _update_by_topic(db: sqlite3.Connection, new: NewObservation) -> ObservationWriteResult | None:
    if not new.request.topic_key:
        return None
    r = new.request
    row = _one(
        db,
        "UPDATE observations SET type = ?, title = ?, content = ?, tags = ?, normalized_hash = ?,"
        " revision_count = revision_count + 1, last_seen_at = ?, updated_at = ?"
        " WHERE id = (SELECT id FROM observations WHERE topic_key = ? AND project = ? AND scope = ?"
        " AND deleted_at IS NULL ORDER BY updated_at DESC, id DESC LIMIT 1)"
        " RETURNING id, revision_count",
        (r.type, r.title, r.content, new.tags, new.digest, new.now, new.now, r.topic_key,
         new.project, new.scope),
    )  # fmt: skip
    if row is None:
        return None
    return ObservationWriteResult(
        id=row["id"], action="updated", revision_count=row["revision_count"], duplicate_count=1
    )


def _count_duplicate(db: sqlite3.Connection, new: NewObservation) -> ObservationWriteResult | None:
    row = _one(
        db,
        "UPDATE observations SET duplicate_count = duplicate_count + 1, last_seen_at = ?"
        " WHERE id = (SELECT id FROM observations INDEXED BY idx_obs_dedup"
        " WHERE normalized_hash = ? AND project = ?"
        " AND scope = ? AND type = ? AND title = ? AND deleted_at IS NULL AND created_at >= ?"
        " ORDER BY created_at DESC, id DESC LIMIT 1) RETURNING id, duplicate_count",
        (new.now, new.digest, new.project, new.scope, new.request.type, new.request.title,
         new.dedup_since),
    )  # fmt: skip
    if row is None:
        return None
    return ObservationWriteResult(
        id=row["id"],
        action="deduplicated",
        revision_count=1,
        duplicate_count=row["duplicate_count"],
    )


def _insert(db: sqlite3.Connection, new: NewObservation) -> ObservationWriteResult:
    r = new.request
    cursor = db.execute(
        "INSERT INTO observations (session_id, type, title, content, tags, project, scope,"
        " topic_key, normalized_hash, last_seen_at, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (r.session_id, r.type, r.title, r.content, new.tags, new.project, new.scope,
         r.topic_key or None, new.digest, new.now, new.now, new.now),
    )  # fmt: skip
    assert cursor.lastrowid is not None
    return ObservationWriteResult(
        id=cursor.lastrowid, action="created", revision_count=1, duplicate_count=1
    )


def _require_live(db: sqlite3.Connection, observation_id: int, project: str) -> None:
    row = _one(
        db,
        "SELECT id FROM observations WHERE id = ? AND project = ? AND deleted_at IS NULL",
        (observation_id, project),
    )
    if row is None:
        raise NotFoundError(
            f"observation {observation_id} not found in project {project!r}", "supersedes"
        )


def update_observation(
    db: sqlite3.Connection, observation_id: int, patch: ObservationPatch, now: str
) -> Observation:
    fields: dict[str, Any] = {"updated_at": now}
    if patch.type is not None:
        fields["type"] = patch.type
    if patch.title is not None:
        fields["title"] = patch.title
    if patch.content is not None:
        fields["content"] = patch.content
        fields["normalized_hash"] = normalized_hash(patch.content)
    if patch.tags is not None:
        fields["tags"] = json.dumps(patch.tags) if patch.tags else None
    assignments = ", ".join(f"{name} = ?" for name in fields)
    row = _one(
        db,
        f"UPDATE observations SET {assignments} WHERE id = ? AND deleted_at IS NULL"
        f" RETURNING {OBSERVATION_COLUMNS}",
        (*fields.values(), observation_id),
    )
    if row is None:
        raise NotFoundError(f"observation {observation_id} not found")
    return observation_from(row)


def delete_observation(db: sqlite3.Connection, observation_id: int, hard: bool, now: str) -> None:
    if hard:
        for column in ("superseded_by", "supersedes"):
            db.execute(
                f"UPDATE observations SET {column} = NULL WHERE {column} = ?",
                (observation_id,),
            )
        cursor = db.execute("DELETE FROM observations WHERE id = ?", (observation_id,))
    else:
        cursor = db.execute(
            "UPDATE observations SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
            (now, observation_id),
        )
    if cursor.rowcount == 0:
        raise NotFoundError(f"observation {observation_id} not found")


def count_accesses(db: sqlite3.Connection, ids: Sequence[int], now: str) -> None:
    marks = ", ".join("?" for _ in ids)
    db.execute(
        "UPDATE observations SET access_count = access_count + 1, last_accessed_at = ?"
        f" WHERE id IN ({marks})",
        (now, *ids),
    )


# --- observation reads -----------------------------------------------------------------------


def get_observation(db: sqlite3.Connection, observation_id: int) -> Observation:
    row = _one(
        db,
        f"SELECT {OBSERVATION_COLUMNS} FROM observations WHERE id = ? AND deleted_at IS NULL",
        (observation_id,),
    )
    if row is None:
        raise NotFoundError(f"observation {observation_id} not found")
    return observation_from(row)


def recent_observations(
    db: sqlite3.Connection, project: str | None, type_: str | None, scope: str | None, limit: int
) -> list[Observation]:
    where, params = filters(project, type_, scope)
    rows = db.execute(
        f"SELECT {OBSERVATION_COLUMNS} FROM observations WHERE {where}"
        " ORDER BY created_at DESC, id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [observation_from(r) for r in rows]


def search(
    db: sqlite3.Connection,
    statistics: TermStatistics,
    query: str,
    project: str | None,
    type_: str | None,
    scope: str | None,
    limit: int,
) -> list[SearchHit]:
    """Topic-key matches first (rank -1000), then BM25 over the query's telling terms, with a
    highlighted snippet of each match."""
    hits: dict[int, SearchHit] = {}
    where, params = filters(project, type_, scope, table="o")
    keys = topic_keys_in(query)
    if keys:
        like = " OR ".join("o.topic_key LIKE ?" for _ in keys)
        for row in db.execute(
            "SELECT o.id, o.type, o.title, o.content, o.topic_key FROM observations o"
            f" WHERE ({like}) AND {where} ORDER BY o.updated_at DESC LIMIT ?",
            (*(f"%{k}%" for k in keys), *params, limit),
        ):
            hits[row["id"]] = hit_from(row, rank=-1000.0)
    plan = statistics.plan(db, query_terms(query))
    if plan and len(hits) < limit:
        columns = "o.id, o.type, o.title, o.content, o.topic_key"
        candidates, candidate_params = filters(project, type_, scope, table="i")
        for row in ranked(db, plan, candidates, candidate_params, limit + len(hits), columns):
            if len(hits) < limit and row["id"] not in hits:
                hits[row["id"]] = hit_from(row, rank=row["rank"])
        _add_snippets(db, plan.match, hits)
    return list(hits.values())


def _add_snippets(db: sqlite3.Connection, match: str, hits: dict[int, SearchHit]) -> None:
    ranked_ids = [i for i, hit in hits.items() if hit.rank > -1000.0]
    if not ranked_ids:
        return
    marks = ", ".join("?" for _ in ranked_ids)
    for row in db.execute(
        "SELECT rowid, snippet(observations_fts, -1, '<mark>', '</mark>', '…', 24) AS snippet"
        f" FROM observations_fts WHERE observations_fts MATCH ? AND rowid IN ({marks})",
        (match, *ranked_ids),
    ):
        hits[row["rowid"]].snippet = row["snippet"]


@dataclass(frozen=True)
class ContextRows:
    """Candidate rows for a turn's context, each with how it was chosen, best first."""

    summaries: list[str]
    picked: list[tuple[sqlite3.Row, str]]


def context_rows(
    db: sqlite3.Connection,
    statistics: TermStatistics,
    project: str,
    scope: str | None,
    query: str,
    limit: int,
) -> ContextRows:
    """Session summaries, then memories by exact topic key, by BM25 relevance over any of the
    query's terms (recency and access count break ties), and by recency to fill `limit`."""
    summaries = [
        r["summary"]
        for r in db.execute(
            "SELECT summary FROM sessions WHERE project = ? AND summary IS NOT NULL"
            " AND summary != '' ORDER BY started_at DESC LIMIT ?",
            (project, CONTEXT_SESSIONS),
        )
    ]
    where, params = filters(project, None, scope, table="o")
    columns = "o.id, o.type, o.title, o.content"
    picked: dict[int, tuple[sqlite3.Row, str]] = {}

    def take(rows: Iterable[sqlite3.Row], method: str) -> None:
        for row in rows:
            if len(picked) < limit and row["id"] not in picked:
                picked[row["id"]] = (row, method)

    keys = topic_keys_in(query)
    if keys:
        marks = ", ".join("?" for _ in keys)
        take(
            db.execute(
                f"SELECT {columns} FROM observations o WHERE o.topic_key IN ({marks})"
                f" AND {where} ORDER BY o.updated_at DESC LIMIT ?",
                (*keys, *params, limit),
            ),
            "topic_key",
        )
    plan = statistics.plan(db, query_terms(query)) if query else None
    if plan and len(picked) < limit:
        candidates, candidate_params = filters(project, None, scope, table="i")
        take(ranked(db, plan, candidates, candidate_params, limit, columns), "fts5_bm25")
    if len(picked) < limit:
        take(
            db.execute(
                f"SELECT {columns} FROM observations o WHERE {where}"
                " ORDER BY o.created_at DESC, o.id DESC LIMIT ?",
                (*params, 2 * limit),
            ),
            "recency",
        )
    return ContextRows(summaries, list(picked.values()))


def timeline(
    db: sqlite3.Connection, observation_id: int, before: int, after: int
) -> list[TimelineEntry]:
    columns = "id, type, title, content, created_at"
    anchor = _one(
        db,
        f"SELECT {columns}, project FROM observations WHERE id = ?",
        (observation_id,),
    )
    if anchor is None:
        raise NotFoundError(f"observation {observation_id} not found", "observation_id")
    key = (anchor["project"], anchor["created_at"], anchor["created_at"], observation_id)
    older = db.execute(
        f"SELECT {columns} FROM observations WHERE project = ? AND deleted_at IS NULL"
        " AND (created_at < ? OR (created_at = ? AND id < ?))"
        " ORDER BY created_at DESC, id DESC LIMIT ?",
        (*key, before),
    ).fetchall()
    newer = db.execute(
        f"SELECT {columns} FROM observations WHERE project = ? AND deleted_at IS NULL"
        " AND (created_at > ? OR (created_at = ? AND id > ?)) ORDER BY created_at, id LIMIT ?",
        (*key, after),
    ).fetchall()
    return [
        TimelineEntry(
            id=r["id"],
            type=r["type"],
            title=r["title"],
            content=r["content"],
            created_at=r["created_at"],
        )
        for r in [*reversed(older), anchor, *newer]
    ]


def stats(db: sqlite3.Connection, project: str | None) -> Stats:
    params = (project.lower(),) if project else ()
    sessions = _one(
        db, "SELECT count(*) AS n FROM sessions" + (" WHERE project = ?" if project else ""), params
    )
    observations = _one(
        db,
        "SELECT count(*) AS n FROM observations WHERE deleted_at IS NULL"
        + (" AND project = ?" if project else ""),
        params,
    )
    projects = db.execute(
        "SELECT project FROM sessions UNION SELECT project FROM observations ORDER BY 1"
    ).fetchall()
    assert sessions is not None
    assert observations is not None
    return Stats(
        total_sessions=sessions["n"],
        total_observations=observations["n"],
        projects=[r["project"] for r in projects],
    )


# --- export and import -----------------------------------------------------------------------


def export(db: sqlite3.Connection, project: str | None, now: str) -> ExportData:
    params = (project.lower(),) if project else ()
    sessions = db.execute(
        "SELECT * FROM sessions"
        + (" WHERE project = ?" if project else "")
        + " ORDER BY started_at, id",
        params,
    ).fetchall()
    rows = db.execute(
        f"SELECT {OBSERVATION_COLUMNS} FROM observations WHERE deleted_at IS NULL"
        + (" AND project = ?" if project else "")
        + " ORDER BY created_at, id",
        params,
    ).fetchall()
    return ExportData(
        exported_at=now,
        sessions=[session_from(s) for s in sessions],
        observations=[observation_from(r) for r in rows],
    )


def import_data(db: sqlite3.Connection, data: ExportData) -> ImportResult:
    """Sessions are kept if they exist; observations get new ids and their supersede links
    follow them."""
    imported_sessions = 0
    for s in data.sessions:
        cursor = db.execute(
            "INSERT OR IGNORE INTO sessions (id, project, started_at, ended_at, summary,"
            " message_count) VALUES (?, ?, ?, ?, ?, ?)",
            (s.id, s.project.lower(), s.started_at, s.ended_at, s.summary, s.message_count),
        )
        imported_sessions += cursor.rowcount
    new_ids: dict[int, int] = {}
    for number, o in enumerate(data.observations):
        db.execute(
            "INSERT OR IGNORE INTO sessions (id, project, started_at) VALUES (?, ?, ?)",
            (o.session_id, o.project.lower(), o.created_at),
        )
        if o.topic_key and _live_topic(db, o):
            raise ConflictError(
                f"observation {o.id} has topic key {o.topic_key!r}, which a live memory of project "
                f"{o.project.lower()!r} ({o.scope}) already has: nothing was imported; delete "
                "that memory or leave this one out",
                f"observations.{number}.topic_key",
            )
        cursor = db.execute(
            "INSERT INTO observations (session_id, type, title, content, tags, project, scope,"
            " topic_key, normalized_hash, revision_count, duplicate_count, last_seen_at,"
            " promoted_to, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (o.session_id, o.type, o.title, o.content, json.dumps(o.tags) if o.tags else None,
             o.project.lower(), o.scope, o.topic_key,
             o.normalized_hash or normalized_hash(o.content),
             o.revision_count, o.duplicate_count, o.last_seen_at or o.created_at, o.promoted_to,
             o.created_at, o.updated_at),
        )  # fmt: skip
        assert cursor.lastrowid is not None
        new_ids[o.id] = cursor.lastrowid
    for o in data.observations:
        for column, target in (("supersedes", o.supersedes), ("superseded_by", o.superseded_by)):
            if target is not None and target in new_ids:
                db.execute(
                    f"UPDATE observations SET {column} = ? WHERE id = ?",
                    (new_ids[target], new_ids[o.id]),
                )
    return ImportResult(imported_sessions=imported_sessions, imported_observations=len(new_ids))


def _live_topic(db: sqlite3.Connection, o: Observation) -> bool:
    return (
        _one(
            db,
            "SELECT 1 FROM observations WHERE topic_key = ? AND project = ? AND scope = ?"
            " AND deleted_at IS NULL",
            (o.topic_key, o.project.lower(), o.scope),
        )
        is not None
    )


# --- rows to models --------------------------------------------------------------------------


def session_from(row: sqlite3.Row) -> Session:
    return Session(
        id=row["id"],
        project=row["project"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        summary=row["summary"],
        message_count=row["message_count"],
    )


def observation_from(row: sqlite3.Row) -> Observation:
    data = dict(row)
    data["tags"] = json.loads(data["tags"]) if data["tags"] else None
    return Observation.model_validate(data)


def hit_from(row: sqlite3.Row, rank: float, snippet: str | None = None) -> SearchHit:
    return SearchHit(
        id=row["id"],
        type=row["type"],
        title=row["title"],
        content=row["content"],
        rank=rank,
        topic_key=row["topic_key"],
        snippet=snippet,
    )
