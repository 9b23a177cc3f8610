"""The embedded platform in one process: what `agentops serve` runs.

It is the cluster's control plane and workloads folded onto loopback. The resource folder
stands in for the API server's storage (`ResourceFolder` applying files to the `ObjectStore`),
`Controller` for the operator (level-triggered: every change of the resources brings the
runtimes and runs in line with all of them), supervised processes for the Deployments and
Jobs, and the platform API for the API server the console watches. The memory service and the
trace store run as supervised processes of their own, so a crash of one restarts it and takes
nothing else down.

`platform.json` in the data dir says where the API answers while it runs, so a console (or a
second console) attaches to it instead of starting another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentops_services.api.v1alpha1 import Agent, AgentResource, AgentRun, AgentTool, Provider
from agentops_services.httpapi.serving import serve_in_background
from agentops_services.local.agent_runs import AgentRuns
from agentops_services.local.api import create_app
from agentops_services.local.catalog import Catalog
from agentops_services.local.daemon_runs import DaemonRuns
from agentops_services.local.first_run import FirstRunReport, first_run
from agentops_services.local.folder import ResourceFolder
from agentops_services.local.kinds import Key, key_of
from agentops_services.local.log_stream import LogStreams
from agentops_services.local.objects import ObjectStore, WatchEvent
from agentops_services.local.paths import DataDir
from agentops_services.local.platform_record import PlatformRecord, remove_record, write_record
from agentops_services.local.processes import (
    PORT,
    ProcessEvent,
    ProcessSpec,
    ProcessState,
    ProcessSupervisor,
)
from agentops_services.local.runtime_setup import RUNTIME_COMMAND, RuntimeHost, RuntimeSetup
from agentops_services.local.runtimes import DaemonAgents
from agentops_services.local.schedules import Schedules
from agentops_services.local.secrets import Secrets
from agentops_services.local.secrets_file import SecretsFileError
from agentops_services.local.store_sink import StoreStatusSink
from agentops_services.local.task_runs import TaskRuns

LOG = logging.getLogger("agentops.platform")
DEFAULT_PORT = 7400
"""The platform API's port on loopback (0 picks a free one)."""
SERVICE_STARTUP = 60.0
AGENTCTL = RUNTIME_COMMAND[:-1]
"""`agentops`, as this Python runs it."""
Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class Services:
    """Where the platform's shared services answer."""

    memory: str
    tempo: str

    @property
    def otlp(self) -> str:
        """The trace store takes OTLP/HTTP on the same port as its query API."""
        return self.tempo


def _models(store: ObjectStore, kind: str, model: type[Model]) -> dict[str, Model]:
    """The kind's objects as models; one that does not read (the folder validated it, so
    only a newer field could do this) is left out and logged."""
    found: dict[str, Model] = {}
    for obj in store.list(kind):
        try:
            found[obj["metadata"]["name"]] = model.model_validate(obj)
        except ValidationError as exc:
            LOG.warning("%s %s left out: %s", kind, obj["metadata"]["name"], exc.errors()[0])
    return found


def catalog_of(store: ObjectStore) -> Catalog:
    return Catalog(
        agents=_models(store, "Agent", Agent),
        providers=_models(store, "Provider", Provider),
        tools=_models(store, "AgentTool", AgentTool),
        resources=_models(store, "AgentResource", AgentResource),
    )


def runs_of(store: ObjectStore) -> list[AgentRun]:
    return list(_models(store, "AgentRun", AgentRun).values())


class Controller:
    """The operator of the embedded platform: after every change of the resources (not of
    their statuses, which the controllers write themselves), the daemon runtimes, the runs and
    the schedules are brought in line with everything there is. Changes that arrive while a
    pass runs are taken together by the next one."""

    def __init__(
        self,
        store: ObjectStore,
        daemons: DaemonAgents,
        runs: AgentRuns,
        schedules: Schedules,
        secrets: Callable[[], Secrets],
        first_secrets: Secrets,
    ) -> None:
        self.store = store
        self.daemons = daemons
        self.runs = runs
        self.schedules = schedules
        self.secrets = secrets
        self._generations: dict[Key, Any] = {}
        self._dirty = asyncio.Event()
        self._last_secrets = first_secrets

    async def run(self) -> None:
        """Reconcile until cancelled."""
        watch = self.store.watch()
        follower = asyncio.create_task(self._follow(watch), name="platform watch")
        scheduler = asyncio.create_task(
            self.schedules.run(lambda: (catalog_of(self.store), runs_of(self.store))),
            name="schedules",
        )
        try:
            self._dirty.set()
            while True:
                await self._dirty.wait()
                self._dirty.clear()
                await self.reconcile()
        finally:
            watch.close()
            for task in (follower, scheduler):
                task.cancel()
            await asyncio.gather(follower, scheduler, return_exceptions=True)

    async def reconcile(self) -> None:
        catalog, secrets = catalog_of(self.store), self._secrets()
        await self.daemons.reconcile(catalog, secrets)
        await self.runs.reconcile(runs_of(self.store), catalog, secrets)
        self.schedules.wake()

    def _secrets(self) -> Secrets:
        """Read again at every pass (a key added to secrets.env is used by the next runtime
        started); a file that became unreadable keeps the last good secrets, and says why."""
        try:
            self._last_secrets = self.secrets()
        except SecretsFileError as exc:
            LOG.warning("%s; keeping the secrets read before", exc)
        return self._last_secrets

    async def _follow(self, watch: AsyncIterator[WatchEvent]) -> None:
        async for event in watch:
            if self._changes_what_runs(event):
                self._dirty.set()

    def _changes_what_runs(self, event: WatchEvent) -> bool:
        """Anything but a status write: a new or deleted object, or a changed generation."""
        key = key_of(event.object)
        if event.type == "DELETED":
            self._generations.pop(key, None)
            return True
        generation = event.object["metadata"].get("generation")
        changed = self._generations.get(key, object()) != generation
        self._generations[key] = generation
        return changed or event.type == "ADDED"


