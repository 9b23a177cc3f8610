"""A kind's objects as a live table (k9s-style): the CRD's printer columns, colour by phase,
`/` filter, `j/k/g/G`, and the single-letter actions."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer
from textual.widgets.data_table import RowDoesNotExist

from agentops_tui.backends.base import Backend, BackendError, Object
from agentops_tui.backends.catalog import ResourceKind
from agentops_tui.backends.columns import cell
from agentops_tui.screens.confirm import ConfirmScreen
from agentops_tui.screens.detail import DetailScreen
from agentops_tui.screens.editor import EditorScreen
from agentops_tui.screens.logs import open_logs
from agentops_tui.screens.memory import open_memory
from agentops_tui.screens.run_prompt import RunPromptScreen
from agentops_tui.screens.yaml_view import YamlScreen
from agentops_tui.widgets.command_line import CommandLine
from agentops_tui.widgets.filter_bar import FilterBar, RowFilter
from agentops_tui.widgets.location_bar import LocationBar
from agentops_tui.widgets.object_detail import ObjectDetail
from agentops_tui.widgets.service_status import ServiceStatus

if TYPE_CHECKING:
    from agentops_tui.app import AgentOpsApp

TIMED = frozenset({"date", "duration"})
TIME_TICK = 5.0
"""Seconds between refreshing the clock-driven cells in view."""
WIDE = 100
"""Columns from which the highlighted object's detail shows beside the list."""
WITHOUT_SIDE_PANE = frozenset({"Event", "Namespace"})
"""Kinds whose rows already say all there is."""
WRITES = frozenset({"delete", "edit", "new", "run"})
"""Actions hidden with --readonly, where RBAC forbids them, and (but for delete) on kinds the
console does not own."""
ACTION_VERBS = {"delete": "delete", "edit": "update", "new": "create"}
FAILED_MARK = "✗"
PENDING_MARKS = {"permission": "!", "question": "?"}
FINISHED_MARK = "●"
"""A background chat's turn ended since it was last looked at."""
CHAT_MARKS = {**PENDING_MARKS, "failed": FAILED_MARK, "finished": FINISHED_MARK}
"""The Agent waits for a person: permission to run a tool, or answers to questions."""
FOLLOW_INTERVAL = 0.25
"""Seconds between applying changes to the rows: often enough to look live, rarely enough
that a thousand busy objects leave the keyboard responsive."""
PHASE_STYLES = {
    "Running": "green",
    "Ready": "green",
    "Succeeded": "green",
    "True": "green",
    "Pending": "yellow",
    "Queued": "yellow",
    "Deploying": "yellow",
    "Unknown": "yellow",
    "Failed": "bold red",
    FAILED_MARK: "bold red",
    **dict.fromkeys(PENDING_MARKS.values(), "bold magenta"),
    FINISHED_MARK: "bold cyan",
    "False": "red",
}
"""Colours by the values phase and Ready columns take."""


def styled(value: str) -> Text:
    return Text(value, style=PHASE_STYLES.get(value, ""))


