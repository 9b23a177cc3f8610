"""The resource folder over a real store: files load, problems name file, line and field
while the rest loads, edits on disk apply (and invalid edits keep the last good objects),
removed files delete their objects, and the editor's write-back keeps the file's other
documents and comments."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentops_services.api.yaml_source import dump_yaml
from agentops_services.local.errors import (
    ConflictError,
    FileProblem,
    InvalidManifestError,
    PlatformError,
)
from agentops_services.local.folder import REQUEST, ResourceFolder
from agentops_services.local.objects import API_SOURCE, ObjectStore
from tests.conftest import SAMPLES, eventually
from tests.service.local_platform import POLL, agent_yaml, copy_invalid, copy_samples


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ObjectStore]:
    async with ObjectStore(tmp_path / "objects.db") as opened:
        yield opened


@pytest.fixture
def resources(tmp_path: Path) -> Path:
    folder = tmp_path / "resources"
    folder.mkdir()
    return folder


@pytest.fixture
def helper(resources: Path) -> Path:
    """A resource file defining Agent/helper."""
    path = resources / "helper.yaml"
    path.write_text(agent_yaml())
    return path


Start = Callable[[ObjectStore], Awaitable[ResourceFolder]]


@pytest.fixture
async def start(resources: Path) -> AsyncIterator[Start]:
    """Starts the folder over a store; every folder started is stopped after the test."""
    folders: list[ResourceFolder] = []

    async def started(store: ObjectStore) -> ResourceFolder:
        folder = ResourceFolder(resources, store, interval=POLL)
        folders.append(folder)
        await folder.start()
        return folder

    yield started
    for folder in folders:
        await folder.stop()


def errors(folder: ResourceFolder) -> list[FileProblem]:
    return [p for p in folder.problems() if p.severity == "error"]


def line_of(path: Path, prefix: str) -> int:
    return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if t.startswith(prefix))


def read(path: Path) -> str:
    return path.read_text()


def touch_later(path: Path, text: str) -> None:
    """Write `text` and move the mtime on, so even a coarse clock sees the change."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


async def test_the_samples_load_with_zero_problems(
    resources: Path, store: ObjectStore, start: Start
) -> None:
    copies = copy_samples(resources)
    folder = await start(store)
    assert folder.problems() == []
    kinds = {kind: len(store.list(kind)) for kind in ("Agent", "AgentRun", "Provider")}
    assert all(kinds.values()), kinds
    total = sum(len(store.list(k)) for k in ("Agent", "AgentRun", "AgentTool",
                                              "AgentResource", "Channel", "Provider"))  # fmt: skip
    assert total == len(copies)
    review = store.get("Agent", "code-review-agent")
    assert review is not None
    assert store.source_of("Agent", "code-review-agent") == "file:agent-daemon.yaml"
    assert folder.file_of("Agent", "code-review-agent") == resources / "agent-daemon.yaml"


async def test_an_invalid_file_is_reported_with_line_and_field_while_the_rest_loads(
    resources: Path, store: ObjectStore, start: Start
) -> None:
    copy_samples(resources)
    bad = copy_invalid(resources, "agent-task-with-storage.yaml")
    folder = await start(store)
    [problem] = errors(folder)
    assert problem.path == "agent-task-with-storage.yaml"
    assert problem.line == line_of(bad, "  storage:")
    assert problem.field == "spec.storage"
    assert problem.message.startswith("Agent/broken-agent: spec.storage: Forbidden:")
    assert store.get("Agent", "broken-agent") is None
    assert store.get("Agent", "code-review-agent") is not None


async def test_an_edit_on_disk_applies_and_keeps_the_status(
    store: ObjectStore, start: Start, helper: Path
) -> None:
    await start(store)
    await store.patch_status("Agent", "helper", {"phase": "Running"})
    touch_later(helper, agent_yaml(model="openai/gpt-4.1"))

    async def applied() -> dict[str, Any]:
        obj = store.get("Agent", "helper")
        assert obj is not None and obj["spec"]["model"] == "openai/gpt-4.1"
        return obj

    edited = await eventually(applied)
    assert edited["metadata"]["generation"] == 2
    assert edited["status"] == {"phase": "Running"}


async def test_an_edit_that_breaks_a_file_keeps_its_last_good_objects(
    store: ObjectStore, start: Start, helper: Path
) -> None:
    folder = await start(store)
    touch_later(helper, agent_yaml().replace("mode: daemon", "mode: sometimes"))

    async def reported() -> FileProblem:
        [problem] = errors(folder)
        return problem

    problem = await eventually(reported)
    assert (problem.path, problem.line, problem.field) == ("helper.yaml", 6, "spec.mode")
    assert "its last valid version stays in effect" in problem.message
    assert store.get("Agent", "helper")["spec"]["mode"] == "daemon"  # type: ignore[index]

    touch_later(helper, "kind: Agent\nspec: [unclosed\n")
    problem = await eventually(lambda: _first_error(folder, lambda p: "syntax" in p.message))
    assert "the last valid Agent/helper stay in effect" in problem.message
    assert store.get("Agent", "helper") is not None

    touch_later(helper, agent_yaml(model="openai/gpt-4.1"))
    await eventually(lambda: _no_errors(folder))
    assert store.get("Agent", "helper")["spec"]["model"] == "openai/gpt-4.1"  # type: ignore[index]


