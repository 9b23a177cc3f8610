"""The console's resource views in Pilot, on a real control plane through the cluster backend:
rows from the CRD printer columns with live updates, `/` filter (regex, `!`, `-l`), the `:`
command line, YAML, delete with confirmation, help with binding ids, keymap remapping and
read-only mode."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_asyncio import client
from rich.console import Console
from textual import events
from textual.widgets import DataTable, Input, OptionList, Static, TextArea

from agentops_services.cli import console as console_cli
from agentops_services.kube import resources as types
from agentops_services.kube.client import api_client
from agentops_services.kube.rest import Kube
from agentops_services.testing.controlplane import ControlPlane
from agentops_tui.app import AgentOpsApp
from agentops_tui.backends.base import Location
from agentops_tui.backends.cluster import ClusterBackend
from agentops_tui.config import ConsoleConfig
from agentops_tui.screens.context_picker import ContextPicker
from agentops_tui.screens.detail import DetailScreen
from agentops_tui.screens.editor import DiffScreen, EditorScreen
from agentops_tui.screens.help import HelpScreen
from agentops_tui.screens.resource_list import ResourceListScreen
from agentops_tui.screens.run_prompt import RunPromptScreen
from agentops_tui.screens.yaml_view import YamlScreen
from agentops_tui.widgets.location_bar import LocationBar
from agentops_tui.widgets.object_detail import ObjectDetail, conditions_table, events_table
from tests.conftest import eventually
from tests.kube.operator_harness import agent, agent_run, create

pytestmark = pytest.mark.kube
SIZE = (120, 40)


async def console(kube: client.ApiClient, namespace: str, **options: Any) -> AgentOpsApp:
    backend = ClusterBackend(Kube(kube), "test-context", namespace)

    async def connect(_context: str | None = None) -> ClusterBackend:
        return backend

    return AgentOpsApp(connect, **options)


@pytest.fixture
async def agents(kube: client.ApiClient, namespace: str) -> Kube:
    k = Kube(kube)
    for name, mode in (("reviewer", "daemon"), ("auditor", "task"), ("triage", "daemon")):
        body = agent(name, mode=mode)
        body["metadata"]["labels"] = {"team": "platform" if name != "triage" else "support"}
        await create(k, namespace, body)
    return k


async def listed(app: AgentOpsApp) -> None:
    """Wait until the console has connected and lists the Agents."""

    async def shown() -> None:
        assert isinstance(app.screen, ResourceListScreen)
        assert app.screen.query_one(DataTable).row_count > 0

    await eventually(shown)


def rows(app: AgentOpsApp) -> list[str]:
    screen = app.screen
    assert isinstance(screen, ResourceListScreen)
    table = screen.query_one(DataTable)
    return [str(key.value) for key in table.rows]


async def test_agents_are_listed_with_printer_columns_and_follow_changes(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE):
        await listed(app)
        assert rows(app) == ["auditor", "reviewer", "triage"]
        table = app.screen.query_one(DataTable)
        assert [str(c.label) for c in table.columns.values()] == [
            "!", "Name", "Mode", "Model", "Phase", "Ready", "Age",
        ]  # fmt: skip
        bar = app.screen.query_one(LocationBar).render().plain
        assert f"cluster  ctx test-context  ns {namespace}" in bar and "Agents" in bar
        await create(agents, namespace, agent("newcomer"))

        async def shown() -> None:
            assert "newcomer" in rows(app)

        await eventually(shown)
        await agents.patch(types.AGENT, namespace, "reviewer", {"status": {"phase": "Failed"}},
                           subresource="status")  # fmt: skip

        async def phase_shown() -> None:
            row = table.get_row("reviewer")
            assert str(row[4]) == "Failed" and row[4].style == "bold red"

        await eventually(phase_shown)


async def test_filter_regex_inverse_and_label_selector(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE) as pilot:
        await listed(app)
        await pilot.press("slash", *"rev")
        assert rows(app) == ["reviewer"]
        await pilot.press("escape")
        assert rows(app) == ["auditor", "reviewer", "triage"]
        await pilot.press("slash", "!", *"task")
        assert rows(app) == ["reviewer", "triage"]
        await pilot.press("escape", "slash", *"-l team=support")
        assert rows(app) == ["triage"]


async def test_typing_keeps_its_keys_and_the_mouse_opens_a_row(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    """Letters that are bindings elsewhere (j, e, y, ?, :) are text in the filter; a click on
    a row and a paste both work as a user expects."""
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE) as pilot:
        await listed(app)
        await pilot.press("slash", *"jey?:")
        assert isinstance(app.screen, ResourceListScreen) and rows(app) == []
        assert app.screen.query_one(Input).value == "jey?:"
        app.screen.query_one(Input).value = ""
        app.screen.query_one(Input).post_message(events.Paste("triage"))  # bracketed paste
        await pilot.pause()
        assert rows(app) == ["triage"]
        app.screen.query_one(Input).value = ""
        await pilot.press("escape")
        assert rows(app) == ["auditor", "reviewer", "triage"]
        await pilot.click("#table", offset=(4, 2))  # the second row (below the header)
        await pilot.click("#table", offset=(4, 2))
        await eventually(lambda: _detail_of(app, "reviewer"))


async def _detail_of(app: AgentOpsApp, name: str) -> None:
    assert isinstance(app.screen, DetailScreen) and app.screen.name_ == name


async def test_command_line_opens_views_and_reports_unknown_commands(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await listed(app)
        await pilot.press("colon", "a", "r", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ResourceListScreen) and screen.kind.kind == "AgentRun"
        assert "AgentRuns" in screen.query_one(LocationBar).render().plain
        await pilot.press("escape")
        assert isinstance(app.screen, ResourceListScreen) and app.screen.kind.kind == "Agent"
        depth = len(app.screen_stack)
        for command in ("ar", "ag", "ar", "ag"):  # back and forth returns to open views
            await pilot.press("colon", *command, "enter")
            await pilot.pause()
        assert len(app.screen_stack) == depth
        await pilot.press("colon", *"nonsense", "enter")
        await pilot.pause()
        assert any("unknown command 'nonsense'" in n.message for n in app._notifications)


async def test_yaml_delete_help_and_cursor_keys(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE) as pilot:
        await listed(app)
        await pilot.press("j")  # auditor -> reviewer
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, YamlScreen)
        text = app.screen.query_one(TextArea).text
        assert "name: reviewer" in text and "managedFields" not in text
        await pilot.press("escape", "G")
        screen = app.screen
        assert isinstance(screen, ResourceListScreen) and screen.selected_name() == "triage"
        await pilot.press("ctrl+d", "y")

        async def deleted() -> None:
            assert await agents.get(types.AGENT, namespace, "triage") is None
            assert "triage" not in rows(app)

        await eventually(deleted)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        help_rows = app.screen.query_one(DataTable)
        ids = {str(help_rows.get_row_at(i)[2]) for i in range(help_rows.row_count)}
        assert {"resources.yaml", "resources.delete", "app.command-line"} <= ids


async def test_keymap_remaps_by_id_and_readonly_hides_writes(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    config = ConsoleConfig(keymap={"resources.yaml": "v"})
    app = await console(kube, namespace, config=config, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await listed(app)
        await pilot.press("y")
        assert isinstance(app.screen, ResourceListScreen), "y is no longer YAML"
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, ResourceListScreen), "no delete when read-only"
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, YamlScreen)
    assert await agents.get(types.AGENT, namespace, "auditor") is not None


async def editor_shown(app: AgentOpsApp) -> EditorScreen:
    async def shown() -> EditorScreen:
        assert isinstance(app.screen, EditorScreen)
        return app.screen

    return await eventually(shown)


async def test_edit_shows_the_diff_then_applies_and_an_invalid_edit_stays_open(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await listed(app)
        await pilot.press("j", "e")  # reviewer
        editor = await editor_shown(app)
        text = editor.editor.text
        assert "name: reviewer" in text and "managedFields" not in text
        editor.editor.load_text(text.replace("maxSteps: 100", "maxSteps: 100000"))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen), "out of range: not sent, editor stays"
        assert editor.editor.text.startswith("#!")
        assert "text: maxSteps: 100000" not in editor.editor.text
        assert "maxSteps: 100000" in editor.editor.text, "the user's text is kept"
        fixed = editor.editor.text.replace("maxSteps: 100000", "maxSteps: 42")
        editor.editor.load_text(fixed)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen)
        assert "+  maxSteps: 42" in str(app.screen.diff)
        await pilot.press("y")

        async def applied() -> None:
            live = await agents.get(types.AGENT, namespace, "reviewer")
            assert live is not None and live["spec"]["maxSteps"] == 42
            managers = {m["manager"] for m in live["metadata"]["managedFields"]}
            assert "agentops-console" in managers
            assert isinstance(app.screen, ResourceListScreen)

        await eventually(applied)


async def test_new_from_a_template_creates_the_object(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE) as pilot:
        await listed(app)
        await pilot.press("colon", *"ares", "enter")

        async def resources_view() -> None:
            assert isinstance(app.screen, ResourceListScreen)
            assert app.screen.kind.kind == "AgentResource"

        await eventually(resources_view)
        await pilot.press("n")
        editor = await editor_shown(app)
        template = editor.editor.text
        assert "kind: AgentResource" in template
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen)
        await pilot.press("y")

        async def created() -> None:
            listing = await agents.list(types.AGENT_RESOURCE, namespace)
            assert len(listing["items"]) == 1
            managers = {m["manager"] for m in listing["items"][0]["metadata"]["managedFields"]}
            assert managers == {"agentops-console"}

        await eventually(created)


async def test_detail_shows_conditions_events_and_related_runs(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    status = {"phase": "Pending", "conditions": [
        {"type": "Ready", "status": "False", "reason": "Pending", "message": "Waiting for it",
         "lastTransitionTime": "2026-01-01T00:00:00Z"}]}  # fmt: skip
    await agents.patch(types.AGENT, namespace, "reviewer", {"status": status}, subresource="status")
    await create(agents, namespace, agent_run("review-1", "reviewer"))
    event = {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "reviewer.1"},
        "involvedObject": {"kind": "Agent", "name": "reviewer", "namespace": namespace},
        "type": "Warning", "reason": "ApplyFailed", "message": "quota exceeded",
        "lastTimestamp": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    await create(agents, namespace, event)
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE) as pilot:
        await listed(app)
        await pilot.press("j", "enter")

        async def shown() -> None:
            screen = app.screen
            assert isinstance(screen, DetailScreen)
            assert "AgentRun review-1" in screen.related_lines
            assert "Provider anthropic" in screen.related_lines

        await eventually(shown)
        await pilot.press("escape", "c")
        assert app.clipboard == "reviewer"
        await pilot.press("enter")
        await eventually(shown)
        app.screen.query_one("#related", OptionList).focus()
        await pilot.press("enter")  # the newest run comes first

        async def opened() -> None:
            screen = app.screen
            assert isinstance(screen, DetailScreen) and screen.name_ == "review-1"
            assert "Agent reviewer" in screen.related_lines

        await eventually(opened)


async def test_a_wide_list_shows_the_highlighted_object_beside_it(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    await create(agents, namespace, agent_run("review-1", "reviewer"))
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE) as pilot:
        await listed(app)
        pane = app.screen.query_one(ObjectDetail)
        assert app.screen.query_one("#side").display
        await pilot.press("j")

        async def follows() -> None:
            assert pane.obj is not None and pane.obj["metadata"]["name"] == "reviewer"
            assert "AgentRun review-1" in [str(item) for item in pane.related]

        await eventually(follows)
    app = await console(kube, namespace)
    async with app.run_test(size=(80, 24)):
        await listed(app)
        await eventually(lambda: _one_pane(app))


async def _one_pane(app: AgentOpsApp) -> None:
    assert not app.screen.query_one("#side").display, "one pane below 100 columns"


def rendered(table: Any) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_conditions_and_events_tables_say_what_happened() -> None:
    now = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    obj = {"status": {"conditions": [
        {"type": "Ready", "status": "False", "reason": "Pending", "message": "Waiting for it",
         "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}  # fmt: skip
    text = rendered(conditions_table(obj, now))
    assert "Ready" in text and "Waiting for it" in text and "60m" in text
    events = [{"type": "Warning", "reason": "ApplyFailed", "message": "quota exceeded",
               "lastTimestamp": "2026-01-01T00:59:30Z"}]  # fmt: skip
    assert "quota exceeded" in rendered(events_table(events, now))


async def test_r_starts_a_run_of_the_agent_with_the_typed_prompt(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE) as pilot:
        await listed(app)
        await pilot.press("j", "r")
        await pilot.pause()
        assert isinstance(app.screen, RunPromptScreen)
        await pilot.press(*"check the pods", "enter")

        async def started() -> None:
            runs = (await agents.list(types.AGENT_RUN, namespace))["items"]
            assert [(r["spec"]["agentRef"], r["spec"]["prompt"], r["spec"]["source"])
                    for r in runs] == [("reviewer", "check the pods", "console")]  # fmt: skip

        await eventually(started)


async def test_the_palette_finds_an_agent_by_name_and_opens_it(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE) as pilot:
        await listed(app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Agent triage")

        async def offered() -> None:
            await pilot.pause()
            await pilot.press("enter")
            assert isinstance(app.screen, DetailScreen)
            assert app.screen.obj["metadata"]["name"] == "triage"

        await eventually(offered)


async def test_ns_switches_the_namespace_by_command_and_from_the_namespace_list(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    other = await agents.create(types.NAMESPACE, None, {"metadata": {"generateName": "t-"}})
    other_name = other["metadata"]["name"]
    await create(agents, other_name, agent("elsewhere"))
    app = await console(kube, namespace)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await listed(app)
            await pilot.press("colon", *f"ns {other_name}", "enter")

            async def switched() -> None:
                assert rows(app) == ["elsewhere"]
                bar = app.screen.query_one(LocationBar).render().plain
                assert f"ns {other_name}" in bar

            await eventually(switched)
            await pilot.press("colon", *"ns", "enter")

            async def namespaces() -> None:
                screen = app.screen
                assert isinstance(screen, ResourceListScreen) and screen.kind.kind == "Namespace"
                assert namespace in rows(app)

            await eventually(namespaces)
            app.screen.select(namespace)  # type: ignore[attr-defined]
            await pilot.press("enter")

            async def back() -> None:
                assert rows(app) == ["auditor", "reviewer", "triage"]

            await eventually(back)
    finally:
        await agents.delete(types.NAMESPACE, None, other_name)


async def test_actions_rbac_forbids_are_hidden(
    kube: client.ApiClient, namespace: str, agents: Kube, control_plane: ControlPlane
) -> None:
    """`tester` may only read our kinds here: edit, new, run and delete are not offered."""
    rules = [{"apiGroups": ["agents.agentops.io"], "resources": ["*"],
              "verbs": ["get", "list", "watch"]}]  # fmt: skip
    await agents.create(types.ROLE, namespace, {"metadata": {"name": "read"}, "rules": rules})
    binding = {
        "metadata": {"name": "read"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read"},
        "subjects": [{"kind": "User", "name": ControlPlane.LIMITED_USER}],
    }
    await agents.create(types.ROLE_BINDING, namespace, binding)
    async with await api_client(control_plane.limited_kubeconfig) as limited:
        app = await console(limited, namespace)
        async with app.run_test(size=SIZE) as pilot:
            await listed(app)
            screen = app.screen
            assert isinstance(screen, ResourceListScreen)
            offered = {b.binding.action for b in screen.active_bindings.values()}
            assert "yaml" in offered
            assert not {"edit", "new", "run", "delete"} & offered
            await pilot.press("ctrl+d")
            await pilot.pause()
            assert app.screen is screen, "no delete dialog"
    admin = await console(kube, namespace)
    async with admin.run_test(size=SIZE):
        await listed(admin)
        offered = {b.binding.action for b in admin.screen.active_bindings.values()}
        assert {"edit", "new", "run", "delete"} <= offered


async def test_an_agent_whose_newest_run_failed_is_marked(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE):
        await listed(app)
        table = app.screen.query_one(DataTable)
        assert str(table.get_row("triage")[0]) == ""
        await create(agents, namespace, agent_run("triage-1", "triage"))
        await agents.patch(types.AGENT_RUN, namespace, "triage-1",
                           {"status": {"phase": "Failed"}}, subresource="status")  # fmt: skip

        async def marked() -> None:
            mark = table.get_row("triage")[0]
            assert str(mark) == "✗" and mark.style == "bold red"
            assert str(table.get_row("reviewer")[0]) == ""

        await eventually(marked)
        await create(agents, namespace, agent_run("triage-2", "triage"))

        async def cleared() -> None:  # the newest run has not failed
            assert str(table.get_row("triage")[0]) == ""

        await eventually(cleared)


async def test_an_agent_waiting_for_a_person_is_marked_above_a_failed_run(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    """The mark follows status.pendingInput (written by the runtime) from the Agent watch: ! for
    permission, ? for a question, and a failed newest run shows again once nothing waits."""
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE):
        await listed(app)
        table = app.screen.query_one(DataTable)
        await create(agents, namespace, agent_run("triage-1", "triage"))
        await agents.patch(types.AGENT_RUN, namespace, "triage-1",
                           {"status": {"phase": "Failed"}}, subresource="status")  # fmt: skip

        def mark(expected: str, style: str) -> Callable[[], Awaitable[None]]:
            async def shown() -> None:
                cell = table.get_row("triage")[0]
                assert (str(cell), cell.style) == (expected, style)
                assert str(table.get_row("reviewer")[0]) == ""

            return shown

        await eventually(mark("✗", "bold red"))
        for kind, expected in (("permission", "!"), ("question", "?")):
            pending = {"kind": kind, "since": "2025-05-01T12:00:00Z", "requestID": "r-1",
                       "summary": "bash"}  # fmt: skip
            await agents.patch(types.AGENT, namespace, "triage",
                               {"status": {"pendingInput": pending}}, subresource="status")  # fmt: skip
            await eventually(mark(expected, "bold magenta"))
        await agents.patch(types.AGENT, namespace, "triage", {"status": {"pendingInput": None}},
                           subresource="status")  # fmt: skip
        await eventually(mark("✗", "bold red"))


async def test_ctx_switches_to_another_kubeconfig_context(
    control_plane: ControlPlane, namespace: str, agents: Kube, tmp_path: Path
) -> None:
    """`:ctx` lists the kubeconfig's contexts; picking one reconnects, in its namespace."""
    config = yaml.safe_load(control_plane.kubeconfig.read_text())
    first = config["contexts"][0]
    config["contexts"].append(
        {"name": "agents-team", "context": {**first["context"], "namespace": namespace}}
    )
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    args = argparse.Namespace(kubeconfig=str(kubeconfig))
    app = AgentOpsApp(
        console_cli._connector(args, first["name"], "default", {}),
        contexts=console_cli._contexts(args),
    )
    async with app.run_test(size=SIZE) as pilot:
        await eventually(lambda: _listing(app))
        await pilot.press("colon", *"ctx", "enter")
        await eventually(lambda: _picker_open(app))
        assert "agents-team" in str(
            app.screen.query_one(OptionList).get_option("agents-team").prompt
        )
        await pilot.press("down", "enter")

        async def switched() -> None:
            screen = app.screen
            assert isinstance(screen, ResourceListScreen)
            location = screen.query_one(LocationBar).location
            assert (location.context, location.namespace) == ("agents-team", namespace)
            assert screen.table.row_count == 3

        await eventually(switched)
        await pilot.press("colon", *"ctx nowhere", "enter")
        assert app.backend.location.context == "agents-team", "an unknown context changes nothing"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*f"context {first['name']}")

        async def back() -> None:
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            assert app.backend.location == Location("cluster", first["name"], "default")

        await eventually(back)


