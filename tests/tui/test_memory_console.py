"""The memory panel in Pilot: the console on a real control plane (cluster backend), its memory
service a real one on loopback (SQLite in tmp_path) reached through the `[services]` memory
URL: search with highlights and filters, an Agent's project from `m`, new and edit (in the
console's editor: the headless driver cannot hand the terminal to $EDITOR), soft and hard
delete with confirmation, sessions, the context preview, export and import, read-only mode."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes_asyncio import client
from textual.widgets import DataTable, Input, Label, Select, Static, TextArea

from agentops_services.kube.rest import Kube
from agentops_tui.app import AgentOpsApp
from agentops_tui.backends.cluster import ClusterBackend
from agentops_tui.screens.confirm import ConfirmScreen
from agentops_tui.screens.memory import (
    MATCH_STYLE,
    ContextScreen,
    MemoryEditorScreen,
    MemoryScreen,
    PathPrompt,
    SessionsScreen,
)
from agentops_tui.widgets.location_bar import LocationBar
from tests.conftest import eventually
from tests.kube.operator_harness import agent, create
from tests.tui.memory_sample import SUMMARY, memory_service
from tests.tui.test_console_views import SIZE, listed

pytestmark = pytest.mark.kube


@dataclass(frozen=True)
class Memory:
    url: str
    db: Path


@pytest.fixture
async def memory(tmp_path: Path) -> AsyncIterator[Memory]:
    """The memory service, with the sample, for as long as the test runs."""
    db = tmp_path / "memory.db"
    async with memory_service(db) as url:
        yield Memory(url, db)


@pytest.fixture
async def agents(kube: client.ApiClient, namespace: str) -> None:
    k = Kube(kube)
    memory_spec = {"serverRef": "agentops-memory", "contextLimit": 3}
    await create(k, namespace, agent("reviewer", memory=memory_spec))
    await create(k, namespace, agent("auditor", mode="task"))


def console(kube: client.ApiClient, namespace: str, url: str, **options: Any) -> AgentOpsApp:
    backend = ClusterBackend(Kube(kube), "test-context", namespace, services={"memory": url})

    async def connect(_context: str | None = None) -> ClusterBackend:
        return backend

    return AgentOpsApp(connect, **options)


def panel(app: AgentOpsApp) -> MemoryScreen:
    screen = app.screen
    assert isinstance(screen, MemoryScreen), screen
    return screen


def ids(app: AgentOpsApp) -> list[int]:
    return [int(str(key.value)) for key in panel(app).results.rows]


async def showing(app: AgentOpsApp, expected: list[int]) -> None:
    async def rows() -> None:
        assert ids(app) == expected

    await eventually(rows)


def notified(app: AgentOpsApp, text: str) -> bool:
    return any(text in n.message for n in app._notifications)


async def told(app: AgentOpsApp, text: str) -> None:
    async def said() -> None:
        assert notified(app, text), [n.message for n in app._notifications]

    await eventually(said)


def question(app: AgentOpsApp) -> str:
    """What the confirmation on top asks, as shown."""
    assert isinstance(app.screen, ConfirmScreen), app.screen
    return str(app.screen.query_one(Label).render())


def stored(db: Path, observation_id: int) -> tuple[str, str | None] | None:
    """(title, deleted_at) of a row as the database holds it; None when it is gone."""
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT title, deleted_at FROM observations WHERE id = ?", (observation_id,)
        ).fetchone()
    return None if row is None else (row[0], row[1])


EVERY_PROJECT = (("colon", *"mem", "enter"), [4, 3, 2, 1])
REVIEWER = (("j", "m"), [3, 2, 1])
"""`m` on the Agent reviewer (the cursor starts on auditor): its project alone."""


@contextlib.asynccontextmanager
async def panel_open(
    kube: client.ApiClient,
    namespace: str,
    memory: Memory,
    how: tuple[tuple[str, ...], list[int]],
    **options: Any,
) -> AsyncIterator[tuple[AgentOpsApp, Any]]:
    """The console, the panel opened with the keys of `how`, once it lists its rows."""
    keys, rows = how
    app = console(kube, namespace, memory.url, **options)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await listed(app)
        await pilot.press(*keys)
        await showing(app, rows)
        yield app, pilot


@pytest.fixture
async def opened(
    kube: client.ApiClient, namespace: str, agents: None, memory: Memory
) -> AsyncIterator[tuple[AgentOpsApp, Any]]:
    """The console at `:mem` (every project), most recent memories listed."""
    async with panel_open(kube, namespace, memory, EVERY_PROJECT) as opened:
        yield opened


async def test_search_highlights_the_matches_and_filters_narrow_it(
    opened: tuple[AgentOpsApp, Any],
) -> None:
    app, pilot = opened
    await pilot.press("slash", *"pool import", "enter")
    await showing(app, [2, 1])
    screen = panel(app)
    assert screen.results.has_focus, "enter goes back to the results"
    memory = screen.results.get_row("2")[2]  # the title, then an excerpt of the text
    title, excerpt = memory.plain.split("\n")
    assert excerpt.startswith("…") and "connection pool" in excerpt
    marks = [
        (s.start, memory.plain[s.start : s.end]) for s in memory.spans if s.style == MATCH_STYLE
    ]
    assert [word for start, word in marks if start < len(title)] == ["Pool"]
    assert {"pool", "import"} <= {word.lower() for start, word in marks if start > len(title)}
    summary = str(screen.query_one("#summary", Static).render())
    assert "2 matches for “pool import”" in summary

    async def detail() -> None:
        assert "Pool exhaustion under load" in str(screen.query_one("#about", Static).render())

    await eventually(detail)
    screen.query_one("#search", Input).value = ""
    screen.query_one("#type", Select).value = "preference"
    await showing(app, [3])
    screen.query_one("#type", Select).clear()
    projects = screen.query_one("#project", Select)

    async def pick() -> None:  # once the projects are listed
        projects.value = "billing"

    await eventually(pick)
    await showing(app, [4])
    assert "project billing" in str(screen.query_one("#summary", Static).render())
    await pilot.press("escape")
    assert not isinstance(app.screen, MemoryScreen)


async def test_m_on_an_agent_opens_its_project(
    kube: client.ApiClient, namespace: str, agents: None, memory: Memory
) -> None:
    async with panel_open(kube, namespace, memory, REVIEWER) as (app, pilot):
        screen = panel(app)
        assert screen.project == "reviewer" and not screen.query("#project")
        assert "reviewer (project reviewer)" in screen.query_one(LocationBar).render().plain
        await pilot.press("escape", "k", "m")
        await told(app, "Agent auditor has no memory: set spec.memory.serverRef")
        await pilot.press("colon", *"mem nobody", "enter")
        await told(app, "No Agent nobody in this namespace")


async def test_new_and_edit_read_the_text_back_and_reopen_it_with_the_problem(
    opened: tuple[AgentOpsApp, Any], memory: Memory
) -> None:
    app, pilot = opened
    await pilot.press("n")
    await told(app, "cannot be handed to $EDITOR")
    assert isinstance(app.screen, MemoryEditorScreen)
    text = app.screen.query_one(TextArea)
    assert "project: ''" in text.text, "no project picked: the user names it"
    text.load_text(text.text.replace("title: ''", "title: Flaky DNS\nowner: me"))
    await pilot.press("ctrl+s")
    assert isinstance(app.screen, MemoryEditorScreen), "the problem keeps the editor open"
    assert text.text.startswith("#! line 6: unknown field owner")
    fixed = text.text.replace("owner: me\n", "").replace("project: ''", "project: infra")
    text.load_text(fixed + "Retry lookups twice.\n")
    await pilot.press("ctrl+s")
    await told(app, "Memory #5 saved")
    assert stored(memory.db, 5) == ("Flaky DNS", None)
    await showing(app, [5, 4, 3, 2, 1])

    async def shown() -> None:
        assert panel(app).shown is not None and panel(app).shown.id == 5  # type: ignore[union-attr]

    await eventually(shown)
    await pilot.press("e")
    assert isinstance(app.screen, MemoryEditorScreen)
    await pilot.press("ctrl+s")
    await told(app, "Nothing saved: nothing was changed")
    await pilot.press("e")
    text = app.screen.query_one(TextArea)
    text.load_text(text.text.replace("title: Flaky DNS", "title: DNS flakes"))
    await pilot.press("ctrl+s")
    await eventually(lambda: _title(memory.db, 5, "DNS flakes"))


async def _title(db: Path, observation_id: int, title: str) -> None:
    assert stored(db, observation_id) == (title, None)


async def test_delete_asks_first_soft_keeps_the_row_and_hard_erases_it(
    opened: tuple[AgentOpsApp, Any], memory: Memory
) -> None:
    app, pilot = opened
    await pilot.press("d")
    assert "Delete memory #4 “[WIP] Payment retries [/b]”?" in question(app), "not markup"
    await pilot.press("n")
    assert stored(memory.db, 4) == ("[WIP] Payment retries [/b]", None)
    await pilot.press("d", "y")
    await showing(app, [3, 2, 1])
    title, deleted_at = stored(memory.db, 4) or ("", None)
    assert title.startswith("[WIP]") and deleted_at, "a soft delete keeps the row"
    await pilot.press("D")
    assert "Erase memory #3 “Review style” for good?" in question(app)
    await pilot.press("y")
    await showing(app, [2, 1])
    assert stored(memory.db, 3) is None
    await told(app, "Memory #3 erased")


async def test_sessions_and_what_the_agent_sees(
    kube: client.ApiClient, namespace: str, agents: None, memory: Memory
) -> None:
    async with panel_open(kube, namespace, memory, REVIEWER) as (app, pilot):
        await pilot.press("s")
        await eventually(lambda: _on(app, SessionsScreen))
        table = app.screen.query_one(DataTable)
        assert [str(k.value) for k in table.rows] == ["reviewer-s2", "reviewer-s1"]
        await pilot.press("down")
        summary = str(app.screen.query_one("#session-summary", Static).render())
        assert SUMMARY[:60] in summary
        await pilot.press("escape", "slash", *"pool", "enter", "p")
        await eventually(lambda: _on(app, ContextScreen))
        screen = app.screen
        assert isinstance(screen, ContextScreen)
        block = str(screen.query_one("#context-block", Static).render())
        assert block.startswith("<memory:sessions>\n- Session: 6 messages")
        assert "- [bugfix] Pool exhaustion under load: Requests waited" in block
        heading = str(screen.query_one("#context-heading", Static).render())
        assert "What reviewer sees at the start of a turn about “pool”" in heading
        assert "3 memories (at most 3)" in heading
        assert len(screen.preview.observations) == 3, "the Agent's contextLimit"


async def _on(app: AgentOpsApp, screen_type: type) -> None:
    assert isinstance(app.screen, screen_type), app.screen


async def test_context_needs_a_project(opened: tuple[AgentOpsApp, Any]) -> None:
    app, pilot = opened
    await pilot.press("p")
    await told(app, "Pick a project first")


async def test_export_then_import_and_a_bad_line_is_named(
    opened: tuple[AgentOpsApp, Any], memory: Memory, tmp_path: Path
) -> None:
    app, pilot = opened
    exported = tmp_path / "all.jsonl"
    await _answer(app, pilot, "x", str(exported))
    await told(app, f"Exported 4 memories and 3 sessions to {exported}")
    lines = exported.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*lines[:2], lines[2].replace('"project"', '"projekt"'), *lines[3:]]))
    await _answer(app, pilot, "i", str(bad))
    await told(app, "Not imported: line 3: session.project: Field required")
    assert ids(app) == [4, 3, 2, 1], "nothing was imported"
    async with httpx.AsyncClient(base_url=memory.url) as http:  # lost: the export restores them
        for observation_id in range(1, 5):
            await http.delete(f"/observations/{observation_id}", params={"hard": "true"})
    await _answer(app, pilot, "i", str(exported))
    assert "Import 4 memories and 3 sessions" in question(app)
    await pilot.press("y")
    await told(app, "Imported 4 memories and 0 new sessions")
    await showing(app, [8, 7, 6, 5])
    assert stored(memory.db, 5) == ("Use WAL journal mode", None)


async def _answer(app: AgentOpsApp, pilot: Any, key: str, path: str) -> None:
    await pilot.press(key)
    await eventually(lambda: _on(app, PathPrompt))
    app.screen.query_one(Input).value = path
    await pilot.press("enter")
    await pilot.pause()


async def test_read_only_hides_the_writes(
    kube: client.ApiClient, namespace: str, agents: None, memory: Memory
) -> None:
    async with panel_open(kube, namespace, memory, EVERY_PROJECT, readonly=True) as (app, pilot):
        offered = {b.binding.action for b in app.screen.active_bindings.values()}
        assert {"search", "sessions", "context", "export"} <= offered
        assert not {"new", "edit", "delete(False)", "delete(True)", "import"} & offered
        await pilot.press("n", "d")
        assert isinstance(app.screen, MemoryScreen)


async def test_an_unreachable_memory_service_is_a_notification(
    kube: client.ApiClient, namespace: str, agents: None
) -> None:
    app = console(kube, namespace, "http://127.0.0.1:1")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await listed(app)
        await pilot.press("colon", *"memory", "enter")
        await told(app, "Search failed: cannot reach the memory service")
        assert isinstance(app.screen, MemoryScreen)