class ResourceListScreen(Screen[None]):
    class NamespaceChosen(Message):
        """Enter on a namespace: the console should switch to it."""

        def __init__(self, chosen: str) -> None:
            super().__init__()
            self.chosen = chosen

    CSS_PATH = "resource_list.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]  # noqa: RUF012  (a ClassVar in Screen)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="resources.filter"),
        Binding("enter", "detail", "Detail", id="resources.detail"),
        Binding("y", "yaml", "YAML", id="resources.yaml"),
        Binding("l", "logs", "Logs", id="resources.logs"),
        Binding("c", "copy", "Copy name", id="resources.copy"),
        Binding("e", "edit", "Edit", id="resources.edit"),
        Binding("n", "new", "New", id="resources.new"),
        Binding("r", "run", "Run", id="resources.run"),
        Binding("u", "runs", "Runs", id="resources.runs"),
        Binding("t", "chat", "Chat", id="resources.chat"),
        Binding("m", "memory", "Memory", id="resources.memory"),
        Binding("ctrl+d", "delete", "Delete", id="resources.delete"),
        Binding("j", "cursor_down", "Down", show=False, id="resources.down"),
        Binding("k", "cursor_up", "Up", show=False, id="resources.up"),
        Binding("g", "top", "Top", show=False, id="resources.top"),
        Binding("G", "bottom", "Bottom", show=False, id="resources.bottom"),
        Binding("escape", "back", "Back", id="resources.back"),
    ]

    def __init__(
        self,
        backend: Backend,
        kind: ResourceKind,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        readonly: bool = False,
        *,
        agent: str | None = None,
    ) -> None:
        super().__init__(name=kind.kind)
        self.agent = agent
        """AgentRuns only: show the runs of this Agent alone."""
        self.backend = backend
        self.kind = kind
        self.clock = clock
        self.readonly = readonly
        self.row_filter = RowFilter()
        self._objects: dict[str, Object] = {}
        self._unlisten: Callable[[], None] | None = None
        self._dirty: set[str] = set()
        self._offscreen: set[str] = set()
        """Rows whose cells changed while out of view: any change to a DataTable cell makes it
        redraw every visible row, so a change nobody can see waits until its row scrolls in."""
        self._structure_changed = False
        self._flush_pending = False
        self._newest_runs: dict[str, tuple[str, str, str]] = {}
        """Agent name -> (creationTimestamp, name, phase) of its newest AgentRun (attention
        marks); runs made in the same second are ordered by name."""
        self._marks = any(c.type == "attention" for c in kind.columns)

    def compose(self) -> ComposeResult:
        crumbs = (self.kind.title,) if self.agent is None else (self.kind.title, f"of {self.agent}")
        yield LocationBar(self.backend.location, crumbs)
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, id="table")
        for column in self.kind.columns:
            table.add_column(column.name, key=column.name)
        with Horizontal(id="panes"):
            yield table
            if self.kind.kind not in WITHOUT_SIDE_PANE:
                with VerticalScroll(id="side"):
                    yield ObjectDetail(self.backend, self.kind.kind, None, self.clock)
        yield FilterBar()
        yield CommandLine()
        yield ServiceStatus(self.backend)
        yield Footer()

    def on_mount(self) -> None:
        self._objects = {
            o["metadata"]["name"]: o for o in self.backend.items(self.kind.kind) if self._shows(o)
        }
        if self._marks:
            for run in self.backend.items("AgentRun"):
                self._note_run(run)
        self._unlisten = self.backend.listen(self._changed)
        self.refill()
        self.watch(self.table, "scroll_y", self._scrolled, init=False)
        if any(column.type in TIMED for column in self.kind.columns):
            self.set_interval(TIME_TICK, self._tick)

    def _tick(self) -> None:
        """Ages and running durations move with the clock, not with events: the rows in view
        are looked at again (only cells whose text changed are redrawn)."""
        rows = self.table.ordered_rows
        shown = self._rows_on_screen()
        self._dirty.update(
            str(rows[i].key.value) for i in range(shown.start, min(shown.stop, len(rows)))
        )
        self._schedule_flush()

    def on_resize(self) -> None:
        self._scrolled()

    def on_unmount(self) -> None:
        if self._unlisten is not None:
            self._unlisten()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Writes are hidden when the console is read-only; edit and new are for our kinds."""
        if action in ("runs", "memory", "chat"):  # what only an Agent has
            return self.kind.kind == "Agent"
        if action not in WRITES:
            return True
        if self.readonly:
            return False
        if action == "run":
            return self.kind.kind == "Agent" and self.backend.allowed("create", "AgentRun")
        verb = ACTION_VERBS[action]
        return (self.kind.ours or action == "delete") and self.backend.allowed(verb, self.kind.kind)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#table", DataTable)

    def _changed(self, kind: str, event: str, obj: Object) -> None:
        """Remember what changed; the rows follow a few times a second (k9s refreshes every
        2 s), so a busy namespace cannot flood the screen with repaints between key presses."""
        if kind == "AgentRun" and self._marks and event != "DELETED":
            agent = self._note_run(obj)
            if agent in self._objects:
                self._dirty.add(agent)
                self._schedule_flush()
            return
        if kind != self.kind.kind or not self._shows(obj):
            return
        name = obj["metadata"]["name"]
        if event == "DELETED":
            self._objects.pop(name, None)
            self._structure_changed = True
        else:
            if name not in self._objects:
                self._structure_changed = True
            self._objects[name] = obj
            self._dirty.add(name)
        self._schedule_flush()

    def mark_changed(self, agent: str) -> None:
        """The agent's mark may have changed outside the backend (a background chat)."""
        if self._marks and agent in self._objects:
            self._dirty.add(agent)
            self._schedule_flush()

    def _shows(self, obj: Object) -> bool:
        return self.agent is None or (obj.get("spec") or {}).get("agentRef") == self.agent

    def _schedule_flush(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            self.set_timer(FOLLOW_INTERVAL, self._flush)

    def _note_run(self, run: Object) -> str:
        """Keep the newest run of its Agent; the Agent's name."""
        agent = str((run.get("spec") or {}).get("agentRef", ""))
        created = str(run["metadata"].get("creationTimestamp") or "")
        name = str(run["metadata"]["name"])
        phase = str((run.get("status") or {}).get("phase") or "")
        if (created, name) >= self._newest_runs.get(agent, ("", "", ""))[:2]:
            self._newest_runs[agent] = (created, name, phase)
        return agent

    def _flush(self) -> None:
        """Apply what changed since the last flush: cells in place where rows stay, a rebuild
        when rows come, go, or move in or out of the filter."""
        self._flush_pending = False
        dirty, self._dirty = self._dirty, set()
        table = self.table
        if not self._structure_changed:
            shown = self._rows_on_screen()
            for name in dirty:
                obj = self._objects.get(name)
                if obj is None:
                    continue
                cells = self.cells(obj)
                keeps = self.row_filter.keeps(cells, obj)
                if keeps != (name in table.rows):  # filtered in or out
                    self._structure_changed = True
                    break
                if not keeps:
                    continue
                if table.get_row_index(name) in shown:
                    self._update_row(name, cells)
                else:
                    self._offscreen.add(name)
        if self._structure_changed:
            self._structure_changed = False
            self.refill()

    def _rows_on_screen(self) -> range:
        """Indexes of the rows in view (one extra either side for the header and rounding)."""
        top = int(self.table.scroll_y)
        return range(max(0, top - 1), top + self.table.size.height + 1)

    def _update_row(self, name: str, cells: list[str]) -> None:
        table = self.table
        for column, value in zip(self.kind.columns, cells, strict=True):
            if str(table.get_cell(name, column.name)) != value:
                table.update_cell(name, column.name, styled(value))

    def _scrolled(self) -> None:
        """Rows that changed out of view get their new cells as they come into view."""
        if not self._offscreen:
            return
        table, shown = self.table, self._rows_on_screen()
        for name in [n for n in self._offscreen if n in table.rows]:
            obj = self._objects.get(name)
            if obj is not None and table.get_row_index(name) in shown:
                self._offscreen.discard(name)
                self._update_row(name, self.cells(obj))

    def cells(self, obj: Object) -> list[str]:
        now = self.clock()
        return [
            self._mark(obj) if c.type == "attention" else cell(obj, c.path, c.type, now)
            for c in self.kind.columns
        ]

    def _mark(self, agent: Object) -> str:
        """! when the agent waits for permission, ? when it waits for answers (its status says
        so), else what its background chat last announced (!, ?, ✗ failed, ● finished), else ✗
        when its newest run failed: a person can unblock a waiting agent now, a failure keeps."""
        pending = (agent.get("status") or {}).get("pendingInput") or {}
        if pending.get("kind") in PENDING_MARKS:
            return PENDING_MARKS[pending["kind"]]
        app: AgentOpsApp = self.app  # type: ignore[assignment]
        chat = app.chat_mark(agent["metadata"]["name"])
        if chat is not None:
            return CHAT_MARKS[chat]
        phase = self._newest_runs.get(agent["metadata"]["name"], ("", "", ""))[2]
        return FAILED_MARK if phase == "Failed" else ""

    def refill(self) -> None:
        """Rebuild the rows, keeping the cursor on the same object where it still shows."""
        table = self.table
        selected = self.selected_name()
        self._offscreen.clear()
        with self.app.batch_update():
            table.clear()
            for name in sorted(self._objects):
                obj = self._objects[name]
                cells = self.cells(obj)
                if self.row_filter.keeps(cells, obj):
                    table.add_row(*(styled(c) for c in cells), key=name)
        if selected is not None:
            self.select(selected)

    def selected_name(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return None if key.value is None else str(key.value)

    def select(self, name: str) -> None:
        """Put the cursor on the row of `name` (when it shows: not filtered out or deleted)."""
        with contextlib.suppress(RowDoesNotExist):
            self.table.move_cursor(row=self.table.get_row_index(name))

    def selected(self) -> Object | None:
        name = self.selected_name()
        return None if name is None else self._objects.get(name)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The side pane follows the cursor (coalesced: holding j costs one render)."""
        for pane in self.query(ObjectDetail):
            key = event.row_key.value
            pane.show(None if key is None else self._objects.get(str(key)))

    def on_filter_bar_applied(self, event: FilterBar.Applied) -> None:
        self.row_filter = event.row_filter
        self.refill()

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_top(self) -> None:
        self.table.move_cursor(row=0)

    def action_bottom(self) -> None:
        self.table.move_cursor(row=max(0, self.table.row_count - 1))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_yaml(self) -> None:
        obj = self.selected()
        if obj is not None:
            self.app.push_screen(YamlScreen(self.backend.location, self.kind, obj))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (the table handles the key itself)."""
        event.stop()
        self.action_detail()

    def action_detail(self) -> None:
        if self.kind.kind == "Namespace":  # k9s: enter on a namespace switches to it
            name = self.selected_name()
            if name is not None:
                self.post_message(self.NamespaceChosen(name))
            return
        obj = self.selected()
        if obj is not None:
            self.app.push_screen(DetailScreen(self.backend, self.kind, obj, self.clock))

    def action_memory(self) -> None:
        """The highlighted Agent's memory (`:mem NAME`)."""
        name = self.selected_name()
        if name is not None:
            app: AgentOpsApp = self.app  # type: ignore[assignment]
            open_memory(app, name)

    async def action_chat(self) -> None:
        """Talk to the highlighted Agent (its chat keeps running when you leave it)."""
        name = self.selected_name()
        if name is not None:
            app: AgentOpsApp = self.app  # type: ignore[assignment]
            await app.open_chat(name)

    def action_runs(self) -> None:
        """The highlighted Agent's runs alone (`:ar NAME`)."""
        name = self.selected_name()
        if name is not None:
            app: AgentOpsApp = self.app  # type: ignore[assignment]
            app.open_view("agentrun", name)

    def action_copy(self) -> None:
        """The name to the terminal's clipboard (OSC 52: works over SSH and in tmux)."""
        name = self.selected_name()
        if name is not None:
            self.app.copy_to_clipboard(name)
            self.notify(f"Copied {name}")

    async def action_edit(self) -> None:
        obj = self.selected()
        if obj is None:
            return
        name = obj["metadata"]["name"]
        try:
            session = await self.backend.edit(self.kind.kind, name)
        except BackendError as exc:
            self.notify(f"Cannot edit {self.kind.kind} {name}: {exc}", severity="error")
            return
        self.app.push_screen(EditorScreen(self.backend.location, session, name))

    def action_run(self) -> None:
        name = self.selected_name()
        if name is None:
            return

        async def start(prompt: str | None) -> None:
            if prompt is None:
                return
            try:
                run = await self.backend.start_run(name, prompt)
            except BackendError as exc:
                self.notify(f"Could not start a run of {name}: {exc}", severity="error")
                return
            self.notify(f"AgentRun {run} started")

        self.app.push_screen(RunPromptScreen(name), start)

    def action_new(self) -> None:
        session = self.backend.create(self.kind.kind)
        self.app.push_screen(EditorScreen(self.backend.location, session, "new"))

    def action_delete(self) -> None:
        obj = self.selected()
        if obj is None:
            return
        name = obj["metadata"]["name"]

        async def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                await self.backend.delete(self.kind.kind, name)
            except BackendError as exc:
                self.notify(f"Deleting {self.kind.kind} {name} failed: {exc}", severity="error")
                return
            self.notify(f"{self.kind.kind} {name} deleted")

        self.app.push_screen(ConfirmScreen(f"Delete {self.kind.kind} {name}?"), confirmed)

    def action_logs(self) -> None:
        """The logs of the row's pod (`l`, as in k9s); a notification when it has none."""
        name = self.selected_name()
        if name is not None:
            self.run_worker(open_logs(self.app, self.backend, self.kind, name), group="logs")