async def _listing(app: AgentOpsApp) -> None:
    assert isinstance(app.screen, ResourceListScreen)


async def _picker_open(app: AgentOpsApp) -> None:
    assert isinstance(app.screen, ContextPicker)


async def test_a_conflicting_save_reopens_the_editor_with_both_changes_kept(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    """Someone else changes the Agent while it is open: the save is refused with the
    resourceVersion, the editor reopens with the conflict on top and the user's text; a second
    save (deliberately over theirs) applies."""
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await listed(app)
        await pilot.press("j", "e")  # reviewer
        editor = await editor_shown(app)
        await agents.patch(types.AGENT, namespace, "reviewer", {"spec": {"temperature": 0.9}})
        editor.editor.load_text(editor.editor.text.replace("maxSteps: 100", "maxSteps: 61"))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen)
        await pilot.press("y")

        async def reopened() -> None:
            assert app.screen is editor
            assert editor.editor.text.startswith("#! Conflict: ")
            assert "maxSteps: 61" in editor.editor.text

        await eventually(reopened)
        live = await agents.get(types.AGENT, namespace, "reviewer")
        assert live is not None and live["spec"]["maxSteps"] == 100
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen)
        await pilot.press("y")

        async def applied() -> None:
            live = await agents.get(types.AGENT, namespace, "reviewer")
            assert live is not None and live["spec"]["maxSteps"] == 61
            assert isinstance(app.screen, ResourceListScreen)

        await eventually(applied)
        await pilot.press("e")
        editor = await editor_shown(app)
        await pilot.press("ctrl+e")
        still: object = app.screen
        assert still is editor, "no terminal to hand over in a headless run: stay here"


