"""The console on the embedded platform, in Pilot: a real platform started in-process on the
offline demo model (runtime processes, memory service, trace store, platform API on
loopback), reached through the LocalBackend exactly as `agentops console --embedded` reaches
it. The sample agents list with their status, the assistant chats with a real tool and its
turn's trace opens from the embedded trace store, `l` follows its runtime's log, a task run
reaches Succeeded, the editor refuses an invalid value and writes a valid one into the
resource file, and a broken file is told with its file and line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from agentops_services.api.script import Script
from agentops_services.httpapi.serving import serve_in_background
from agentops_services.local.client import PlatformClient
from agentops_services.local.paths import DataDir
from agentops_tui.app import AgentOpsApp
from agentops_tui.backends.local import LocalBackend
from agentops_tui.screens.editor import DiffScreen, EditorScreen
from agentops_tui.screens.logs import LogScreen
from agentops_tui.screens.memory import MemoryScreen
from agentops_tui.screens.resource_list import ResourceListScreen
from agentops_tui.screens.run_prompt import RunPromptScreen
from agentops_tui.screens.trace_picker import TracePicker
from agentops_tui.screens.traces import TraceScreen
from agentops_tui.widgets.chat.tool_card import ToolCard
from agentops_tui.widgets.location_bar import LocationBar
from tests.conftest import eventually
from tests.fakes.llm import FakeLLM
from tests.service.served_platform import Served, offline, running, served_platform
from tests.tui.test_chat_screen import chat_open

SIZE = (120, 40)
TURN = 60.0
"""Seconds for a turn or a run of the demo model, processes started included."""


@contextlib.asynccontextmanager
async def embedded_console(served: Served) -> AsyncIterator[AgentOpsApp]:
    """The console on the served platform, through its own platform API client."""

    async def connect(_context: str | None = None) -> LocalBackend:
        return LocalBackend(PlatformClient(served.url), served.data, owns_client=True)

    yield AgentOpsApp(connect, where="the embedded platform")


FAKE_MODEL = "fake-chat-1"
FAKE_KEY = "sk-fake-0123456789"


@pytest.fixture
async def llm(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FakeLLM, str] | None]:
    """None (the platform on the offline demo), or, parametrized indirectly with a script's
    turns, the fake LLM server answering them, with its `/v1` base URL."""
    turns: list[dict[str, Any]] | None = getattr(request, "param", None)
    if turns is None:
        yield None
        return
    fake = FakeLLM(Script.model_validate({"turns": turns}), models=[FAKE_MODEL])
    async with serve_in_background(fake.app()) as server:
        try:
            yield fake, f"{server.url}/v1"
        finally:
            fake.release.set()


@pytest.fixture
async def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, llm: tuple[FakeLLM, str] | None
) -> AsyncIterator[Served]:
    """The platform, its first run on the offline demo, or on the fake LLM server found
    through OPENAI_BASE_URL and OPENAI_API_KEY when `llm` serves one."""
    offline(monkeypatch)
    if llm is not None:
        monkeypatch.setenv("OPENAI_BASE_URL", llm[1])
        monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    async with served_platform(DataDir.locate(tmp_path / "data")) as platform:
        yield platform


def table_rows(app: AgentOpsApp) -> dict[str, str]:
    """Name -> the row's cells joined, of the list on screen."""
    screen = app.screen
    assert isinstance(screen, ResourceListScreen)
    table = screen.query_one(DataTable)
    return {
        str(key.value): " ".join(str(cell) for cell in table.get_row(key)) for key in table.rows
    }


async def agents_listed(app: AgentOpsApp) -> dict[str, str]:
    async def shown() -> dict[str, str]:
        rows = table_rows(app)
        assert set(rows) == {"assistant", "summarize"}, rows
        return rows

    return await eventually(shown, timeout=20)


def told(app: AgentOpsApp, *words: str) -> None:
    messages = [n.message for n in app._notifications]
    assert any(all(w in m for w in words) for m in messages), messages


