"""`:mem` (every project of the namespace's memory service) and `m` on an Agent (its project):
search with the matches highlighted, type and project filters, a memory's detail, new and edit
in $EDITOR, soft and hard delete, sessions with their summaries, what the agent sees at the
start of a turn, export and import.

The web console shows its panel for task agents only and never offered sessions, the context
preview, hard delete, export or import (and took delete's 204 for a failure); here it is one
panel for every agent. Calls run in workers; what fails is a notification.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Label, Markdown, Select, Static, TextArea

from agentops_services.api.memory import Observation, ObservationWriteResult, Session
from agentops_tui.backends.base import Backend, BackendError, Location, ServiceRef
from agentops_tui.screens.confirm import ConfirmScreen
from agentops_tui.services.editing import Cancelled
from agentops_tui.services.error_header import with_error_header
from agentops_tui.services.external_editor import EditorError, editor_command, run_editor
from agentops_tui.services.memory_panel import (
    KNOWN_TYPES,
    ContextPreview,
    Draft,
    Found,
    Highlighted,
    ImportFileError,
    MemoryDocument,
    MemoryPanelClient,
    MemoryScope,
    MemoryServiceError,
    Rejected,
    agent_scope,
    check_import_file,
    edit_document,
    edit_until_read,
    new_document,
)
from agentops_tui.widgets.location_bar import LocationBar
from agentops_tui.widgets.service_status import ServiceStatus

if TYPE_CHECKING:
    from agentops_tui.app import AgentOpsApp

WIDE = 100
"""Columns from which the detail shows beside the results (below them when narrower)."""
SEARCH_DELAY = 0.3
"""Seconds of no typing before the search runs (enter runs it at once)."""
MATCH_STYLE = "bold black on yellow"
WRITES = frozenset({"new", "edit", "delete", "import"})
SUMMARY_WIDTH = 40
CHOSEN_BY = {"topic_key": "topic key", "fts5_bm25": "BM25 match", "recency": "recent"}
Answer = TypeVar("Answer")


def open_memory(app: AgentOpsApp, agent: str | None) -> None:
    """The panel on the namespace's memory service, or on one Agent's project (`:mem NAME`,
    `m`); a notification when that Agent is gone or has no memory."""
    scope = MemoryScope()
    if agent is not None:
        found = next(
            (o for o in app.backend.items("Agent") if o["metadata"]["name"] == agent), None
        )
        if found is None:
            app.notify(f"No Agent {agent} in this namespace", severity="error", markup=False)
            return
        agent_memory = agent_scope(found)
        if agent_memory is None:
            app.notify(
                f"Agent {agent} has no memory: set spec.memory.serverRef to give it one",
                severity="warning",
                markup=False,
            )
            return
        scope = agent_memory
    if not (isinstance(app.screen, MemoryScreen) and app.screen.scope == scope):
        app.push_screen(MemoryScreen(app.backend, scope, readonly=app.readonly))


def marked(found: Highlighted, style: str = "") -> Text:
    text = Text(found.text, style=style)
    for start, end in found.spans:
        text.stylize(MATCH_STYLE, start, end)
    return text


def about(observation: Observation) -> Text:
    """The detail's header: what the memory is, where it lives and how it has been used."""
    o = observation
    text = Text(o.title + "\n", style="bold")
    text.append(f"#{o.id} · {o.type} · project {o.project} · scope {o.scope}\n", style="dim")
    if o.topic_key:
        text.append(f"topic {o.topic_key}\n")
    if o.tags:
        text.append("tags " + ", ".join(o.tags) + "\n")
    text.append(f"revisions {o.revision_count} · seen {o.duplicate_count}×\n", style="dim")
    text.append(f"created {_short(o.created_at)} · updated {_short(o.updated_at)}", style="dim")
    if o.supersedes:
        text.append(f"\nreplaces #{o.supersedes}", style="dim")
    return text


