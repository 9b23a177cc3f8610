"""The chat screen in Pilot, against a real runtime process (scripted provider) reached through
the console's backend: a reply streams in with its tool card, a permission is answered from
the panel, a chat left in the background announces what needs a person, and a long session is
windowed."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes_asyncio import client
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Button, Markdown, OptionList, RadioButton

from agentops_services.api.conversation import Message, TextPart
from agentops_services.kube.rest import Kube
from agentops_tui.app import AgentOpsApp
from agentops_tui.backends.cluster import ClusterBackend
from agentops_tui.screens.chat import ChatScreen
from agentops_tui.screens.memory import MemoryEditorScreen
from agentops_tui.screens.resource_list import ResourceListScreen
from agentops_tui.screens.trace_picker import TracePicker
from agentops_tui.screens.traces import TraceScreen
from agentops_tui.services.chat.client import ChatClient
from agentops_tui.services.chat.transcript import Transcript
from agentops_tui.services.memory_panel import Found, MemoryPanelClient
from agentops_tui.widgets.chat.requests import PermissionPanel, QuestionPanel
from agentops_tui.widgets.chat.tool_card import ToolCard
from agentops_tui.widgets.chat.transcript_view import WINDOW, TranscriptView
from agentops_tui.widgets.context_chips import ContextChips, ResourcePicker
from tests.conftest import eventually
from tests.fakes.tempo import FakeTempo, recording, serving
from tests.kube.operator_harness import agent, create
from tests.runtime_process import daemon, write_agent
from tests.tui.memory_sample import memory_service
from tests.tui.test_console_views import SIZE, listed

DOCS = {
    "apiVersion": "agents.agentops.io/v1alpha1",
    "kind": "AgentResource",
    "metadata": {"name": "upstream-docs"},
    "spec": {"kind": "documentation", "displayName": "Upstream documentation",
             "documentation": {"urls": ["https://kubernetes.io/docs/concepts/"]}},
}  # fmt: skip
WRITE = {"name": "write", "input": {"path": "note.txt", "content": "hello"}, "id": "call_w"}
GATED = {"builtinTools": ["write"], "permissionTools": ["write"]}


@contextlib.asynccontextmanager
async def console_with_runtime(
    kube: client.ApiClient,
    namespace: str,
    tmp_path: Path,
    turns: list[dict[str, Any]],
    memory_url: str | None = None,
    tempo_url: str | None = None,
) -> AsyncIterator[AgentOpsApp]:
    """The console on the control plane, with Agent `reviewer`'s runtime a real process (and
    its memory the memory service at `memory_url`, its traces the Tempo at `tempo_url`)."""
    work = tmp_path / "work"
    work.mkdir()
    config = write_agent(tmp_path, turns, **GATED, enableQuestionTool=True)
    async with daemon(config, tmp_path / "state", AGENT_NAME="reviewer", WORKSPACE=str(work)) as (
        http,
        _process,
    ):
        spec: dict[str, Any] = {"resourceBindings": [{"name": "upstream-docs"}]}
        if memory_url:
            spec["memory"] = {"serverRef": "agentops-memory"}
        await create(Kube(kube), namespace, agent("reviewer", **spec))
        await create(Kube(kube), namespace, DOCS)
        services = {"runtime": str(http.base_url).rstrip("/")}
        if memory_url:
            services["memory"] = memory_url
        if tempo_url:
            services["tempo"] = tempo_url
        backend = ClusterBackend(Kube(kube), "test-context", namespace, services=services)

        async def connect(_context: str | None = None) -> ClusterBackend:
            return backend

        yield AgentOpsApp(connect)


async def reviewer_chat(app: AgentOpsApp, pilot: Pilot[Any]) -> ChatScreen:
    """From the Agents list, `t` on reviewer (the only Agent), once its chat is loaded."""
    await listed(app)
    await pilot.press("t")
    return await chat_open(app)


async def chat_open(app: AgentOpsApp) -> ChatScreen:
    async def shown() -> ChatScreen:
        screen = app.screen
        assert isinstance(screen, ChatScreen) and screen.session.ready.is_set()
        return screen

    return await eventually(shown, timeout=20)


@pytest.mark.kube
async def test_a_reply_streams_in_and_a_permission_is_answered_from_the_panel(
    kube: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    turns: list[dict[str, Any]] = [{"toolCalls": [WRITE]}, {"text": "Written **note.txt**."}]
    async with (
        console_with_runtime(kube, namespace, tmp_path, turns) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        chat = await reviewer_chat(app, pilot)
        await pilot.press(*"write the note", "enter")

        async def asked() -> None:
            assert chat.query(PermissionPanel)

        await eventually(asked, timeout=20)
        await pilot.click("#once")

        async def answered() -> None:
            await pilot.pause()
            assert chat.session.transcript.state == "idle"
            markdown = [str(m.source) for m in chat.query(Markdown)]
            assert any("Written **note.txt**." in text for text in markdown), markdown
            cards = list(chat.query(ToolCard))
            assert len(cards) == 1 and cards[0].tool.status == "completed"
            assert not chat.query(PermissionPanel)

        await eventually(answered, timeout=20)
        assert (tmp_path / "work" / "note.txt").read_text() == "hello"
        await pilot.press("ctrl+o")
        assert cards_open(chat)


def cards_open(chat: ChatScreen) -> bool:
    return all(card.is_open for card in chat.query(ToolCard))


@pytest.mark.kube
async def test_a_chat_in_the_background_marks_the_agent_and_reopens_where_it_was(
    kube: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    slow = {"text": "All done here.", "chunkChars": 1, "delayMs": 150}
    turns: list[dict[str, Any]] = [{"toolCalls": [WRITE]}, {"text": "Not written."}, slow]
    async with (
        console_with_runtime(kube, namespace, tmp_path, turns) as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        await reviewer_chat(app, pilot)
        await pilot.press(*"write the note", "enter", "ctrl+b")
        await eventually(lambda: _marked(app, "!"), timeout=20)
        await pilot.press("t")
        chat = await chat_open(app)
        await eventually(lambda: _panel(chat), timeout=10)
        await pilot.click("#deny")

        async def refused() -> None:
            await pilot.pause()
            assert chat.session.transcript.state == "idle"
            assert [card.tool.permission for card in chat.query(ToolCard)] == ["deny"]

        await eventually(refused, timeout=20)
        await pilot.press(*"anything else?", "enter", "ctrl+b")
        await eventually(lambda: _marked(app, "●"), timeout=20)
        assert any("finished its turn" in n.message for n in app._notifications)
        await pilot.press("t")
        await chat_open(app)
        assert "reviewer" not in app.unseen, "seen once the chat is open again"
    assert not (tmp_path / "work" / "note.txt").exists()


async def _marked(app: AgentOpsApp, mark: str) -> None:
    screen = app.screen
    assert isinstance(screen, ResourceListScreen)
    assert str(screen.table.get_cell("reviewer", "!")) == mark


async def _panel(chat: ChatScreen) -> None:
    assert chat.query(PermissionPanel)


@pytest.mark.kube
async def test_remember_and_extract_save_memories_after_a_review(
    kube: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    drafted = {"type": "decision", "title": "Builds use Python 3.11",
               "content": "The team pinned Python 3.11 for builds.", "tags": ["python"]}  # fmt: skip
    turns = [
        {"match": "^hi$", "text": "Hello."},
        {"match": "Extract the most valuable", "text": json.dumps(drafted)},
    ]
    async with (
        memory_service(tmp_path / "memory.db") as memory_url,
        console_with_runtime(kube, namespace, tmp_path, turns, memory_url) as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        chat = await reviewer_chat(app, pilot)
        await pilot.press(*"hi", "enter")
        await eventually(lambda: _idle_after(chat, 2), timeout=20)
        for command, saved_title in (
            ("/remember deploys need a change ticket", "deploys need a change ticket"),
            ("/extract", drafted["title"]),
        ):
            await pilot.press(*command, "enter")
            await eventually(lambda: _reviewing(app), timeout=20)
            await pilot.press("ctrl+s")
            await eventually(lambda: _told(app, "saved"), timeout=10)
            async with httpx.AsyncClient(base_url=memory_url, timeout=10) as http:
                client = MemoryPanelClient(http, namespace)
                found = await client.search("", project="reviewer", type_=None)
            assert saved_title in [flat_title(hit) for hit in found]
            app._notifications.clear()
            await pilot.press("escape")  # the memory panel, back to the chat
            assert app.screen is chat


def flat_title(found: Found) -> str:
    return found.title.text


async def _idle_after(chat: ChatScreen, messages: int) -> None:
    transcript = chat.session.transcript
    assert transcript.state == "idle" and len(transcript.messages) >= messages


async def _reviewing(app: AgentOpsApp) -> None:
    assert isinstance(app.screen, MemoryEditorScreen)


async def _told(app: AgentOpsApp, word: str) -> None:
    assert any(word in n.message for n in app._notifications), [
        n.message for n in app._notifications
    ]


ASK = {
    "name": "question",
    "id": "call_q",
    "input": {"questions": [{"question": "Which environment?",
                             "options": [{"label": "prod"}, {"label": "staging"}]}]},
}  # fmt: skip


@pytest.mark.kube
async def test_a_question_is_answered_from_the_panel_and_closes_when_another_console_answers(
    kube: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    turns: list[dict[str, Any]] = [
        {"toolCalls": [ASK]},
        {"text": "Deploying."},
        {"toolCalls": [{**ASK, "id": "call_q2"}]},
        {"text": "Fine."},
    ]
    async with (
        console_with_runtime(kube, namespace, tmp_path, turns) as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        chat = await reviewer_chat(app, pilot)
        await pilot.press(*"deploy it", "enter")
        await eventually(lambda: _question_shown(chat), timeout=20)
        panel = chat.query_one(QuestionPanel)
        list(panel.query(RadioButton))[-1].value = True  # staging
        await pilot.pause()
        panel.query_one("#submit", Button).press()

        async def answered() -> None:
            await pilot.pause()
            notes = [n.message for n in app._notifications]
            assert chat.session.transcript.state == "idle", (chat.session.transcript, notes)
            assert not chat.query(QuestionPanel)
            cards = [card.tool for card in chat.query(ToolCard)]
            assert cards and "staging" in cards[0].output, cards

        await eventually(answered, timeout=20)
        await pilot.press(*"again", "enter")
        await eventually(lambda: _question_shown(chat), timeout=20)
        other = ChatClient(chat.session.client.http)  # a second console on the same agent
        asked = next(iter(chat.session.transcript.questions))
        await other.reply_question(asked, [["prod"]])
        await eventually(lambda: _no_question(chat), timeout=20)


async def _question_shown(chat: ChatScreen) -> None:
    assert chat.query(QuestionPanel)


async def _no_question(chat: ChatScreen) -> None:
    assert not chat.query(QuestionPanel)


@pytest.mark.kube
async def test_escape_aborts_the_turn_in_the_runtime(
    kube: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    turns: list[dict[str, Any]] = [{"text": "never finished", "stall": True}]
    async with (
        console_with_runtime(kube, namespace, tmp_path, turns) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        chat = await reviewer_chat(app, pilot)
        await pilot.press(*"go", "enter")
        await eventually(lambda: _busy(chat), timeout=20)
        await pilot.press("escape")

        async def ended() -> None:
            assert (await chat.session.client.status()).state == "idle"
            assert chat.session.transcript.state == "idle"

        await eventually(ended, timeout=20)
        assert app.screen is chat, "esc aborted the turn; only the next esc leaves"


async def _busy(chat: ChatScreen) -> None:
    assert chat.session.transcript.state == "busy"


@pytest.mark.kube
async def test_context_chips_go_with_the_next_prompt_only(
    kube: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    """ctrl+g picks the Agent's AgentResources; they show as chips, go with the next prompt
    (the runtime counts them in the turn's prompt budget) and are cleared after it."""
    turns: list[dict[str, Any]] = [{"text": "One."}, {"text": "Two."}]
    async with (
        console_with_runtime(kube, namespace, tmp_path, turns) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        chat = await reviewer_chat(app, pilot)
        await pilot.press("ctrl+g")
        await eventually(lambda: _picking(app), timeout=10)
        await pilot.press("space", "enter")
        chips = chat.query_one(ContextChips)
        assert [item.resource_name for item in chips.items] == ["upstream-docs"]
        budgets: list[int] = []
        for prompt in ("with the docs", "with the docs"):
            await pilot.press(*prompt, "enter")
            await eventually(lambda: _idle_after(chat, 2 * (len(budgets) + 1)), timeout=20)
            budget = chat.session.transcript.budget
            assert budget is not None
            budgets.append(budget.prompt_tokens)
            assert chips.items == [], "sent once, then cleared"
        assert budgets[0] > budgets[1], budgets


async def _picking(app: AgentOpsApp) -> None:
    assert isinstance(app.screen, ResourcePicker)


@pytest.mark.kube
async def test_ctrl_t_and_slash_trace_open_any_turn_including_those_from_history(
    kube: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    """Two turns, then the chat reopened (its turns now come from working memory) and a third
    still running: ctrl+t lists the three newest first, the running one marked and followed
    live; `/trace N` counts from the newest, and an N out of range is a notification."""
    turns: list[dict[str, Any]] = [
        {"text": "One."},
        {"text": "Two."},
        {"text": "never finished", "stall": True},
    ]
    tempo = FakeTempo()
    async with (
        serving(tempo) as tempo_url,
        console_with_runtime(kube, namespace, tmp_path, turns, tempo_url=tempo_url) as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        chat = await reviewer_chat(app, pilot)
        multiline = [*"second question", "ctrl+j", *"in detail"]
        for number, keys in enumerate(([*"first question"], multiline), 1):
            await pilot.press(*keys, "enter")
            await eventually(partial(_idle_after, chat, 2 * number), timeout=20)
        history = await chat.session.client.history()
        recorded = [m.trace_id or "" for m in history if m.role == "user"]
        assert len(set(recorded)) == 2 and all(len(t) == 32 for t in recorded), recorded
        first, second = recorded
        await pilot.press("ctrl+b")
        await app.chats.close()  # the next chat is loaded from the runtime's history
        await pilot.press("t")
        chat = await chat_open(app)
        await pilot.press(*"third question", "enter")
        await eventually(lambda: _busy(chat), timeout=20)
        running = chat.session.transcript.trace_id
        assert running is not None and running not in (first, second)
        for trace_id in (first, second, running):  # Tempo has them all (a recorded trace)
            tempo.traces[trace_id] = recording("trace_v2.json")

        picker = await _picker(app, pilot, "ctrl+t")
        rows = [str(picker.query_one(OptionList).get_option_at_index(i).prompt) for i in range(3)]
        assert "running" in rows[0] and "third question" in rows[0], rows
        assert "second question" in rows[1] and "in detail" not in rows[1], "first line only"
        assert "first question" in rows[2] and "running" not in rows[1] + rows[2], rows
        assert picker.query_one(OptionList).highlighted == 0
        await pilot.press("enter")
        assert await _trace_opened(app, pilot) == (running, True)

        await _picker(app, pilot, "ctrl+t")
        await pilot.press("down", "down", "enter")
        assert await _trace_opened(app, pilot) == (first, False)

        for command, opened in (("/trace", running), ("/trace 2", second), ("/trace 3", first)):
            await pilot.press(*command, "enter")
            assert (await _trace_opened(app, pilot))[0] == opened, command
        await _picker(app, pilot, "ctrl+t")
        await pilot.press("escape")
        assert app.screen is chat
        await pilot.press(*"/trace 4", "enter")
        await eventually(lambda: _told(app, "/trace 4: this chat has 3 traced turns"))
        assert app.screen is chat
    asked = {path.rpartition("/")[2] for path, _ in tempo.asked}
    assert asked == {first, second, running}


async def _picker(app: AgentOpsApp, pilot: Pilot[Any], key: str) -> TracePicker:
    await pilot.press(key)

    async def shown() -> TracePicker:
        assert isinstance(app.screen, TracePicker)
        return app.screen

    return await eventually(shown)


async def _trace_opened(app: AgentOpsApp, pilot: Pilot[Any]) -> tuple[str, bool]:
    """The trace screen that opened (its trace and whether it follows it live), then back."""

    async def opened() -> TraceScreen:
        assert isinstance(app.screen, TraceScreen) and app.screen.waterfall is not None
        return app.screen

    screen = await eventually(opened)
    await pilot.press("escape")
    await eventually(lambda: _not_on(app, screen))
    return screen.trace_id, screen.live


async def _not_on(app: AgentOpsApp, screen: object) -> None:
    assert app.screen is not screen and isinstance(app.screen, ChatScreen)


class TranscriptApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TranscriptView(id="transcript")


async def test_a_long_session_mounts_a_window_and_loads_older_pages() -> None:
    history = [
        Message(role="user" if n % 2 == 0 else "assistant", content=[TextPart(text=f"m{n}")])
        for n in range(5_000)
    ]
    transcript = Transcript.from_history(history)
    app = TranscriptApp()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(TranscriptView)
        await view.show(transcript)
        assert len(view.mounted_ids) == WINDOW
        assert view.mounted_ids[-1] == max(transcript.messages)
        view.scroll_home(animate=False)
        await pilot.pause()

        async def paged() -> None:
            await pilot.pause()
            assert len(view.mounted_ids) == 2 * WINDOW

        await eventually(paged)
        ids = view.mounted_ids
        assert ids == sorted(ids), "older messages go above"