async def test_the_sample_agents_list_with_their_status(served: Served) -> None:
    await running(served, "assistant")
    async with embedded_console(served) as app, app.run_test(size=SIZE) as pilot:
        await agents_listed(app)

        async def statuses() -> None:
            rows = table_rows(app)
            assert "Running" in rows["assistant"] and "Ready" in rows["summarize"], rows

        await eventually(statuses, timeout=20)
        bar = app.screen.query_one(LocationBar)
        assert bar.location.mode == "embedded" and bar.location.namespace == "local"
        await pilot.press("colon", *"pods", "enter")
        await eventually(lambda: _async(told, app, "Pods are a cluster's"))
        assert isinstance(app.screen, ResourceListScreen) and app.screen.kind.kind == "Agent"


async def test_chat_with_the_assistant_runs_a_tool_and_its_trace_opens(served: Served) -> None:
    await running(served, "assistant")
    async with (
        embedded_console(served) as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        trace_id = await _workspace_turn(app, pilot, "ls")
        await _open_trace(app, pilot, trace_id)


async def _workspace_turn(app: AgentOpsApp, pilot: Pilot[Any], *tools: str) -> str:
    """t on the assistant (the first row), "what is in the workspace?", until the turn is over
    with a trace and each of `tools` completed; the turn's trace id."""
    await agents_listed(app)
    await pilot.press("t")
    chat = await chat_open(app)
    await pilot.press(*"what is in the workspace?", "enter")

    async def answered() -> None:
        transcript = chat.session.transcript
        assert transcript.state == "idle" and transcript.trace_id, transcript.state
        cards = [(c.tool.tool_name, c.tool.status) for c in chat.query(ToolCard)]
        assert all((tool, "completed") in cards for tool in tools), cards

    await eventually(answered, timeout=TURN)
    return str(chat.session.transcript.trace_id)


REMEMBERED = "Workspace layout for flamingo reports"
PROVIDER_TURNS: list[dict[str, Any]] = [  # unique call ids, as a real provider gives
    {
        "text": "Let me look.",
        "toolCalls": [{"id": "call_ls", "name": "ls", "input": {"path": "."}}],
    },
    {
        "toolCalls": [
            {
                "id": "call_save",
                "name": "mem_save",
                "input": {
                    "type": "discovery",
                    "title": REMEMBERED,
                    "content": "The workspace starts empty; reports go under reports/.",
                    "tags": ["workspace"],
                },
            }
        ]
    },
    {"text": "The workspace is empty, and I saved that to memory."},
]


@pytest.mark.parametrize("llm", [PROVIDER_TURNS], indirect=True)
async def test_with_a_provider_in_the_environment_a_turn_runs_tools_saves_memory_and_traces(
    served: Served, llm: tuple[FakeLLM, str] | None
) -> None:
    """OPENAI_BASE_URL and OPENAI_API_KEY name the fake LLM server: the first run picks it
    (its first listed model), the assistant's turn goes to it with the key, its `ls` and
    `mem_save` calls run, the memory is found in the memory panel from the embedded memory
    service, and the turn's trace opens from the embedded trace store."""
    assert llm is not None
    fake, base_url = llm
    chosen = served.report.provider
    assert chosen is not None and not chosen.demo, served.report
    assert (chosen.model, chosen.base_url) == (FAKE_MODEL, base_url)
    await running(served, "assistant")
    async with (
        embedded_console(served) as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        trace_id = await _workspace_turn(app, pilot, "ls", "mem_save")
        chats = [r for r in fake.requests if r.path == "/v1/chat/completions"]
        assert len(chats) >= 3, [r.path for r in fake.requests]
        for request in chats:
            assert request.body["model"] == FAKE_MODEL
            assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"

        await pilot.press("escape")
        await eventually(lambda: _async(_is, app, ResourceListScreen))
        await pilot.press("colon", *"mem", "enter")
        memory: MemoryScreen = await eventually(lambda: _async(_is, app, MemoryScreen))
        await pilot.press("slash", *"flamingo", "enter")

        async def found() -> None:
            assert memory.query_one("#search", Input).value == "flamingo"
            rows = [" ".join(map(str, memory.results.get_row(k))) for k in memory.results.rows]
            assert any(REMEMBERED in row for row in rows), rows

        await eventually(found, timeout=20)
        await pilot.press("escape", "escape")
        await eventually(lambda: _async(_is, app, ResourceListScreen))
        await pilot.press("t")
        await chat_open(app)
        await _open_trace(app, pilot, trace_id, "ls", "mem_save", FAKE_MODEL)


async def _open_trace(
    app: AgentOpsApp, pilot: Pilot[Any], trace_id: str, *spans: str
) -> TraceScreen:
    """ctrl+t (the one turn's trace opens at once; a picker would offer it first), until the
    trace store has the turn's spans (those named in `spans` among them) and the waterfall
    draws them."""
    await pilot.press("ctrl+t")

    async def drawn() -> TraceScreen:
        screen = app.screen
        if isinstance(screen, TracePicker):
            await pilot.press("enter")
            raise AssertionError("picked")
        assert isinstance(screen, TraceScreen) and screen.trace_id == trace_id, screen
        names = {node.name for node in screen.waterfall.spans} if screen.waterfall else set()
        if not names or not all(any(s in n for n in names) for s in spans):
            await pilot.press("escape", "ctrl+t")  # asked before the spans arrived: ask again
            raise AssertionError(f"not drawn yet: {sorted(names)}")
        return screen

    return await eventually(drawn, timeout=30, interval=1.0)


async def test_r_starts_a_run_of_summarize_that_succeeds(served: Served) -> None:
    async with (
        embedded_console(served) as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        await agents_listed(app)
        await pilot.press("j", "r")  # summarize
        await eventually(lambda: _async(_is, app, RunPromptScreen))
        await pilot.press(*"summarize the workspace", "enter")
        await eventually(lambda: _async(_is, app, ResourceListScreen))
        await pilot.press("colon", *"ar", "enter")

        async def succeeded() -> None:
            screen = app.screen
            assert isinstance(screen, ResourceListScreen) and screen.kind.kind == "AgentRun"
            rows = table_rows(app)
            assert len(rows) == 1 and "Succeeded" in next(iter(rows.values())), rows

        await eventually(succeeded, timeout=TURN)


async def test_the_editor_refuses_an_invalid_value_and_saves_a_valid_one_in_the_file(
    served: Served,
) -> None:
    sample = served.data.resources / "agent-assistant.yaml"
    before = sample.read_text()
    assert "maxSteps: 30" in before
    async with (
        embedded_console(served) as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        await agents_listed(app)
        await pilot.press("e")  # assistant
        editor = await eventually(lambda: _async(_is, app, EditorScreen))
        assert isinstance(editor, EditorScreen)
        text = editor.editor.text
        assert "name: assistant" in text and "namespace: local" in text
        editor.editor.load_text(text.replace("maxSteps: 30", "maxSteps: 100000"))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen), "invalid: not sent, the editor stays"
        assert editor.editor.text.startswith("#!") and "maxSteps" in editor.editor.text
        assert sample.read_text() == before
        editor.editor.load_text(editor.editor.text.replace("maxSteps: 100000", "maxSteps: 42"))
        await pilot.press("ctrl+s")
        await eventually(lambda: _async(_is, app, DiffScreen))
        await pilot.press("y")

        async def saved() -> None:
            assert "maxSteps: 42" in sample.read_text()
            assert isinstance(app.screen, ResourceListScreen)
            live = await served.client.get("Agent", "assistant")
            assert live["spec"]["maxSteps"] == 42

        await eventually(saved)
    assert "read" in sample.read_text(), "the rest of the file is kept"


async def test_an_invalid_file_is_told_with_file_and_line_and_marked_until_fixed(
    served: Served,
) -> None:
    async with (
        embedded_console(served) as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        await agents_listed(app)
        broken = served.data.resources / "broken.yaml"
        broken.write_text(
            "apiVersion: agents.agentops.io/v1alpha1\nkind: Agent\nmetadata:\n  name: broken\n"
            "spec:\n  mode: sometimes\n"
        )
        await eventually(lambda: _async(told, app, "broken.yaml:6", "spec.mode"), timeout=15)
        bar = app.screen.query_one(LocationBar)
        assert "resource problem" in bar.warning and ":problems" in bar.warning
        await pilot.press("colon", *"problems", "enter")

        async def listed() -> None:
            shown = [n.message for n in app._notifications if n.title == "Resource folder"]
            assert any("broken.yaml:6" in m and "spec.mode" in m for m in shown), shown

        await eventually(listed)
        broken.unlink()

        async def cleared() -> None:
            assert app.screen.query_one(LocationBar).warning == ""

        await eventually(cleared, timeout=15)
        assert set(table_rows(app)) == {"assistant", "summarize"}


async def test_l_on_the_assistant_follows_its_runtime_log(served: Served) -> None:
    """`l` streams the runtime's log file through the platform API, as a pod's log in a
    cluster: what the runtime wrote before, then what it writes from then on."""
    await running(served, "assistant")
    async with embedded_console(served) as app, app.run_test(size=SIZE) as pilot:
        await agents_listed(app)
        await pilot.press("l")  # assistant, the first row
        screen: LogScreen = await eventually(lambda: _async(_is, app, LogScreen), timeout=20)
        assert (screen.target.pod, screen.container) == ("agents/assistant", "runtime")

        async def started() -> None:
            texts = [line.text for line in screen.shown]
            assert any(t.startswith("--- agentops: started, pid") for t in texts), texts
            assert screen.status.phase == "streaming", screen.state_text

        await eventually(started, timeout=20)
        with served.data.agent("assistant").log.open("a") as log:
            log.write("written while the console follows\n")

        async def followed() -> None:
            texts = [line.text for line in screen.shown]
            assert "written while the console follows" in texts, texts[-5:]

        await eventually(followed, timeout=10)


async def _async(check: Any, *args: Any) -> Any:
    """A plain check as the awaitable `eventually` retries."""
    return check(*args)


def _is(app: AgentOpsApp, screen_type: type) -> Any:
    assert isinstance(app.screen, screen_type), app.screen
    return app.screen


async def test_agentops_chat_without_url_reaches_the_embedded_platform(
    served: Served, tmp_path: Path
) -> None:
    """No cluster configured (a KUBECONFIG that does not exist): `agentops chat` finds the
    platform of AGENTOPS_DATA_DIR and talks to the agent's runtime there."""
    await running(served, "assistant")
    env = os.environ | {
        "AGENTOPS_DATA_DIR": str(served.data.root),
        "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
    }
    chat = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentops_services.cli.main", "chat", "assistant",
        "what is in the workspace?", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(chat.communicate(), TURN)
    assert chat.returncode == 0, err.decode()
    assert '→ ls {"path": "."}' in out.decode() and "← ls done" in out.decode()
    task = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentops_services.cli.main", "chat", "summarize", "hello",
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(task.communicate(), TURN)
    assert task.returncode == 2 and "task agent" in err.decode() and "Traceback" not in err.decode()


async def test_agentops_chat_without_a_platform_says_how_to_start_one(tmp_path: Path) -> None:
    env = os.environ | {
        "AGENTOPS_DATA_DIR": str(tmp_path / "data"),
        "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
    }
    chat = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentops_services.cli.main", "chat", "assistant", "hi",
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(chat.communicate(), 30)
    assert chat.returncode == 2 and "agentops serve" in err.decode(), err.decode()