def written(result: ObservationWriteResult) -> str:
    """What a save did, in words (the service may update or count instead of adding)."""
    if result.action == "updated":
        return f"Memory #{result.id} updated: it has the same topic key"
    if result.action == "deduplicated":
        return f"Already remembered as #{result.id} (seen {result.duplicate_count} times)"
    return f"Memory #{result.id} saved"


class MemoryScreen(Screen[None]):
    CSS_PATH = "memory.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]  # noqa: RUF012  (a ClassVar in Screen)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="memory.search"),
        Binding("n", "new", "New", id="memory.new"),
        Binding("e", "edit", "Edit", id="memory.edit"),
        Binding("d", "delete(False)", "Delete", id="memory.delete"),
        Binding("D", "delete(True)", "Erase", id="memory.erase"),
        Binding("s", "sessions", "Sessions", id="memory.sessions"),
        Binding("p", "context", "Context", id="memory.context"),
        Binding("x", "export", "Export", id="memory.export"),
        Binding("i", "import", "Import", id="memory.import"),
        Binding("j", "cursor_down", "Down", show=False, id="memory.down"),
        Binding("k", "cursor_up", "Up", show=False, id="memory.up"),
        Binding("escape", "back", "Back", id="memory.back"),
    ]

    def __init__(self, backend: Backend, scope: MemoryScope, *, readonly: bool = False) -> None:
        super().__init__(name="Memory")
        self.backend = backend
        self.scope = scope
        self.readonly = readonly
        self.found: dict[int, Found] = {}
        """The rows shown, by memory id."""
        self.shown: Observation | None = None
        """The memory in the detail pane (what `e` edits)."""
        self._client: MemoryPanelClient | None = None
        self._typing: Timer | None = None

    @property
    def crumbs(self) -> tuple[str, ...]:
        if self.scope.agent is None:
            return ("Memory",)
        return ("Memory", f"{self.scope.agent} (project {self.scope.project})")

    def compose(self) -> ComposeResult:
        yield LocationBar(self.backend.location, self.crumbs)
        with Horizontal(id="filters"):
            yield Input(
                placeholder="/ search: words, or a topic key like db/pool",
                id="search",
                compact=True,
            )
            yield Select([(t, t) for t in KNOWN_TYPES], prompt="any type", id="type", compact=True)
            if self.scope.project is None:
                yield Select([], prompt="all projects", id="project", compact=True)
        with Horizontal(id="panes"):
            table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, id="results")
            table.add_columns("#", "Type", "Memory")
            yield table
            with VerticalScroll(id="detail"):
                yield Static(id="about")
                yield Markdown(id="content")
        yield Static(id="summary")
        yield ServiceStatus(self.backend)
        yield Footer()

    def on_mount(self) -> None:
        self.results.focus()
        if self.scope.project is None:
            self._load_projects()
        self.search_now()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Writes are hidden when the console is read-only."""
        return not (self.readonly and action in WRITES)

    @property
    def results(self) -> DataTable[Text]:
        return self.query_one("#results", DataTable)

    @property
    def query_text(self) -> str:
        return self.query_one("#search", Input).value

    @property
    def project(self) -> str | None:
        """The Agent's project, else the one picked (None: all)."""
        if self.scope.project is not None:
            return self.scope.project
        picked = self.query_one("#project", Select).value
        return picked if isinstance(picked, str) else None

    @property
    def type_(self) -> str | None:
        picked = self.query_one("#type", Select).value
        return picked if isinstance(picked, str) else None

    async def _memory(self) -> MemoryPanelClient:
        """The client, made on first use (BackendError when the service cannot be reached)."""
        if self._client is None:
            if self.scope.service is None:  # the platform's own, wherever it is
                ref = self.backend.platform_services.memory
            else:  # an Agent's serverRef: a Service of its namespace, as the operator has it
                ref = replace(ServiceRef.memory(), name=self.scope.service)
            http = await self.backend.service(ref)
            self._client = MemoryPanelClient(http, self.backend.location.namespace)
        return self._client

    async def _ask(
        self, failed: str, call: Callable[[MemoryPanelClient], Awaitable[Answer]]
    ) -> Answer | None:
        """`call`'s answer, or None after a notification starting with `failed`."""
        try:
            return await call(await self._memory())
        except (BackendError, MemoryServiceError) as exc:
            self.notify(f"{failed}: {exc}", severity="error", timeout=8, markup=False)
            return None

    # --- results and detail ---------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "search":
            if self._typing is not None:
                self._typing.stop()
            self._typing = self.set_timer(SEARCH_DELAY, self.search_now)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the search: run it now and go to the results."""
        self.search_now()
        self.results.focus()

    def on_select_changed(self, _: Select.Changed) -> None:
        self.search_now()

    def search_now(self) -> None:
        if self._typing is not None:
            self._typing.stop()
            self._typing = None
        self._search()

    @work(group="results", exclusive=True)
    async def _search(self) -> None:
        query, project, type_ = self.query_text, self.project, self.type_
        found = await self._ask(
            "Search failed", lambda c: c.search(query, project=project, type_=type_)
        )
        if found is None:
            return
        self.found = {f.id: f for f in found}
        table = self.results
        with self.app.batch_update():
            table.clear()
            for f in found:
                memory = Text.assemble(marked(f.title, "bold"), "\n", marked(f.excerpt, "dim"))
                table.add_row(Text(str(f.id)), Text(f.type), memory, key=str(f.id), height=2)
        said = [f"{len(found)} most recent memories"]
        if query.strip():
            said = [f"{len(found)} matches for “{query.strip()}”, best first"]
        if type_:
            said.append(f"type {type_}")
        if project:
            said.append(f"project {project}")
        self.query_one("#summary", Static).update(" · ".join(said))
        if not found:
            await self._show(None)

    @work(group="projects")
    async def _load_projects(self) -> None:
        projects = await self._ask("Cannot list the projects", lambda c: c.projects())
        if projects:
            select = self.query_one("#project", Select)
            with select.prevent(Select.Changed):
                select.set_options((p, p) for p in projects)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The detail follows the cursor."""
        key = event.row_key.value
        if key is not None:
            self._detail(int(key))

    @work(group="detail", exclusive=True)
    async def _detail(self, observation_id: int) -> None:
        observation = await self._ask("Cannot read the memory", lambda c: c.get(observation_id))
        if observation is not None:
            await self._show(observation)

    async def _show(self, observation: Observation | None) -> None:
        self.shown = observation
        if observation is None:
            empty = "Nothing matches." if self.query_text.strip() else "No memories yet."
            self.query_one("#about", Static).update(Text(empty, style="dim"))
            await self.query_one("#content", Markdown).update("")
            return
        self.query_one("#about", Static).update(about(observation))
        await self.query_one("#content", Markdown).update(observation.content)

    def selected_id(self) -> int | None:
        table = self.results
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else int(key)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_cursor_down(self) -> None:
        self.results.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.results.action_cursor_up()

    def action_back(self) -> None:
        """Out of the search box first, then back to where the panel was opened."""
        if self.query_one("#search", Input).has_focus:
            self.results.focus()
        else:
            self.app.pop_screen()

    # --- writes ---------------------------------------------------------------------------

    def action_new(self) -> None:
        document = new_document(self.project, self.type_)
        self.edit(document, document.text)

    def action_edit(self) -> None:
        if self.shown is not None and self.shown.id == self.selected_id():
            document = edit_document(self.shown)
            self.edit(document, document.text)

    def edit(self, document: MemoryDocument, shown: str) -> None:
        """In $KUBE_EDITOR/$EDITOR with the terminal handed over (until the text reads as a
        memory); where the terminal cannot be handed over, in the console."""
        command = editor_command(os.environ)
        name = f"memory-{document.observation_id or 'new'}"
        try:
            with self.app.suspend():
                outcome = edit_until_read(
                    document, shown, lambda text: run_editor(text, command, name, ".md")
                )
        except SuspendNotSupported:
            self.notify(
                "This terminal cannot be handed to $EDITOR: edit here", timeout=4, markup=False
            )
            self.app.push_screen(
                MemoryEditorScreen(document, shown), lambda done: self._edited(document, done)
            )
            return
        except EditorError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return
        self._edited(document, outcome)

    def _edited(self, document: MemoryDocument, outcome: Draft | Cancelled | None) -> None:
        if isinstance(outcome, Cancelled):
            self.notify(f"Nothing saved: {outcome.reason}", markup=False)
        elif isinstance(outcome, Draft):
            self._save(document, outcome)

    @work(group="write")
    async def _save(self, document: MemoryDocument, draft: Draft) -> None:
        """Create or change the memory; when the service refuses, the editor comes back with
        the user's text and the reason on top."""
        observation_id = document.observation_id
        try:
            client = await self._memory()
            if observation_id is None:
                result = await client.create(draft)
                observation_id, said = result.id, written(result)
            else:
                await client.update(observation_id, document.changes(draft))
                said = f"Memory #{observation_id} saved"
        except (BackendError, MemoryServiceError) as exc:
            self.notify(f"Not saved: {exc}", severity="error", timeout=8, markup=False)
            reopen = with_error_header(draft.source, [f"not saved: {exc}"])
            self.call_later(self.edit, document, reopen)
            return
        self.notify(said, markup=False)
        self.search_now()
        self._detail(observation_id)

    def action_delete(self, hard: bool) -> None:
        observation_id = self.selected_id()
        if observation_id is None:
            return
        title = self.found[observation_id].title.text
        if hard:
            question = (
                f"Erase memory #{observation_id} “{title}” for good? It is removed from the "
                "database: no search, context or export will have it again."
            )
        else:
            question = (
                f"Delete memory #{observation_id} “{title}”? It stops being searched and put "
                "into turns; the database keeps it (D erases it)."
            )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._delete(observation_id, hard)

        self.app.push_screen(ConfirmScreen(question), confirmed)

    @work(group="write")
    async def _delete(self, observation_id: int, hard: bool) -> None:
        async def delete(client: MemoryPanelClient) -> bool:
            await client.delete(observation_id, hard=hard)
            return True

        if await self._ask("Not deleted", delete):
            self.notify(f"Memory #{observation_id} {'erased' if hard else 'deleted'}", markup=False)
            self.search_now()

    # --- sessions, context, export and import ---------------------------------------------

    def action_sessions(self) -> None:
        self._sessions()

    @work(group="sessions", exclusive=True)
    async def _sessions(self) -> None:
        project = self.project
        sessions = await self._ask("Cannot list the sessions", lambda c: c.sessions(project))
        if sessions is not None:
            crumbs = (*self.crumbs, "sessions")
            await self.app.push_screen(
                SessionsScreen(self.backend.location, crumbs, sessions, project is None)
            )

    def action_context(self) -> None:
        project = self.project
        if project is None:
            self.notify(
                "Pick a project first: each has its own context", severity="warning", markup=False
            )
            return
        self._preview(project)

    @work(group="context", exclusive=True)
    async def _preview(self, project: str) -> None:
        query, limit = self.query_text.strip(), self.scope.context_limit or 5
        preview = await self._ask(
            "Cannot preview the context", lambda c: c.context(project, query, limit)
        )
        if preview is not None:
            crumbs = (*self.crumbs, "context")
            screen = ContextScreen(self.backend.location, crumbs, preview, query, self.scope)
            await self.app.push_screen(screen)

    def action_export(self) -> None:
        project = self.project
        default = f"memory-{project or 'all'}.jsonl"
        what = f"project {project}" if project else "every project"

        def chosen(path: Path | None) -> None:
            if path is None:
                return

            def export(yes: bool | None = True) -> None:
                if yes:
                    self._export(path, project)

            if path.exists():
                self.app.push_screen(ConfirmScreen(f"Replace {path}?"), export)
            else:
                export()

        self.app.push_screen(PathPrompt(f"Export the memories of {what} to", default), chosen)

    @work(group="transfer")
    async def _export(self, path: Path, project: str | None) -> None:
        counts = await self._ask("Not exported", lambda c: c.export(path, project))
        if counts is not None:
            self.notify(
                f"Exported {counts.observations} memories and {counts.sessions} sessions to {path}",
                markup=False,
            )

    def action_import(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self._check_import(path)

        prompt = PathPrompt("Import memories from an export (JSON lines)", "memory.jsonl")
        self.app.push_screen(prompt, chosen)

    @work(group="transfer")
    async def _check_import(self, path: Path) -> None:
        """Every line is read and checked before anything is sent: a bad one is named and
        nothing is imported."""
        try:
            counts = await asyncio.to_thread(check_import_file, path)
        except ImportFileError as exc:
            self.notify(f"Not imported: {exc}", severity="error", timeout=10, markup=False)
            return
        question = (
            f"Import {counts.observations} memories and {counts.sessions} sessions from {path}?"
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._import(path)

        self.app.push_screen(ConfirmScreen(question), confirmed)

    @work(group="transfer")
    async def _import(self, path: Path) -> None:
        result = await self._ask("Not imported", lambda c: c.import_file(path))
        if result is not None:
            self.notify(
                f"Imported {result.imported_observations} memories and "
                f"{result.imported_sessions} new sessions",
                markup=False,
            )
            if self.scope.project is None:
                self._load_projects()
            self.search_now()


class MemoryEditorScreen(ModalScreen[Draft | Cancelled]):
    """The memory's text in the console, where no external editor can have the terminal:
    ctrl+s reads it back (a problem comes back on top of the text), escape cancels."""

    CSS_PATH = "memory.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="memory-editor.save"),
        Binding("escape", "cancel", "Cancel", id="memory-editor.cancel"),
    ]

    def __init__(self, document: MemoryDocument, shown: str) -> None:
        super().__init__()
        self.document = document
        self.shown = shown

    def compose(self) -> ComposeResult:
        number = self.document.observation_id
        what = "a new memory" if number is None else f"memory #{number}"
        with Vertical():
            yield Label(f"Editing {what}: [b]ctrl+s[/b] saves, [b]escape[/b] cancels")
            yield TextArea(
                self.shown, language="markdown", show_line_numbers=True, id="memory-text"
            )
        yield Footer()

    def action_save(self) -> None:
        editor = self.query_one("#memory-text", TextArea)
        outcome = self.document.review(self.shown, editor.text)
        if isinstance(outcome, Rejected):
            self.shown = outcome.reopen_text
            editor.load_text(outcome.reopen_text)
            self.notify(f"Not saved: {outcome.message}", severity="error", timeout=8, markup=False)
            return
        self.dismiss(outcome)

    def action_cancel(self) -> None:
        self.dismiss(Cancelled("editing was cancelled"))


class PathPrompt(ModalScreen[Path | None]):
    """A file name for export or import: enter takes it (`~` expanded), escape cancels."""

    CSS_PATH = "memory.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="memory-path.cancel"),
    ]

    def __init__(self, question: str, default: str) -> None:
        super().__init__()
        self.question = question
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.question))
            yield Input(self.default, placeholder="a file path", id="path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(Path(event.value.strip()).expanduser())

    def action_cancel(self) -> None:
        self.dismiss(None)


class SessionsScreen(Screen[None]):
    """The project's conversations, newest first, with the summary each left behind (the
    summaries feed the next turns' context)."""

    CSS_PATH = "memory.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="memory-sessions.back"),
    ]

    def __init__(
        self, location: Location, crumbs: tuple[str, ...], sessions: list[Session], projects: bool
    ) -> None:
        super().__init__(name="Memory sessions")
        self.location = location
        self.crumbs = crumbs
        self.sessions = {s.id: s for s in sessions}
        self.projects = projects
        """Show each session's project (the panel is on every project)."""

    def compose(self) -> ComposeResult:
        yield LocationBar(self.location, self.crumbs)
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, id="sessions")
        table.add_columns("Started", "Ended", "Messages", *["Project"] * self.projects, "Summary")
        for s in self.sessions.values():
            started, ended = _short(s.started_at), _short(s.ended_at or "") or "open"
            if ended[:10] == started[:10]:
                ended = ended[11:]  # the same day: the time says it
            cells = [started, ended, str(s.message_count),
                     *[s.project] * self.projects, _one_line(s.summary or "")]  # fmt: skip
            table.add_row(*map(Text, cells), key=s.id)  # Text: summaries are not markup
        yield table
        with VerticalScroll(id="session-detail"):
            yield Static(Text("No sessions yet.", style="dim"), id="session-summary")
        yield Footer()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        session = self.sessions.get(str(event.row_key.value))
        if session is not None:
            text = Text(f"{session.id}\n", style="dim")
            text.append(session.summary or "no summary: still open, or ended with no messages")
            self.query_one("#session-summary", Static).update(text)


