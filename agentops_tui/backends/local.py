"""The embedded backend: the console on a platform running on this machine (`agentops
serve`), reached through its platform API on loopback.

The platform API shapes objects exactly as the API server does, in one namespace (`local`),
so every screen works unchanged: the cache is the client's watch (list, then follow; resumed
after a drop, relisted after a resync), changes are announced per kind as the cluster
backend's informers announce them, and writes go through the API (the resource folder's files
change). What only a cluster has (Pods, Jobs, Deployments, Events, Namespaces) lists empty;
the console does not offer those views here (see `catalog.cluster_only`).

The resource folder's problems (a file that does not validate) are polled from the API, which
answers from memory: cheap enough every `PROBLEMS_INTERVAL`, and a person is told within it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import httpx

from agentops_services.kube.podlogs import LogEvent
from agentops_services.local.client import PlatformClient, Synced
from agentops_services.local.errors import FileProblem, PlatformError
from agentops_services.local.kinds import NAMESPACE, Key, kind_of, plural_of
from agentops_services.local.objects import WatchEvent
from agentops_services.local.paths import DataDir
from agentops_tui.backends.base import (
    BackendError,
    Listener,
    Location,
    Object,
    PlatformServices,
    ProblemsListener,
    ServiceRef,
    StatesListener,
)
from agentops_tui.backends.catalog import cluster_only
from agentops_tui.backends.local_services import LoopbackServices
from agentops_tui.backends.local_target import LocalTarget
from agentops_tui.backends.pods import LogTarget
from agentops_tui.services.editing import EditSession, SaveRefusedError

START_TIMEOUT = 30.0
"""Seconds for the first listing of every kind (a few thousand objects on loopback)."""
PROBLEMS_INTERVAL = 1.0
"""Seconds between two looks at the resource folder's problems."""
LOCATION = Location("embedded", "local", NAMESPACE)
LOG_CONTAINER = "runtime"
"""What the log view names the one stream of a runtime (a pod has containers)."""