async def _service(
    supervisor: ProcessSupervisor, data: DataDir, name: str, args: list[str], health: str
) -> str:
    """Start one of the platform's own services under supervision; its URL once it serves."""
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def listen(event: ProcessEvent) -> None:
        if event.state is ProcessState.READY and event.url and not ready.done():
            ready.set_result(event.url)
        elif event.state is ProcessState.CRASHED:
            LOG.warning("%s %s: %s", name, event.message, " | ".join(event.log_tail[-3:]))

    supervisor.start(
        ProcessSpec(
            name=name,
            argv=(*AGENTCTL, *args, "--host", "127.0.0.1", "--port", PORT),
            env=dict(os.environ),
            cwd=data.root,
            log_file=data.logs_dir / f"{name}.log",
            health_path=health,
        ),
        listen,
    )
    async with asyncio.timeout(SERVICE_STARTUP):
        return await ready


async def start_services(supervisor: ProcessSupervisor, data: DataDir) -> Services:
    memory, tempo = await asyncio.gather(
        _service(supervisor, data, "memory", ["memory", "--db", str(data.memory_db)], "/healthz"),
        _service(
            supervisor,
            data,
            "traces",
            ["traces", "--db", str(data.traces_db), "--otlp-port", "0"],
            "/ready",
        ),
    )
    return Services(memory=memory, tempo=tempo)


def services_route(services: Services, daemons: DaemonAgents, report: FirstRunReport) -> Route:
    """`GET /api/v1/services`: where a console reaches the memory service, the trace store
    and each daemon agent's runtime (while it serves), and what this start's first run did
    (`firstRun`: its summary, and whether the agents run on the offline demo), so a console
    attaching later can say it too."""
    first_run = {"summary": report.summary(), "demo": report.demo}

    async def answer(_: Request) -> JSONResponse:
        runtimes = {
            name: url
            for name in sorted(daemons.statuses.names())
            if (url := daemons.url(name)) is not None
        }
        return JSONResponse(
            {
                "memory": services.memory,
                "tempo": services.tempo,
                "runtimes": runtimes,
                "firstRun": first_run,
            }
        )

    return Route("/api/v1/services", answer, methods=["GET"])


async def serve(
    data: DataDir,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    started: Callable[[str, FirstRunReport], None] | None = None,
) -> None:
    """Run the embedded platform until cancelled; `started(url, report)` once it answers."""
    data.create()
    secrets = Secrets.load(data.secrets_file)  # a file others may read stops the start here
    report = await first_run(data, secrets)
    async with contextlib.AsyncExitStack() as stack:
        supervisor = ProcessSupervisor()
        stack.push_async_callback(supervisor.close)
        services = await start_services(supervisor, data)
        store = ObjectStore(data.state_db)
        await store.open()
        stack.push_async_callback(store.close)
        folder = ResourceFolder(data.resources, store)
        await folder.start()
        stack.push_async_callback(folder.stop)
        setup = RuntimeSetup(
            memory_url=services.memory, trace_url=services.otlp, secrets_file=data.secrets_file
        )
        runtime_host = RuntimeHost(supervisor, data, setup)
        sink = StoreStatusSink(store)
        daemons = DaemonAgents(runtime_host, sink)
        stack.push_async_callback(daemons.close)
        runs = AgentRuns(sink, {"task": TaskRuns(runtime_host), "daemon": DaemonRuns(daemons)})
        stack.push_async_callback(runs.close)
        schedules = Schedules(sink, daemons.statuses)
        controller = Controller(
            store, daemons, runs, schedules, lambda: Secrets.load(data.secrets_file), secrets
        )
        app = create_app(store, folder)
        logs = LogStreams(store, data)
        app.router.routes.insert(0, services_route(services, daemons, report))  # before /{kind}
        app.router.routes.insert(0, logs.route())
        server = await stack.enter_async_context(serve_in_background(app, host, port))
        stack.callback(logs.close)  # before the server's shutdown, which waits for streams
        write_record(data.platform_file, PlatformRecord.now(server.url))
        stack.callback(remove_record, data.platform_file)
        if started is not None:
            started(server.url, report)
        await controller.run()
