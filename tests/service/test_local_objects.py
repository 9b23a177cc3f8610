"""The embedded object store on a real SQLite file: objects shaped as the API server shapes
them, generation and status semantics, what survives a restart, and watches that replay,
follow in order and are told to resync rather than grow without bound."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agentops_services.local.errors import (
    ConflictError,
    InvalidObjectError,
    NotFoundError,
    ResyncRequiredError,
)
from agentops_services.local.object_db import StoreFileError
from agentops_services.local.objects import API_SOURCE, ObjectStore, WatchEvent, merge_patch
from agentops_services.local.status import StatusSink
from agentops_services.local.store_sink import StoreStatusSink

SOURCE = "file:agents.yaml"


def agent(
    name: str = "helper", model: str = "anthropic/claude-sonnet-4-5", **meta: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "agents.agentops.io/v1alpha1",
        "kind": "Agent",
        "metadata": {"name": name, **meta},
        "spec": {"mode": "daemon", "model": model, "providerRefs": [{"name": "anthropic"}]},
    }


def run(name: str, agent_name: str = "helper") -> dict[str, Any]:
    return {
        "apiVersion": "agents.agentops.io/v1alpha1",
        "kind": "AgentRun",
        "metadata": {"name": name},
        "spec": {"agentRef": agent_name, "prompt": "Hello", "source": "console"},
    }


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "objects.db"


async def next_events(watch: Any, count: int) -> list[WatchEvent]:
    async with asyncio.timeout(5):
        return [await anext(watch) for _ in range(count)]


async def test_created_object_looks_like_a_cluster_object(db: Path) -> None:
    async with ObjectStore(db) as store:
        created = await store.apply(agent(labels={"team": "a"}, uid="ignored"), source=SOURCE)
    meta = created["metadata"]
    assert list(created) == ["apiVersion", "kind", "metadata", "spec"]
    assert meta["name"] == "helper"
    assert meta["namespace"] == "local"
    assert meta["uid"] != "ignored" and len(meta["uid"]) == 36
    assert meta["resourceVersion"] == "1"
    assert meta["generation"] == 1
    assert meta["creationTimestamp"].endswith("Z")
    assert meta["labels"] == {"team": "a"}


async def test_spec_change_bumps_generation_and_keeps_status(db: Path) -> None:
    async with ObjectStore(db) as store:
        await store.apply(agent(), source=SOURCE)
        await store.patch_status("Agent", "helper", {"phase": "Running", "observedGeneration": 1})
        relabelled = await store.apply(agent(labels={"x": "y"}), source=SOURCE)
        assert relabelled["metadata"]["generation"] == 1  # metadata only: same generation
        changed = await store.apply(agent(model="openai/gpt-4.1"), source=SOURCE)
        assert changed["metadata"]["generation"] == 2
        assert changed["status"] == {"phase": "Running", "observedGeneration": 1}
        assert "labels" not in changed["metadata"]
        assert changed["metadata"]["uid"] == relabelled["metadata"]["uid"]


async def test_applying_the_same_object_changes_nothing(db: Path) -> None:
    async with ObjectStore(db) as store:
        first = await store.apply(agent(), source=SOURCE)
        watch = store.watch()
        again = await store.apply(agent(), source=SOURCE)
        assert again == first
        assert store.resource_version == 1
        assert watch.pending == 0


async def test_status_is_a_merge_patch_checked_against_the_schema(db: Path) -> None:
    async with ObjectStore(db) as store:
        await store.apply(run("r1"), source=API_SOURCE)
        await store.patch_status("AgentRun", "r1", {"phase": "Running", "output": "half"})
        patched = await store.patch_status("AgentRun", "r1", {"output": None, "tokensUsed": 12})
        assert patched["status"] == {"phase": "Running", "tokensUsed": 12}
        with pytest.raises(InvalidObjectError) as refused:
            await store.patch_status("AgentRun", "r1", {"phase": "Sleeping"})
        assert refused.value.field == "status.phase"
        assert "Unsupported value" in refused.value.message
        assert store.get("AgentRun", "r1")["status"]["phase"] == "Running"  # type: ignore[index]
        replaced = await store.replace_status("AgentRun", "r1", {"phase": "Succeeded"})
        assert replaced["status"] == {"phase": "Succeeded"}


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    patch = {"a": "z", "c": {"f": None}, "l": [3], "n": {"x": None}}
    assert merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "l": [3], "n": {}}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}


async def test_stale_resource_version_is_a_conflict(db: Path) -> None:
    async with ObjectStore(db) as store:
        created = await store.apply(agent(), source=SOURCE)
        await store.patch_status("Agent", "helper", {"phase": "Running"})
        with pytest.raises(ConflictError) as stale:
            await store.apply(
                agent(model="openai/gpt-4.1"),
                source=SOURCE,
                expected_version=created["metadata"]["resourceVersion"],
            )
        assert stale.value.field == "metadata.resourceVersion"
        assert store.get("Agent", "helper")["spec"]["model"].startswith("anthropic")  # type: ignore[index]


async def test_deleting_an_agent_leaves_its_runs(db: Path) -> None:
    async with ObjectStore(db) as store:
        await store.apply(agent(), source=SOURCE)
        await store.create(run("helper-abcde"), source=API_SOURCE)
        deleted = await store.delete("Agent", "helper")
        assert deleted["metadata"]["resourceVersion"] == "3"
        assert store.get("Agent", "helper") is None
        assert [r["metadata"]["name"] for r in store.list("AgentRun")] == ["helper-abcde"]
        with pytest.raises(NotFoundError):
            await store.delete("Agent", "helper")
        with pytest.raises(ConflictError):
            await store.create(run("helper-abcde"), source=API_SOURCE)


async def test_restart_keeps_objects_status_sources_and_the_counter(db: Path) -> None:
    async with ObjectStore(db) as store:
        await store.apply(agent(), source=SOURCE)
        await store.create(run("helper-abcde"), source=API_SOURCE)
        await store.patch_status("AgentRun", "helper-abcde", {"phase": "Succeeded"})
        await store.apply(agent("gone"), source=SOURCE)
        await store.delete("Agent", "gone")
        before = store.list("AgentRun") + store.list("Agent")
        version = store.resource_version
    async with ObjectStore(db) as reopened:
        assert reopened.list("AgentRun") + reopened.list("Agent") == before
        assert reopened.source_of("AgentRun", "helper-abcde") == API_SOURCE
        assert reopened.source_of("Agent", "helper") == SOURCE
        assert reopened.resource_version == version == 5
        updated = await reopened.patch_status("Agent", "helper", {"phase": "Running"})
        assert updated["metadata"]["resourceVersion"] == "6"


def _written_by_a_newer_agentops(db: Path) -> None:
    with contextlib.closing(sqlite3.connect(db)) as newer:
        newer.execute("PRAGMA user_version=99")


def _not_a_database(db: Path) -> None:
    db.write_bytes(b"not a database, and long enough to be read as one" * 100)


async def test_a_file_the_store_cannot_use_is_refused_naming_it(db: Path) -> None:
    async with ObjectStore(db):
        pass
    _written_by_a_newer_agentops(db)
    with pytest.raises(StoreFileError, match=f"{re.escape(str(db))}.*newer AgentOps"):
        await ObjectStore(db).open()
    _not_a_database(db)
    with pytest.raises(StoreFileError, match=re.escape(str(db))):
        await ObjectStore(db).open()


async def test_watch_delivers_every_change_in_order(db: Path) -> None:
    async with ObjectStore(db) as store:
        watch = store.watch()
        await store.apply(agent(), source=SOURCE)
        await store.patch_status("Agent", "helper", {"phase": "Running"})
        await store.delete("Agent", "helper")
        events = await next_events(watch, 3)
    assert [(e.type, e.resource_version) for e in events] == [
        ("ADDED", 1),
        ("MODIFIED", 2),
        ("DELETED", 3),
    ]
    assert events[1].object["status"] == {"phase": "Running"}
    with pytest.raises(StopAsyncIteration):  # the store closed: the watch ended
        await anext(watch)


async def test_watch_resumes_from_a_version_in_the_history(db: Path) -> None:
    async with ObjectStore(db) as store:
        for name in ("a", "b", "c", "d"):
            await store.apply(agent(name), source=SOURCE)
        resumed = store.watch(since=2)
        await store.apply(agent("e"), source=SOURCE)
        events = await next_events(resumed, 3)
        assert [e.object["metadata"]["name"] for e in events] == ["c", "d", "e"]
        assert store.watch(since=5).pending == 0


async def test_watch_from_beyond_the_history_must_resync(db: Path) -> None:
    async with ObjectStore(db, history=2) as store:
        for name in ("a", "b", "c", "d"):
            await store.apply(agent(name), source=SOURCE)
        with pytest.raises(ResyncRequiredError) as expired:
            await anext(store.watch(since=1))
        assert expired.value.resource_version == 4
        assert [e.resource_version async for e in _take(store.watch(since=2), 2)] == [3, 4]
        with pytest.raises(ResyncRequiredError):  # a version this store never had
            await anext(store.watch(since=99))


async def test_a_restarted_store_resumes_only_the_current_version(db: Path) -> None:
    async with ObjectStore(db) as store:
        await store.apply(agent("a"), source=SOURCE)
        await store.apply(agent("b"), source=SOURCE)
    async with ObjectStore(db) as reopened:
        current = reopened.watch(since=2)
        await reopened.apply(agent("c"), source=SOURCE)
        assert [e.resource_version for e in await next_events(current, 1)] == [3]
        with pytest.raises(ResyncRequiredError):
            await anext(reopened.watch(since=1))


async def test_a_slow_watcher_is_told_to_resync_and_the_others_are_not(db: Path) -> None:
    async with ObjectStore(db, watch_queue=4) as store:
        slow, fast = store.watch(), store.watch()
        seen: list[int] = []

        async def follow() -> None:
            async for event in fast:
                seen.append(event.resource_version)
                if len(seen) == 10:
                    return

        follower = asyncio.create_task(follow())
        for i in range(10):
            await store.apply(agent(f"a{i}"), source=SOURCE)
        async with asyncio.timeout(5):
            await follower
        assert seen == list(range(1, 11))
        assert slow.pending == 0  # what it had queued was dropped, not kept growing
        with pytest.raises(ResyncRequiredError):
            await anext(slow)
        assert store.watchers == 1


async def test_unknown_kind_and_missing_name_are_refused(db: Path) -> None:
    async with ObjectStore(db) as store:
        with pytest.raises(InvalidObjectError) as bad_kind:
            await store.apply({**agent(), "kind": "Deployment"}, source=SOURCE)
        assert bad_kind.value.field == "kind"
        with pytest.raises(InvalidObjectError) as no_name:
            await store.apply({**agent(), "metadata": {}}, source=SOURCE)
        assert no_name.value.field == "metadata.name"
        with pytest.raises(NotFoundError):
            store.list("Deployment")


async def _take(watch: Any, count: int) -> Any:
    async with asyncio.timeout(5):
        for _ in range(count):
            yield await anext(watch)


async def test_the_store_is_where_local_runtimes_report(db: Path) -> None:
    async with ObjectStore(db) as store:
        sink: StatusSink = StoreStatusSink(store)
        await store.apply(agent(), source=SOURCE)
        await sink.agent_status("helper", {"phase": "Running", "observedGeneration": 1})
        await sink.agent_status("helper", {"phase": "Ready"})
        assert store.get("Agent", "helper")["status"] == {"phase": "Ready"}  # type: ignore[index]
        scheduled = run("helper-1775728800")
        await sink.create_run(scheduled)
        await sink.run_status("helper-1775728800", {"phase": "Succeeded"})
        await sink.create_run(scheduled)  # the same fire again: left as it is
        made = store.get("AgentRun", "helper-1775728800")
        assert made is not None and made["status"] == {"phase": "Succeeded"}
        assert store.source_of("AgentRun", "helper-1775728800") == API_SOURCE
        await sink.run_status("gone", {"phase": "Failed"})  # deleted meanwhile: dropped
        await sink.run_status("helper-1775728800", {"phase": "Sleeping"})  # refused, logged
        assert made == store.get("AgentRun", "helper-1775728800")