def _short(moment: str) -> str:
    """`2025-01-09T07:00:00Z` as `2025-01-09 07:00` (the service stores whole seconds, UTC)."""
    return moment[:16].replace("T", " ")


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_WIDTH else text[: SUMMARY_WIDTH - 1] + "…"


class ContextScreen(Screen[None]):
    """What the agent's runtime puts into its system prompt at the start of a turn about the
    searched words: the picks and how each was chosen, then the block verbatim."""

    CSS_PATH = "memory.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="memory-context.back"),
    ]

    def __init__(
        self,
        location: Location,
        crumbs: tuple[str, ...],
        preview: ContextPreview,
        prompt: str,
        scope: MemoryScope,
    ) -> None:
        super().__init__(name="Memory context")
        self.location = location
        self.crumbs = crumbs
        self.preview = preview
        self.prompt = prompt
        self.scope = scope

    def compose(self) -> ComposeResult:
        yield LocationBar(self.location, self.crumbs)
        with VerticalScroll():
            yield Static(self._heading(), id="context-heading")
            yield Static(self._picks(), id="context-picks")
            block = self.preview.block or "(nothing: no summaries and no memories to inject)"
            verbatim = Static(Text(block), id="context-block")
            verbatim.border_title = "into the system prompt, verbatim"
            yield verbatim
        yield Footer()

    def _heading(self) -> Text:
        who = self.scope.agent or "an agent"
        turn = (
            f"a turn about “{self.prompt}”" if self.prompt else "a turn (no search: newest first)"
        )
        text = Text(f"What {who} sees at the start of {turn}\n", style="bold")
        sessions = self.preview.sessions
        text.append(
            f"{len(self.preview.observations)} memories (at most {self.scope.context_limit}) and "
            f"{sessions} session {'summary' if sessions == 1 else 'summaries'} · "
            f"about {self.preview.tokens} tokens",
            style="dim",
        )
        if not self.scope.injects_context or not self.scope.context_limit:
            text.append(
                "\nThis agent's turns get none of it: spec.memory.autoSearch is off or "
                "contextLimit is 0.",
                style="yellow",
            )
        return text

    def _picks(self) -> Table:
        table = Table(box=None, show_edge=False, pad_edge=False)
        for column in ("#", "Chosen by", "Type", "Title"):
            table.add_column(column, style="dim" if column == "#" else "")
        for o in self.preview.observations:
            cells = [str(o.id or ""), CHOSEN_BY.get(o.method or "", ""), o.type, o.title]
            table.add_row(*map(Text, cells))  # Text: titles are not markup
        return table