async def test_removing_a_file_deletes_its_objects(
    resources: Path, store: ObjectStore, start: Start
) -> None:
    (resources / "agents").mkdir()
    path = resources / "agents" / "two.yml"
    path.write_text(agent_yaml("one") + "---\n" + agent_yaml("two"))
    await start(store)
    assert [a["metadata"]["name"] for a in store.list("Agent")] == ["one", "two"]
    assert store.source_of("Agent", "two") == "file:agents/two.yml"
    path.unlink()

    async def deleted() -> None:
        assert store.list("Agent") == []

    await eventually(deleted)


async def test_a_document_removed_from_a_valid_file_is_deleted(
    resources: Path, store: ObjectStore, start: Start
) -> None:
    path = resources / "agents.yaml"
    path.write_text(agent_yaml("one") + "---\n" + agent_yaml("two"))
    await start(store)
    touch_later(path, agent_yaml("one"))

    async def deleted() -> None:
        assert [a["metadata"]["name"] for a in store.list("Agent")] == ["one"]

    await eventually(deleted)


async def test_a_missing_folder_deletes_nothing(
    resources: Path, store: ObjectStore, start: Start
) -> None:
    (resources / "helper.yaml").write_text(agent_yaml())
    folder = await start(store)
    moved = resources.with_name("elsewhere")
    os.rename(resources, moved)

    async def reported() -> None:
        [problem] = errors(folder)
        assert "is missing" in problem.message

    await eventually(reported)
    assert store.get("Agent", "helper") is not None
    os.rename(moved, resources)
    await eventually(lambda: _no_errors(folder))
    assert store.get("Agent", "helper") is not None


async def test_one_name_in_two_files_names_both(
    resources: Path, store: ObjectStore, start: Start
) -> None:
    (resources / "a.yaml").write_text(agent_yaml(model="anthropic/claude-sonnet-4-5"))
    (resources / "b.yaml").write_text(
        "# the same agent again\n" + agent_yaml(model="openai/gpt-4.1")
    )
    folder = await start(store)
    [problem] = errors(folder)
    assert problem.path == "b.yaml"
    assert problem.line == 2
    assert problem.field == "metadata.name"
    assert "Agent/helper is defined in both a.yaml and b.yaml" in problem.message
    assert store.get("Agent", "helper")["spec"]["model"].startswith("anthropic")  # type: ignore[index]
    (resources / "b.yaml").unlink()
    await eventually(lambda: _no_errors(folder))


async def test_problem_changes_are_announced(
    resources: Path, store: ObjectStore, start: Start
) -> None:
    folder = await start(store)
    announced: list[list[FileProblem]] = []
    stop = folder.listen(announced.append)
    copy_invalid(resources, "agent-bad-mode.yaml")

    async def told() -> None:
        assert announced and announced[-1][0].path == "agent-bad-mode.yaml"

    await eventually(told)
    (resources / "agent-bad-mode.yaml").unlink()

    async def cleared() -> None:
        assert announced[-1] == []

    await eventually(cleared)
    stop()


async def test_restart_keeps_the_last_good_objects_of_a_file_broken_meanwhile(
    tmp_path: Path, resources: Path, start: Start, helper: Path
) -> None:
    db = tmp_path / "restart.db"
    async with ObjectStore(db) as store:
        folder = await start(store)
        await store.patch_status("Agent", "helper", {"phase": "Running"})
        await folder.stop()
    touch_later(helper, "kind: Agent\n  bad: indentation\n")
    (resources / "other.yaml").write_text(agent_yaml("other"))
    async with ObjectStore(db) as store:
        folder = await start(store)
        [problem] = errors(folder)
        assert problem.path == "helper.yaml" and "Agent/helper" in problem.message
        assert store.get("Agent", "helper")["status"] == {"phase": "Running"}  # type: ignore[index]
        assert store.get("Agent", "other") is not None


async def test_files_removed_while_stopped_are_deleted_at_start(
    tmp_path: Path, resources: Path, start: Start
) -> None:
    (resources / "helper.yaml").write_text(agent_yaml())
    db = tmp_path / "restart.db"
    async with ObjectStore(db) as store:
        folder = await start(store)
        await store.create(
            {"apiVersion": "agents.agentops.io/v1alpha1", "kind": "AgentRun",
             "metadata": {"name": "helper-xyz12"},
             "spec": {"agentRef": "helper", "prompt": "Hi", "source": "console"}},
            source=API_SOURCE,
        )  # fmt: skip
        await folder.stop()
    (resources / "helper.yaml").unlink()
    async with ObjectStore(db) as store:
        folder = await start(store)
        assert store.list("Agent") == []
        assert store.get("AgentRun", "helper-xyz12") is not None