async def test_a_change_out_of_view_shows_when_its_row_scrolls_in(
    kube: client.ApiClient, namespace: str
) -> None:
    """Cells of rows out of view are updated when they come into view (so changes nobody can
    see cost no redraw), and then show the newest state."""
    rest = Kube(kube)
    names = [f"agent-{n:02d}" for n in range(40)]
    await asyncio.gather(*(create(rest, namespace, agent(name)) for name in names))
    app = await console(kube, namespace)
    async with app.run_test(size=(80, 24)) as pilot:
        await eventually(lambda: _rows_listed(app, 40))
        screen = app.screen
        assert isinstance(screen, ResourceListScreen)
        status = {"status": {"phase": "Failed"}}
        await rest.patch(types.AGENT, namespace, "agent-39", status, subresource="status")
        await eventually(lambda: _waits_out_of_view(screen, "agent-39"))
        assert str(screen.table.get_cell("agent-39", "Phase")) != "Failed"
        await pilot.press("G")

        async def newest_shown() -> None:
            await pilot.pause()
            assert str(screen.table.get_cell("agent-39", "Phase")) == "Failed"

        await eventually(newest_shown)


async def _rows_listed(app: AgentOpsApp, count: int) -> None:
    assert isinstance(app.screen, ResourceListScreen) and app.screen.table.row_count == count


