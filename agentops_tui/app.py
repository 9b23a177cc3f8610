"""The AgentOps console: a thin shell. Screens do the work; the backend (cluster or embedded)
is chosen by the caller and is the only thing the screens talk to."""

from __future__ import annotations

import asyncio
import gc
import importlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen

from agentops_tui.backends.base import Backend, ServiceRef
from agentops_tui.config import ConsoleConfig
from agentops_tui.palette import ConsoleCommands
from agentops_tui.screens.connecting import ConnectingScreen
from agentops_tui.widgets.command_line import CommandLine
from agentops_tui.widgets.location_bar import LocationBar

if TYPE_CHECKING:  # imported behind the first frame (see _load_views)
    import httpx

    from agentops_services.local.errors import FileProblem
    from agentops_tui.screens.resource_list import ResourceListScreen
    from agentops_tui.services.chat.session import Alert, AlertKind, ChatSession, ChatSessions
    from agentops_tui.services.chat.transcript import Change
    from agentops_tui.services.composer import SlashCommand

HOME = "agents"
REMEMBERED_TITLE = 80
"""Characters of a `/remember` text's first line that become the memory's title."""


class AgentOpsApp(App[None]):
    backend: Backend

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "AgentOps"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("colon", "command_line", "Command", id="app.command-line"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
    ]

    def __init__(
        self,
        connect: Callable[[str | None], Awaitable[Backend]],
        config: ConsoleConfig | None = None,
        *,
        readonly: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        where: str = "the cluster",
        contexts: Callable[[], list[str]] = list,
    ) -> None:
        super().__init__()
        self.where = where
        self.connect = connect
        """Makes the backend for a context (None: the one the console was started with)."""
        self.contexts = contexts
        """The contexts `:ctx` offers (the kubeconfig's)."""
        self.config = config or ConsoleConfig()
        self.readonly = readonly
        self.clock = clock
        self.unseen: dict[str, AlertKind] = {}
        """Agents whose chat finished or failed a turn nobody looked at."""
        self._followed: set[str] = set()
        """Agents whose chat state the Agent list follows."""
        self.problems: list[FileProblem] = []
        self.warning = ""
        """What every screen's header keeps saying (see LocationBar.warning)."""

    async def on_mount(self) -> None:
        if self.config.theme:
            self.theme = self.config.theme
        if self.config.keymap:
            self.set_keymap(dict(self.config.keymap))
        # The first frame comes at once; the heavy parts load in a thread behind it.
        self.push_screen(ConnectingScreen(self.where))
        # after that frame is drawn: connecting may import or block, the frame must not wait
        self.call_after_refresh(self.run_worker, self._start(), exclusive=True, name="connect")

    async def _start(self) -> None:
        await asyncio.to_thread(_load_views)
        try:
            self.backend = await self.connect(None)
            await self.backend.start()
        except Exception as exc:  # shown, not raised: the user must read it
            screen = self.screen
            if isinstance(screen, ConnectingScreen):
                screen.failed(f"cannot connect ({type(exc).__name__}: {exc})")
            return
        self.chats = self._chats()
        self.switch_screen(self._view(HOME))
        self.backend.listen_problems(self._problems_changed)
        # Everything made so far lives as long as the console: the imported libraries, the
        # caches of the first listing. Frozen, the collector's full passes stop scanning it:
        # with 1,000 Agents listed a full pass took 150-250 ms, a visible stall whenever a
        # large trace or a long chat had made enough new objects to set one off.
        self.call_after_refresh(gc.freeze)

    def _chats(self) -> ChatSessions:
        """The open chats of the current backend (a context or namespace has its own)."""
        from agentops_tui.services.chat.session import ChatSessions  # noqa: PLC0415

        backend = self.backend

        async def opener(agent: str) -> httpx.AsyncClient:
            return await backend.service(ServiceRef.runtime(agent))

        return ChatSessions(opener, self._alerted)

    def _alerted(self, alert: Alert) -> None:
        """An open chat needs a person (or finished): unless they are looking at it, a mark
        in the Agent list, a notification and the terminal bell."""
        from agentops_tui.screens.chat import ChatScreen  # noqa: PLC0415

        screen = self.screen
        if isinstance(screen, ChatScreen) and screen.session.agent == alert.agent:
            return
        if alert.kind in ("finished", "failed"):
            self.unseen[alert.agent] = alert.kind
        severity: SeverityLevel = "information" if alert.kind == "finished" else "warning"
        self.notify(alert.text, title="Chat", severity=severity)
        self.bell()
        self._marks_changed(alert.agent)

    def _problems_changed(self, problems: Sequence[FileProblem]) -> None:
        """A resource file became invalid (or was fixed), or, in a cluster, the platform's
        ConfigMap has a bad value: each new problem is told once, and the header says how many
        remain until they are fixed."""
        from agentops_tui.services.folder_problems import (  # noqa: PLC0415
            marker,
            new_problems,
            problem_line,
        )

        cluster = self.backend.location.mode == "cluster"
        title = "Platform configuration" if cluster else "Invalid resource file"
        severity: SeverityLevel = "warning" if cluster else "error"
        for problem in new_problems(self.problems, problems):
            self.notify(problem_line(problem), title=title, severity=severity, markup=False,
                        timeout=15)  # fmt: skip
        self.problems = list(problems)
        self.warning = marker(len(problems))
        for screen in self.screen_stack:
            for bar in screen.query(LocationBar):
                bar.warning = self.warning

    def show_problems(self) -> None:
        """`:problems`: every problem of the resource folder (of the platform's ConfigMap in
        a cluster), one line each."""
        from agentops_tui.services.folder_problems import problem_line  # noqa: PLC0415

        cluster = self.backend.location.mode == "cluster"
        if not self.problems:
            self.notify(
                "The platform's ConfigMap has no problems"
                if cluster
                else "The resource folder has no problems"
            )
            return
        lines = "\n".join(problem_line(p) for p in self.problems)
        title = "Platform configuration" if cluster else "Resource folder"
        self.notify(lines, title=title, severity="warning", markup=False, timeout=30)

    def _chat_changed(self, agent: str, change: Change) -> None:
        if change.status:  # requests opened or closed, the turn started or ended
            self._marks_changed(agent)

    def chat_mark(self, agent: str) -> AlertKind | None:
        """What the agent's chat needs: an open request (while it is open), else a turn that
        ended unseen."""
        session = self.chats.get(agent) if hasattr(self, "chats") else None
        if session is not None and session.transcript.permissions:
            return "permission"
        if session is not None and session.transcript.questions:
            return "question"
        return self.unseen.get(agent)

    def _marks_changed(self, agent: str) -> None:
        from agentops_tui.screens.resource_list import ResourceListScreen  # noqa: PLC0415

        for screen in self.screen_stack:
            if isinstance(screen, ResourceListScreen):
                screen.mark_changed(agent)

    async def open_chat(self, agent: str) -> None:
        """The agent's chat (opened on first use, then kept following in the background)."""
        from agentops_tui.screens.chat import ChatScreen  # noqa: PLC0415

        found = next(
            (a for a in self.backend.items("Agent") if a["metadata"]["name"] == agent), None
        )
        if found is None:
            self.notify(f"No Agent {agent!r} here", severity="error", markup=False)
            return
        if (found.get("spec") or {}).get("mode") == "task":
            self.notify(
                f"{agent} runs as a task: it has no chat (r starts a run)",
                severity="warning",
                markup=False,
            )
            return
        try:
            session = await self.chats.open(agent)
        except Exception as exc:  # no route to the runtime: say why, stay
            self.notify(f"Cannot open the chat of {agent}: {exc}", severity="error")
            return
        if session.agent not in self._followed:
            self._followed.add(agent)
            session.listen(partial(self._chat_changed, agent))
        if self.unseen.pop(agent, None) is not None:
            self._marks_changed(agent)
        await self.push_screen(ChatScreen(self.backend, session))

    async def on_unmount(self) -> None:
        if hasattr(self, "backend"):  # not when connecting failed
            await self.chats.close()
            await self.backend.stop()

    def _view(self, name: str, agent: str | None = None) -> Screen[None]:
        from agentops_tui.backends.catalog import find  # noqa: PLC0415  (loaded by _load_views)
        from agentops_tui.screens.resource_list import ResourceListScreen  # noqa: PLC0415

        kind = find(name)
        if kind is None or (agent is not None and kind.kind != "AgentRun"):
            raise LookupError(name)
        return ResourceListScreen(self.backend, kind, self.clock, self.readonly, agent=agent)

    def open_view(self, name: str, agent: str | None = None) -> bool:
        """Show the view a `:` command names (`agent`: only that Agent's runs); False when no
        kind has that name. A view already in the history is returned to (the screens above it
        close), so going back and forth between views never grows the stack."""
        from agentops_tui.backends.catalog import cluster_only, find  # noqa: PLC0415
        from agentops_tui.screens.resource_list import ResourceListScreen  # noqa: PLC0415

        kind = find(name)
        why = cluster_only(kind.kind) if kind is not None else None
        if why is not None and self.backend.location.mode == "embedded":
            self.notify(why, severity="warning", markup=False)
            return True
        try:
            view = self._view(name, agent)
        except LookupError:
            return False
        assert isinstance(view, ResourceListScreen)
        for depth, screen in enumerate(self.screen_stack):
            if isinstance(screen, ResourceListScreen) and (screen.kind, screen.agent) == (
                view.kind,
                view.agent,
            ):
                while len(self.screen_stack) > depth + 1:
                    self.pop_screen()
                return True
        self.push_screen(view)
        return True

    def action_command_line(self) -> None:
        self.screen.query_one(CommandLine).open() if self.screen.query(
            CommandLine
        ) else self._command_line().open()

    def _command_line(self) -> CommandLine:
        line = CommandLine()
        self.screen.mount(line)
        return line

    async def on_command_line_run(self, event: CommandLine.Run) -> None:
        verb, _, argument = event.command.partition(" ")
        if verb in ("ns", "namespace") and argument.strip():
            await self.use_namespace(argument.strip())
            return
        if verb in ("ctx", "context", "contexts"):
            await self.choose_context(argument.strip() or None)
            return
        if verb in ("problems", "problem"):
            self.show_problems()
            return
        if verb in ("traces", "trace", "tr"):
            self.open_traces(argument.strip() or None)
            return
        if verb == "chat" and argument.strip():
            await self.open_chat(argument.strip())
            return
        if verb in ("mem", "memory"):  # the namespace's memory, or one Agent's
            from agentops_tui.screens.memory import open_memory  # noqa: PLC0415

            open_memory(self, argument.strip() or None)
            return
        if not self.open_view(verb, argument.strip() or None):
            self.notify(
                f"unknown command {event.command!r}: try ag, ar, ch, prov", severity="error"
            )

    async def on_resource_list_screen_namespace_chosen(
        self, event: ResourceListScreen.NamespaceChosen
    ) -> None:
        await self.use_namespace(event.chosen)

    async def use_namespace(self, namespace: str) -> None:
        """Switch the whole console to another namespace, back at the home view."""
        try:
            await self.backend.use_namespace(namespace)
        except Exception as exc:
            self.notify(f"Cannot switch to {namespace}: {exc}", severity="error")
            return
        await self._home()
        self.notify(f"Namespace {namespace}")

    async def _home(self) -> None:
        """Back at the home view of a new context or namespace, whose chats are its own."""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(self._view(HOME))
        await self.chats.close()
        self.chats = self._chats()
        self.unseen.clear()
        self._followed.clear()

    async def choose_context(self, name: str | None) -> None:
        """`:ctx NAME` switches; `:ctx` alone offers the kubeconfig's contexts."""
        if name is not None:
            await self.use_context(name)
            return
        from agentops_tui.screens.context_picker import ContextPicker  # noqa: PLC0415

        async def chosen(picked: str | None) -> None:
            if picked is not None and picked != self.backend.location.context:
                await self.use_context(picked)

        self.push_screen(ContextPicker(self.contexts(), self.backend.location.context), chosen)

    async def use_context(self, name: str) -> None:
        """Connect to another context (its own namespace), back at the home view; on failure
        the current connection stays."""
        known = self.contexts()
        if known and name not in known:
            self.notify(f"No context {name!r} in the kubeconfig", severity="error")
            return
        try:
            backend = await self.connect(name)
            await backend.start()
        except Exception as exc:  # a user's choice: say why, keep working where we were
            self.notify(f"Cannot use context {name}: {exc}", severity="error")
            return
        previous, self.backend = self.backend, backend
        await previous.stop()
        await self._home()
        backend.listen_problems(self._problems_changed)
        self.notify(f"Context {name}, namespace {backend.location.namespace}")

    async def memory_command(self, session: ChatSession, command: SlashCommand) -> None:
        """`/remember TEXT` and `/extract` in a chat: a memory for the agent's project, opened
        in the memory panel's editor to review (saved as it is, edited, or emptied to drop)."""
        from agentops_tui.screens.memory import MemoryScreen, open_memory  # noqa: PLC0415
        from agentops_tui.services.chat.client import ChatError  # noqa: PLC0415
        from agentops_tui.services.memory_panel import proposed_document  # noqa: PLC0415

        if command.name == "extract":
            try:
                found = await session.client.extract()
            except ChatError as exc:
                self.notify(f"Nothing extracted: {exc}", severity="error", markup=False)
                return
            proposal = (found.type, found.title, found.content, found.tags)
        else:
            title = command.text.splitlines()[0][:REMEMBERED_TITLE]
            proposal = ("learning", title, command.text, [])
        open_memory(self, session.agent)
        screen = self.screen
        if isinstance(screen, MemoryScreen) and screen.scope.project is not None:
            document = proposed_document(screen.scope.project, *proposal)
            self.call_after_refresh(screen.edit, document, document.text)

    def open_traces(self, agent: str | None = None) -> None:
        """`:traces [AGENT]`: search Tempo."""
        from agentops_tui.screens.traces import TracesScreen  # noqa: PLC0415

        self.push_screen(TracesScreen(self.backend, agent))

    def open_trace(self, trace_id: str, *, live: bool = False) -> None:
        """One trace's waterfall (`live`: follow it while the turn runs)."""
        from agentops_tui.screens.traces import TraceScreen  # noqa: PLC0415

        self.push_screen(TraceScreen(self.backend, trace_id, live=live))

    def show_object(self, kind: str, name: str) -> None:
        """The detail view of one object, over its kind's list."""
        from agentops_tui.screens.detail import DetailScreen  # noqa: PLC0415
        from agentops_tui.screens.resource_list import ResourceListScreen  # noqa: PLC0415

        found = next((o for o in self.backend.items(kind) if o["metadata"]["name"] == name), None)
        if found is None or not self.open_view(kind.lower()):
            self.notify(f"{kind} {name} is gone", severity="warning")
            return
        screen = self.screen_stack[-1]
        assert isinstance(screen, ResourceListScreen)
        self.push_screen(DetailScreen(self.backend, screen.kind, found, self.clock))

    def start_run(self, agent: str) -> None:
        """The `r` form for an Agent, from anywhere (the palette)."""
        if self.open_view("agent"):
            screen = self.screen_stack[-1]
            self.call_after_refresh(lambda: _run_on(screen, agent))

    def action_help(self) -> None:
        from agentops_tui.screens.help import HelpScreen  # noqa: PLC0415

        self.push_screen(HelpScreen(self.screen))


def _run_on(screen: Screen[None], agent: str) -> None:
    from agentops_tui.screens.resource_list import ResourceListScreen  # noqa: PLC0415

    if isinstance(screen, ResourceListScreen):
        screen.select(agent)
        screen.action_run()


BEHIND_FIRST_FRAME = (
    "agentops_tui.backends.catalog",
    "agentops_tui.screens.help",
    "agentops_tui.screens.resource_list",
    "agentops_tui.backends.cluster",
    "agentops_services.kube.client",
)
"""The views and what they need (the API models, ~0.3 s) and the Kubernetes client (~1 s):
imported in a thread while the first frame shows."""


def _load_views() -> None:
    for module in BEHIND_FIRST_FRAME:
        importlib.import_module(module)