# --- write-back ------------------------------------------------------------------------

MULTI = """\
# Agents of the team: keep this comment.
{first}---
# the second one
{second}---
kind: Secret  # not ours, left alone
apiVersion: v1
metadata:
  name: token
"""


@pytest.fixture
def team(resources: Path) -> Path:
    """Two agents, a foreign document and comments in one file."""
    path = resources / "team.yaml"
    path.write_text(MULTI.format(first=agent_yaml("one"), second=agent_yaml("two")))
    return path


async def test_save_replaces_one_document_and_keeps_the_rest(
    store: ObjectStore, start: Start, team: Path
) -> None:
    folder = await start(store)
    current = store.get("Agent", "two")
    assert current is not None
    current["spec"]["model"] = "openai/gpt-4.1"
    saved = await folder.save(current)
    assert saved["spec"]["model"] == "openai/gpt-4.1"
    assert saved["metadata"]["generation"] == 2
    rewritten = dump_yaml(yaml.safe_load(agent_yaml("two", model="openai/gpt-4.1")))
    expected = MULTI.format(first=agent_yaml("one"), second=rewritten)
    assert read(team) == expected
    assert "resourceVersion" not in read(team)


async def test_save_of_a_new_object_writes_kind_and_name_file(
    resources: Path, store: ObjectStore, start: Start
) -> None:
    folder = await start(store)
    text = "# Made in the editor: the comment stays.\n" + agent_yaml("fresh")
    saved = await folder.save(text)
    assert saved["metadata"]["generation"] == 1
    written = resources / "agent" / "fresh.yaml"
    assert written.read_text() == text
    assert store.source_of("Agent", "fresh") == "file:agent/fresh.yaml"


async def test_save_refuses_an_invalid_object_and_writes_nothing(
    resources: Path, store: ObjectStore, start: Start, helper: Path
) -> None:
    folder = await start(store)
    before = read(helper)
    text = (
        agent_yaml()
        .replace("mode: daemon", "mode: sometimes")
        .replace("  builtinTools: [read]\n", "  builtinTools: [read]\n  maxSteps: 0\n")
    )
    with pytest.raises(InvalidManifestError) as refused:
        await folder.save(text)
    problems = refused.value.problems
    assert [(p.path, p.line, p.field) for p in problems] == [
        (REQUEST, 6, "spec.mode"),
        (REQUEST, 11, "spec.maxSteps"),
    ]
    assert read(helper) == before
    assert not (resources / "agent").exists()


async def test_save_checks_the_resource_version_and_transition_rules(
    resources: Path, store: ObjectStore, start: Start
) -> None:
    (resources / "run.yaml").write_text((SAMPLES / "agentrun.yaml").read_text())
    folder = await start(store)
    run = store.get("AgentRun", "review-run-001")
    assert run is not None
    await store.patch_status("AgentRun", "review-run-001", {"phase": "Running"})
    with pytest.raises(ConflictError):
        await folder.save(run)  # read before the status changed
    fresh = store.get("AgentRun", "review-run-001")
    assert fresh is not None
    fresh["spec"]["prompt"] = "Something else"
    with pytest.raises(InvalidManifestError) as immutable:
        await folder.save(fresh)
    assert "spec is immutable" in immutable.value.problems[0].message
    with pytest.raises(PlatformError) as elsewhere:
        await folder.save(agent_yaml("x"), key=("Agent", "y"))
    assert elsewhere.value.field == "metadata.name"


async def test_delete_removes_the_document_then_the_file(
    resources: Path, store: ObjectStore, start: Start, team: Path
) -> None:
    folder = await start(store)
    await folder.delete("Agent", "one")
    assert store.get("Agent", "one") is None
    # The document and its separator go; the header comment and the rest stay.
    assert read(team) == MULTI.format(first="", second=agent_yaml("two"))
    only = resources / "only.yaml"
    only.write_text(agent_yaml("solo"))
    await folder.sync()
    await folder.delete("Agent", "solo")
    assert not only.exists()


async def test_a_file_with_a_syntax_error_is_not_edited(
    store: ObjectStore, start: Start, helper: Path
) -> None:
    folder = await start(store)
    current = store.get("Agent", "helper")
    touch_later(helper, agent_yaml() + "  oops: [\n")
    with pytest.raises(ConflictError) as refused:
        await folder.save(current)  # type: ignore[arg-type]
    assert "helper.yaml cannot be edited now" in refused.value.message
    assert read(helper).endswith("oops: [\n")


async def _first_error(folder: ResourceFolder, match: object) -> FileProblem:
    found = [p for p in errors(folder) if match(p)]  # type: ignore[operator]
    assert found
    return found[0]


async def _no_errors(folder: ResourceFolder) -> None:
    assert errors(folder) == []