class LocalBackend:
    """The console's Backend on an embedded platform at `client.base_url`; `data` is the
    platform's data dir."""

    def __init__(self, client: PlatformClient, data: DataDir, *, owns_client: bool = False) -> None:
        self.client = client
        self.data = data
        self.owns_client = owns_client
        self.location = LOCATION
        self.platform_services = PlatformServices()
        """The defaults: the platform answers where its services are by role (loopback)."""
        self._objects: dict[Key, Object] = {}
        """The watch's own copy of the objects (see PlatformClient.watch)."""
        self._listeners: list[Listener] = []
        self._problems: list[FileProblem] = []
        self._problem_listeners: list[ProblemsListener] = []
        self._services = LoopbackServices(client.base_url)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        try:
            await self.client.health()
        except PlatformError as exc:
            raise BackendError(exc.message) from None
        synced = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._follow(synced), name="embedded watch"),
            asyncio.create_task(self._poll_problems(), name="embedded problems"),
        ]
        try:
            async with asyncio.timeout(START_TIMEOUT):
                await synced.wait()
        except TimeoutError:
            await self.stop()
            raise BackendError(
                f"the embedded platform at {self.client.base_url} did not list its objects "
                f"within {START_TIMEOUT:.0f} s"
            ) from None

    async def _follow(self, synced: asyncio.Event) -> None:
        async for item in self.client.watch(known=self._objects):
            if isinstance(item, Synced):
                synced.set()
            elif isinstance(item, WatchEvent):
                for listener in list(self._listeners):
                    listener(item.object["kind"], item.type, item.object)

    async def _poll_problems(self) -> None:
        while True:
            with contextlib.suppress(PlatformError):
                found = (await self.client.problems()).problems
                if found != self._problems:
                    self._problems = found
                    for listener in list(self._problem_listeners):
                        listener(list(found))
            await asyncio.sleep(PROBLEMS_INTERVAL)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._services.close()
        if self.owns_client:
            await self.client.close()

    def items(self, kind: str) -> list[Object]:
        found = [obj for (k, _), obj in self._objects.items() if k == kind]
        return sorted(found, key=lambda o: o["metadata"]["name"])

    def allowed(self, verb: str, kind: str) -> bool:
        """The person at this machine owns the platform: everything, for the kinds it has."""
        return cluster_only(kind) is None

    def listen(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def problems(self) -> list[FileProblem]:
        return list(self._problems)

    def listen_problems(self, listener: ProblemsListener) -> Callable[[], None]:
        self._problem_listeners.append(listener)
        listener(self.problems())
        return lambda: self._problem_listeners.remove(listener)

    async def delete(self, kind: str, name: str) -> None:
        try:
            await self.client.delete(kind, name)
        except PlatformError as exc:
            raise BackendError(exc.message) from None

    async def use_namespace(self, namespace: str) -> None:
        raise BackendError(f"the embedded platform has one namespace, {NAMESPACE}")

    async def edit(self, kind: str, name: str) -> EditSession:
        try:
            return await EditSession.open(LocalTarget(self.client), kind, NAMESPACE, name)
        except SaveRefusedError as exc:
            raise BackendError(exc.message) from None

    def create(self, kind: str) -> EditSession:
        return EditSession.create(LocalTarget(self.client), kind, NAMESPACE)

    async def start_run(self, agent: str, prompt: str) -> str:
        try:
            created = await self.client.create_run(agent, prompt)
        except PlatformError as exc:
            raise BackendError(exc.message) from None
        return str(created["metadata"]["name"])

    async def service(self, ref: ServiceRef) -> httpx.AsyncClient:
        return await self._services.client(ref)

    def listen_services(self, listener: StatesListener) -> Callable[[], None]:
        return self._services.listen(listener)

    async def log_target(self, kind: str, name: str) -> LogTarget:
        """The runtime whose log `l` follows, named as its platform API path (`agents/NAME`,
        `agentruns/NAME`) where a cluster names a pod; its one stream is `runtime`."""
        source_kind, source = self._log_source(kind, name)
        return LogTarget(NAMESPACE, f"{plural_of(source_kind)}/{source}", (LOG_CONTAINER,))

    def _log_source(self, kind: str, name: str) -> tuple[str, str]:
        """(kind, name) of the runtime that logs for the object: a daemon Agent's own; a task
        run's own (a daemon's runs run in its runtime, so theirs is the Agent's); a task
        Agent's newest run's."""
        agents = {a["metadata"]["name"]: a for a in self.items("Agent")}
        runs = [r for r in self.items("AgentRun") if kind == "AgentRun" or _agent_of(r) == name]
        if kind == "AgentRun":
            run = next((r for r in runs if r["metadata"]["name"] == name), None)
            if run is None:
                raise BackendError(f"AgentRun {name} is gone")
            agent = agents.get(_agent_of(run))
            if agent is not None and _mode(agent) == "daemon":
                return "Agent", _agent_of(run)
            return "AgentRun", name
        if kind != "Agent":
            raise BackendError(f"{kind}s have no logs: l works on Agents and AgentRuns")
        agent = agents.get(name)
        if agent is None:
            raise BackendError(f"Agent {name} is gone")
        if _mode(agent) == "daemon":
            return "Agent", name
        newest = max(runs, key=lambda r: r["metadata"].get("creationTimestamp") or "", default=None)
        if newest is None:
            raise BackendError(f"Agent {name} runs as a task and has no runs yet")
        return "AgentRun", newest["metadata"]["name"]

    def pod_logs(self, target: LogTarget, container: str) -> AsyncIterator[LogEvent]:
        """The runtime's log file, followed through the platform API (resumed after a drop
        from the last line delivered)."""
        plural, _, name = target.pod.partition("/")
        kind = kind_of(plural)
        if kind is None:
            raise BackendError(f"{target.pod} is not a runtime of the platform")
        return self.client.follow_log(kind, name)


def _agent_of(run: Object) -> str:
    return str((run.get("spec") or {}).get("agentRef") or "")


def _mode(agent: Object) -> str:
    return str((agent.get("spec") or {}).get("mode") or "daemon")
