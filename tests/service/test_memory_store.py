"""The memory store on a real SQLite file: dedup tiers with a hand-moved clock, topic upserts,
supersede links, deletes that keep the full-text index sound, budgets, and schema upgrades."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agentops_services.api.memory import (
    ExportData,
    ObservationCreate,
    ObservationPatch,
    TranscriptMessage,
)
from agentops_services.memory import schema
from agentops_services.memory.store import PRAGMAS, MemoryStore, NotFoundError, migrate_file
from tests.service.conftest import Clock


def obs(**overrides: object) -> ObservationCreate:
    data = {
        "session_id": "s1",
        "type": "decision",
        "title": "Use WAL",
        "content": "Readers proceed during writes.",
        "project": "infra",
    }
    return ObservationCreate.model_validate(data | overrides)


def fts_integrity(path: Path) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute(
            "INSERT INTO observations_fts(observations_fts, rank) VALUES ('integrity-check', 1)"
        )
    finally:
        db.close()


async def test_first_write_creates(store: MemoryStore) -> None:
    result = await store.add_observation(obs())
    assert (result.action, result.revision_count, result.duplicate_count) == ("created", 1, 1)


async def test_duplicate_within_the_window_is_counted_not_stored(
    store: MemoryStore, clock: Clock
) -> None:
    first = await store.add_observation(obs())
    clock.advance(minutes=14, seconds=59)
    again = await store.add_observation(obs(content="  readers   PROCEED during writes. "))
    assert (again.id, again.action, again.duplicate_count) == (first.id, "deduplicated", 2)
    assert len(await store.recent_observations("infra", None, None, 10)) == 1


async def test_duplicate_after_the_window_is_a_new_row(store: MemoryStore, clock: Clock) -> None:
    """Upstream compared timestamps as text and deduplicated across the whole UTC day."""
    first = await store.add_observation(obs())
    clock.advance(minutes=15, seconds=1)
    later = await store.add_observation(obs())
    assert later.action == "created"
    assert later.id != first.id


async def test_dedup_needs_same_type_title_project_and_scope(store: MemoryStore) -> None:
    await store.add_observation(obs())
    for change in (
        {"title": "use wal"},
        {"type": "bugfix"},
        {"project": "other"},
        {"scope": "global"},
    ):
        assert (await store.add_observation(obs(**change))).action == "created", change


async def test_topic_key_updates_in_place(store: MemoryStore) -> None:
    first = await store.add_observation(obs(topic_key="db/journal", content="DELETE mode"))
    second = await store.add_observation(
        obs(topic_key="db/journal", title="Journal mode", content="WAL mode")
    )
    assert (second.id, second.action, second.revision_count) == (first.id, "updated", 2)
    stored = await store.get_observation(first.id)
    assert (stored.title, stored.content, stored.revision_count) == ("Journal mode", "WAL mode", 2)
    assert [hit.id for hit in await store.search("DELETE", "infra", None, None, 10)] == []
    assert [hit.id for hit in await store.search("WAL", "infra", None, None, 10)] == [first.id]


async def test_projects_are_case_insensitive_everywhere(store: MemoryStore) -> None:
    await store.create_session("s1", "InFra")
    await store.add_observation(obs(project="INFRA"))
    assert [s.project for s in await store.recent_sessions("Infra", 5)] == ["infra"]
    assert len(await store.recent_observations("iNfRa", None, None, 5)) == 1
    assert len(await store.search("readers", "INFRA", None, None, 5)) == 1
    assert len((await store.context("Infra", None, None, 5)).recent_observations) == 1
    assert (await store.stats("INFRA")).total_observations == 1


async def test_observation_for_an_unknown_session_creates_it(store: MemoryStore) -> None:
    """Foreign keys are enforced, so the session is made on the fly rather than refused."""
    await store.add_observation(obs(session_id="never-started"))
    assert [s.id for s in await store.recent_sessions("infra", 5)] == ["never-started"]


async def test_supersede_retires_the_old_fact(store: MemoryStore) -> None:
    old = await store.add_observation(
        obs(title="Pool size", content="The pool holds 10 connections.")
    )
    new = await store.add_observation(
        obs(title="Pool size", content="The pool holds 40 connections.", supersedes=old.id)
    )
    assert (await store.get_observation(old.id)).superseded_by == new.id
    assert (await store.get_observation(new.id)).supersedes == old.id
    context = await store.context("infra", None, "how many connections does the pool hold", 5)
    assert [o.id for o in context.recent_observations] == [new.id]
    assert [h.id for h in await store.search("pool connections", "infra", None, None, 5)] == [
        new.id
    ]
    with pytest.raises(NotFoundError, match="observation 999 not found in project"):
        await store.add_observation(obs(title="x", content="y", supersedes=999))
    assert len(await store.recent_observations("infra", None, None, 10)) == 1, (
        "the refused write left nothing"
    )


async def test_soft_and_hard_deletes_keep_the_index_sound(store: MemoryStore) -> None:
    kept = await store.add_observation(obs(title="kept", content="alpha beta"))
    soft = await store.add_observation(obs(title="soft", content="alpha gamma"))
    await store.delete_observation(soft.id, hard=False)
    assert [h.id for h in await store.search("alpha", "infra", None, None, 10)] == [kept.id]
    with pytest.raises(NotFoundError):
        await store.get_observation(soft.id)
    with pytest.raises(NotFoundError):
        await store.delete_observation(soft.id, hard=False)
    await store.delete_observation(soft.id, hard=True)  # a soft-deleted row, hard-deleted
    await store.update_observation(kept.id, ObservationPatch(content="alpha delta"))
    fts_integrity(store.path)
    with pytest.raises(NotFoundError):
        await store.delete_observation(soft.id, hard=True)


async def test_patch_changes_only_given_fields_and_reindexes(store: MemoryStore) -> None:
    created = await store.add_observation(obs(tags=["sqlite"]))
    patched = await store.update_observation(created.id, ObservationPatch(title="Use WAL journal"))
    assert (patched.title, patched.content, patched.tags) == (
        "Use WAL journal",
        "Readers proceed during writes.",
        ["sqlite"],
    )
    assert [h.id for h in await store.search("journal", "infra", None, None, 5)] == [created.id]
    with pytest.raises(NotFoundError):
        await store.update_observation(999, ObservationPatch(title="x"))


async def test_context_trims_to_the_token_budget(store: MemoryStore) -> None:
    for i in range(5):
        await store.add_observation(obs(title=f"fact {i}", content="x" * 200 + f" {i}"))
    full = await store.context("infra", None, None, 5)
    assert len(full.recent_observations) == 5
    trimmed = await store.context("infra", None, None, 5, budget_tokens=120)
    assert 1 <= len(trimmed.recent_observations) < 5
    assert trimmed.tokens is not None and trimmed.tokens <= 120
    assert [o.id for o in trimmed.recent_observations] == [o.id for o in full.recent_observations][
        : len(trimmed.recent_observations)
    ]


async def test_context_without_query_is_by_recency_and_includes_summaries(
    store: MemoryStore, clock: Clock
) -> None:
    await store.create_session("old", "infra")
    await store.end_session("old", [TranscriptMessage(role="user", content="fix the pool")])
    ids = []
    for i in range(3):
        clock.advance(seconds=1)
        ids.append((await store.add_observation(obs(title=f"t{i}", content=f"c{i}"))).id)
    context = await store.context("infra", None, None, 2)
    assert [o.id for o in context.recent_observations] == [ids[2], ids[1]]
    assert {o.method for o in context.recent_observations} == {"recency"}
    assert (
        context.recent_sessions[0].summary
        == "Session: 1 messages (1 user, 0 assistant). Started with: fix the pool"
    )


async def test_context_counts_accesses(store: MemoryStore) -> None:
    created = await store.add_observation(obs())
    await store.context("infra", None, "readers", 5)
    await store._flush_accesses()
    db = sqlite3.connect(store.path)
    assert (
        db.execute("SELECT access_count FROM observations WHERE id = ?", (created.id,)).fetchone()[
            0
        ]
        == 1
    )


async def test_end_session_of_unknown_session_is_not_found(store: MemoryStore) -> None:
    with pytest.raises(NotFoundError):
        await store.end_session("nope", [])


async def test_timeline_orders_by_time_and_id(store: MemoryStore, clock: Clock) -> None:
    ids = [(await store.add_observation(obs(title=f"t{i}", content=f"c{i}"))).id for i in range(6)]
    clock.advance(seconds=5)
    ids.append((await store.add_observation(obs(title="later", content="later"))).id)
    entries = await store.timeline(ids[3], before=2, after=2)
    assert [e.id for e in entries] == ids[1:6]


async def test_export_and_import_round_trip(
    tmp_path: Path, store: MemoryStore, clock: Clock
) -> None:
    await store.create_session("s1", "infra")
    old = await store.add_observation(obs(title="a", content="first", tags=["x"]))
    await store.add_observation(
        obs(title="b", content="second", supersedes=old.id, topic_key="k/v")
    )
    await store.end_session("s1", [TranscriptMessage(role="user", content="hi")])
    exported = await store.export(None)
    async with MemoryStore(tmp_path / "copy.db", clock=clock) as copy:
        result = await copy.import_data(ExportData.model_validate(exported.model_dump()))
        again = await copy.export(None)
    assert (result.imported_sessions, result.imported_observations) == (1, 2)

    def strip(data: ExportData) -> list[dict[str, object]]:
        return [
            o.model_dump(exclude={"id", "supersedes", "superseded_by"}) for o in data.observations
        ]

    assert strip(again) == strip(exported)
    assert again.sessions == exported.sessions
    new_ids = [o.id for o in again.observations]
    assert again.observations[1].supersedes == new_ids[0]
    assert again.observations[0].superseded_by == new_ids[1]


async def test_an_upstream_database_upgrades_in_place(tmp_path: Path, clock: Clock) -> None:
    """A file written by the Go service (schema 1, no schema_version, mixed-case project) is
    recognised, upgraded, and its rows stay searchable."""
    path = tmp_path / "upstream.db"
    db = sqlite3.connect(path, isolation_level=None)
    for statement in schema._statements(schema.MIGRATIONS[0]):
        db.execute(statement)
    db.execute(
        "INSERT INTO sessions (id, project, started_at) VALUES ('s1', 'Infra', '2026-04-01T00:00:00Z')"
    )
    db.execute(
        "INSERT INTO observations (session_id, type, title, content, project, normalized_hash, last_seen_at, created_at, updated_at)"
        " VALUES ('s1', 'decision', 'Old fact', 'written by the go service', 'Infra', 'h', '2026-04-01T00:00:00Z', '2026-04-01T00:00:00Z', '2026-04-01T00:00:00Z')"
    )
    db.close()
    assert schema.current_version(sqlite3.connect(path)) == 1
    async with MemoryStore(path, clock=clock) as store:
        hits = await store.search("go service", "infra", None, None, 5)
        assert [h.title for h in hits] == ["Old fact"]
        assert [s.project for s in await store.recent_sessions("infra", 5)] == ["infra"]
    assert schema.current_version(sqlite3.connect(path)) == schema.SCHEMA_VERSION
    fts_integrity(path)


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (99)")
    db.commit()
    db.close()
    with pytest.raises(RuntimeError, match="schema version 99 is newer"):
        await MemoryStore(path).open()


def test_pragmas_are_really_on(tmp_path: Path) -> None:
    """Upstream asked for WAL, foreign keys and a busy timeout in a DSN its driver ignored."""
    path = tmp_path / "m.db"
    migrate_file(path)
    db = sqlite3.connect(path)
    for pragma in PRAGMAS:
        db.execute(pragma)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
