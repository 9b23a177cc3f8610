"""The one interface every screen uses, whatever runs the platform.

Objects are plain dicts as the API server returns them; a change is announced to listeners
with its kind, so a screen re-renders only its own table. Writes answer with the server's
refusal as `BackendError`, which screens turn into a notification.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from agentops_services.kube.podlogs import LogEvent
    from agentops_services.local.errors import FileProblem
    from agentops_tui.backends.pods import LogTarget
    from agentops_tui.services.editing import EditSession

Object = dict[str, Any]
Listener = Callable[[str, str, Object], None]
"""Called with (kind, event type ADDED/MODIFIED/DELETED, object)."""
Mode = Literal["cluster", "embedded"]
Role = Literal["runtime", "memory", "tempo"]
StatesListener = Callable[[Mapping[str, str]], None]
"""Called with service label -> how it is reached, whenever one changes."""
ProblemsListener = Callable[[Sequence["FileProblem"]], None]
"""Called with every problem of the resource folder, whenever they change."""


class BackendError(Exception):
    """A request the platform refused or could not answer; the message is for people."""


class ServiceStates:
    """Service label -> how it is reached, told to whoever follows it (the footer): a new
    listener at once, then at every change."""

    def __init__(self) -> None:
        self._states: dict[str, str] = {}
        self._listeners: list[StatesListener] = []

    @property
    def current(self) -> Mapping[str, str]:
        return dict(self._states)

    def get(self, label: str) -> str:
        return self._states.get(label, "")

    def listen(self, listener: StatesListener) -> Callable[[], None]:
        self._listeners.append(listener)
        listener(self.current)
        return lambda: self._listeners.remove(listener)

    def publish(self, label: str, state: str) -> None:
        self._states[label] = state
        for listener in list(self._listeners):
            listener(self.current)

    def clear(self) -> None:
        """Forget every state (the routes closed), without telling anyone."""
        self._states.clear()


@dataclass(frozen=True)
class Location:
    """What the header shows: how the console is connected, and where."""

    mode: Mode
    context: str
    namespace: str


@dataclass(frozen=True)
class ServiceRef:
    """A platform Service: what it is for, its name and its port, and where it is (a value:
    equal refs name the same route, and it keys the routes kept open)."""

    role: Role
    name: str
    port: int
    namespace: str | None = None
    """The Service's namespace; None: the console's (the one being shown)."""
    url: str | None = None
    """A URL that reaches the service directly (an external Tempo, say), used instead of any
    route through the cluster; the user's own override URL still comes first."""

    @classmethod
    def runtime(cls, agent: str) -> ServiceRef:
        """The Service the operator makes for a daemon Agent (same name, port 4096)."""
        return cls("runtime", agent, 4096)

    @classmethod
    def memory(cls) -> ServiceRef:
        return cls("memory", "agentops-memory", 7437)

    @classmethod
    def tempo(cls) -> ServiceRef:
        return cls("tempo", "tempo", 3200)

    @property
    def label(self) -> str:
        return self.role if self.role != "runtime" else f"runtime/{self.name}"


@dataclass(frozen=True)
class PlatformServices:
    """Where the platform's shared services are: as its `agentops-platform` ConfigMap says in
    a cluster (see platform_discovery), else the Services of the console's namespace."""

    memory: ServiceRef = field(default_factory=ServiceRef.memory)
    tempo: ServiceRef = field(default_factory=ServiceRef.tempo)


class Backend(Protocol):
    location: Location
    platform_services: PlatformServices
    """The memory service and Tempo of the platform, for `service` (known once started)."""

    async def start(self) -> None:
        """Connect and start following changes; returns once the first listings arrived."""

    async def stop(self) -> None: ...

    def items(self, kind: str) -> list[Object]:
        """The current objects of a kind in the namespace (from the backend's cache)."""

    def allowed(self, verb: str, kind: str) -> bool:
        """Whether this user may `verb` (create, update, delete) the kind here; True when
        unknown (the platform still refuses what it must)."""

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Follow changes; returns the function that stops following."""

    def problems(self) -> list[FileProblem]:
        """The resource folder's problems (embedded). A cluster has none: its API server
        refuses an invalid object outright."""

    def listen_problems(self, listener: ProblemsListener) -> Callable[[], None]:
        """Follow the problems: told them at once, then whenever they change; returns the
        function that stops following."""

    async def delete(self, kind: str, name: str) -> None: ...

    async def use_namespace(self, namespace: str) -> None:
        """Show another namespace from now on."""

    async def edit(self, kind: str, name: str) -> EditSession:
        """An editing session on the live object (kubectl edit); BackendError if it is gone."""

    async def start_run(self, agent: str, prompt: str) -> str:
        """Create an AgentRun of `agent` (source console); its name."""

    def create(self, kind: str) -> EditSession:
        """An editing session whose save creates a new object from the kind's template."""

    async def service(self, ref: ServiceRef) -> httpx.AsyncClient:
        """An HTTP client whose base URL reaches a platform service (opened on first use and
        kept); BackendError when there is no way to it."""

    def listen_services(self, listener: StatesListener) -> Callable[[], None]:
        """Follow how each opened service is reached (for the footer); the listener is called
        at once with the current states."""

    async def log_target(self, kind: str, name: str) -> LogTarget:
        """The pod whose logs `l` shows for the object (an Agent's runtime pod, a run's Job
        pod, a Pod itself) with its containers, the main one first; BackendError saying why
        when there is none (yet)."""

    def pod_logs(self, target: LogTarget, container: str) -> AsyncIterator[LogEvent]:
        """One container's log, followed until the pod is gone or done: its lines, and how
        the stream is doing (waiting, reconnecting, ended and why)."""