async def _waits_out_of_view(screen: ResourceListScreen, name: str) -> None:
    assert (screen._objects[name].get("status") or {}).get("phase") == "Failed"
    assert name in screen._offscreen


async def test_runs_of_one_agent_and_a_runs_prompt_output_and_artifacts(
    kube: client.ApiClient, namespace: str, agents: Kube
) -> None:
    """`u` on an Agent (or `:ar NAME`) lists that Agent's runs alone; a run's detail shows its
    prompt, output, facts and artifacts as links."""
    for name, owner in (("review-1", "reviewer"), ("review-2", "reviewer"), ("audit-1", "auditor")):
        await create(agents, namespace, agent_run(name, owner, prompt=f"prompt of {name}"))
    status = {
        "phase": "Succeeded", "startTime": "2026-01-01T00:00:00Z",
        "completionTime": "2026-01-01T00:03:05Z", "output": "All **green**.", "tokensUsed": 1234,
        "outcome": {"intent": "change", "summary": "Fixed the flaky test", "artifacts": [
            {"kind": "mr", "url": "https://git.example.com/mr/42", "title": "Fix flake",
             "ref": "!42"}]},
    }  # fmt: skip
    await agents.patch(types.AGENT_RUN, namespace, "review-2", {"status": status},
                       subresource="status")  # fmt: skip
    app = await console(kube, namespace)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await listed(app)
        await pilot.press("j", "u")  # reviewer
        await eventually(lambda: _runs_listed(app, ["review-1", "review-2"]))
        screen = app.screen
        assert isinstance(screen, ResourceListScreen)
        assert screen.query_one(LocationBar).crumbs == ("AgentRuns", "of reviewer")
        assert not any(screen.check_action(a, ()) for a in ("chat", "runs", "memory"))
        await pilot.press("colon", *"chat auditor", "enter")
        assert any("runs as a task" in n.message for n in app._notifications)
        assert str(screen.table.get_cell("review-2", "Duration")) == "3m05s"
        await pilot.press("j", "enter")

        async def summary() -> None:
            detail = app.screen
            assert isinstance(detail, DetailScreen)
            shown = rendered(detail.query_one("#run", Static).content)
            assert "prompt of review-2" in shown and "All green." in shown
            assert "1234" in shown and "Fix flake" in shown and "!42" in shown

        await eventually(summary)
        links = rendered_links(app.screen.query_one("#run", Static).content)
        assert "https://git.example.com/mr/42" in links
        await pilot.press("colon", *"ar auditor", "enter")
        await eventually(lambda: _runs_listed(app, ["audit-1"]))


async def _runs_listed(app: AgentOpsApp, names: list[str]) -> None:
    screen = app.screen
    assert isinstance(screen, ResourceListScreen) and screen.kind.kind == "AgentRun"
    assert rows(app) == names


def rendered_links(renderable: Any) -> set[str]:
    """The hyperlink targets (OSC 8) a renderable carries."""
    console = Console(width=200, record=True)
    return {
        segment.style.link
        for segment in console.render(renderable)
        if segment.style is not None and segment.style.link
    }
