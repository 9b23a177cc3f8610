"""The operator process: informers, controllers, routing of changes to keys, leader election,
and the health/metrics endpoint.

Informers start at once (so a standby is warm); controllers start once this process leads.
Nothing here polls: a reconcile happens because something changed or because a reconciler
asked to look again at a deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentops_services.kube import resources as types
from agentops_services.kube.informer import Informer, Key, keep_secret_keys_only, key_of
from agentops_services.kube.rest import Kube, Object
from agentops_services.operator import metrics, routing
from agentops_services.operator.builders.settings import BuilderSettings
from agentops_services.operator.cluster import CHILD_TYPES, OUR_TYPES, Cluster, utcnow
from agentops_services.operator.controller import DEFAULT_WORKERS, Controller
from agentops_services.operator.leader import LeaderElector
from agentops_services.operator.names import L_MB, L_OWNER, L_OWNER_KIND, MANAGED_BY
from agentops_services.operator.reconcilers.agent import AgentReconciler
from agentops_services.operator.reconcilers.agentresource import AgentResourceReconciler
from agentops_services.operator.reconcilers.agentrun import AgentRunReconciler
from agentops_services.operator.reconcilers.agenttool import AgentToolReconciler
from agentops_services.operator.reconcilers.channel import ChannelReconciler
from agentops_services.operator.reconcilers.provider import ProviderReconciler
from agentops_services.operator.runtime_client import RuntimeClient, RuntimeUrl, cluster_url

LOG = logging.getLogger("agentops.operator")
BOUND_AGENTS_DELAY = 1.0


@dataclass
class OperatorSettings:
    namespaces: Sequence[str] | None = None
    """WATCH_NAMESPACES; None watches the whole cluster."""
    leader_elect: bool = False
    lease_namespace: str = "default"
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    workers: int = DEFAULT_WORKERS
    builders: BuilderSettings = field(default_factory=BuilderSettings)
    watch_seconds: int = 300
    runtime_url: RuntimeUrl = cluster_url
    """Where a daemon agent's runtime answers (its Service; tests point it at loopback)."""


class Operator:
    def __init__(
        self, kube: Kube, settings: OperatorSettings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.kube = kube
        self.settings = settings
        namespaces = settings.namespaces
        managed = f"{L_MB}={MANAGED_BY}"
        informers: dict[types.ResourceType, Informer] = {}
        for kind in OUR_TYPES:
            informers[kind] = Informer(kube, kind, namespaces, watch_seconds=settings.watch_seconds)
        for kind in CHILD_TYPES:
            informers[kind] = Informer(
                kube,
                kind,
                namespaces,
                label_selector=managed,
                watch_seconds=settings.watch_seconds,
                index_labels=(L_OWNER_KIND, L_OWNER),
            )
        informers[types.SECRET] = Informer(
            kube,
            types.SECRET,
            namespaces,
            transform=keep_secret_keys_only,
            watch_seconds=settings.watch_seconds,
        )
        self.informers = informers
        self.cluster = Cluster(kube, informers, settings.builders, clock)
        workers = settings.workers
        self.controllers: dict[str, Controller] = {
            "agent": Controller("agent", AgentReconciler(self.cluster).reconcile, workers),
            "agentrun": Controller(
                "agentrun",
                AgentRunReconciler(self.cluster, RuntimeClient(settings.runtime_url)).reconcile,
                workers,
            ),
            "agenttool": Controller(
                "agenttool", AgentToolReconciler(self.cluster).reconcile, workers
            ),
            "agentresource": Controller(
                "agentresource", AgentResourceReconciler(self.cluster).reconcile, workers
            ),
            "channel": Controller("channel", ChannelReconciler(self.cluster).reconcile, workers),
            "provider": Controller("provider", ProviderReconciler(self.cluster).reconcile, workers),
        }
        self.elector = (
            LeaderElector(kube, settings.lease_namespace, settings.identity)
            if settings.leader_elect
            else None
        )
        self._route()
        self._tasks: list[asyncio.Task[None]] = []
        self.stopped = asyncio.Event()
        """Set when the operator must exit (the lease was lost)."""

    # --- routing ------------------------------------------------------------------------------

    def _route(self) -> None:
        i, c = self.informers, self.controllers

        def to(name: str) -> Callable[[str, Object], None]:
            return lambda _type, obj: c[name].enqueue(key_of(obj))

        def each(
            controller: str, keys: Callable[[Object], object]
        ) -> Callable[[str, Object], None]:
            def handler(_type: str, obj: Object) -> None:
                for key in keys(obj):  # type: ignore[attr-defined]
                    c[controller].enqueue(key)

            return handler

        def ns(obj: Object) -> str:
            return str(obj["metadata"].get("namespace", ""))

        def name(obj: Object) -> str:
            return str(obj["metadata"]["name"])

        i[types.AGENT].add_handler(to("agent"))
        i[types.AGENT].add_handler(self._count_bound_agents)
        i[types.AGENT].add_handler(
            each("agentrun", lambda o: routing.runs_of(i[types.AGENT_RUN], ns(o), name(o)))
        )
        i[types.AGENT].add_handler(each("channel", lambda o: self._channels_of(ns(o), name(o))))
        i[types.AGENT_RUN].add_handler(to("agentrun"))
        i[types.AGENT_RUN].add_handler(each("agentrun", self._siblings))
        for kind, controller in (
            (types.PROVIDER, "provider"),
            (types.AGENT_TOOL, "agenttool"),
            (types.AGENT_RESOURCE, "agentresource"),
            (types.CHANNEL, "channel"),
        ):
            i[kind].add_handler(to(controller))
        for kind, ref in (
            (types.PROVIDER, "provider"),
            (types.AGENT_TOOL, "agenttool"),
            (types.AGENT_RESOURCE, "agentresource"),
        ):
            i[kind].add_handler(each("agent", self._referring(ref)))
        i[types.SECRET].add_handler(
            each("provider", lambda o: routing.providers_reading(i[types.PROVIDER], ns(o), name(o)))
        )
        for kind in CHILD_TYPES:
            i[kind].add_handler(self._to_owner)

    def _count_bound_agents(self, _type: str, agent: Object) -> None:
        """Providers recount their Agents a moment after a change, once per burst."""
        namespace = agent["metadata"].get("namespace", "")
        for name in routing.agent_references(agent)["provider"]:
            self.controllers["provider"].enqueue_after((namespace, name), BOUND_AGENTS_DELAY)

    def _to_owner(self, _type: str, child: Object) -> None:
        owner = routing.owner_of(child)
        if owner is not None and owner[0] in self.controllers:
            self.controllers[owner[0]].enqueue(owner[1])

    def _channels_of(self, namespace: str, agent: str) -> list[Key]:
        return [
            (namespace, c["metadata"]["name"])
            for c in self.informers[types.CHANNEL].items(namespace)
            if (c.get("spec") or {}).get("agentRef") == agent
        ]

    def _referring(self, ref: str) -> Callable[[Object], list[Key]]:
        """The Agents using a changed Provider, AgentTool or AgentResource."""
        agents = self.informers[types.AGENT]

        def keys(obj: Object) -> list[Key]:
            namespace, name = key_of(obj)
            return list(routing.agents_referring(agents, ref, namespace, name))

        return keys

    def _siblings(self, run: Object) -> list[Key]:
        """A run that finished frees a slot: the queued runs of its Agent look again."""
        if (run.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            return []
        agent = str((run.get("spec") or {}).get("agentRef", ""))
        namespace = run["metadata"].get("namespace", "")
        return list(routing.runs_of(self.informers[types.AGENT_RUN], namespace, agent))

    # --- lifecycle ----------------------------------------------------------------------------

    def synced(self) -> bool:
        return all(informer.synced.is_set() for informer in self.informers.values())

    def alive(self) -> bool:
        return all(informer.alive() for informer in self.informers.values())

    async def start(self) -> None:
        for informer in self.informers.values():
            informer.start()
        self._tasks.append(asyncio.create_task(self._lead(), name="operator-lead"))

    async def _lead(self) -> None:
        await asyncio.gather(*(i.synced.wait() for i in self.informers.values()))
        if self.elector is not None:
            self._tasks.append(asyncio.create_task(self._watch_lease(), name="lease"))
            await self.elector.leading.wait()
        LOG.info("informers synced: controllers start")
        for controller in self.controllers.values():
            controller.start()

    async def _watch_lease(self) -> None:
        assert self.elector is not None
        await self.elector.run()
        self.stopped.set()  # only returns when the lease is lost

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for controller in self.controllers.values():
            await controller.stop()
        for informer in self.informers.values():
            await informer.stop()
        if self.elector is not None:
            await self.elector.release()

    # --- health and metrics -------------------------------------------------------------------

    def app(self) -> Starlette:
        async def healthz(_: Request) -> JSONResponse:
            broken = {
                kind.plural: informer.failing or "stalled"
                for kind, informer in self.informers.items()
                if not informer.alive()
            }
            return JSONResponse(
                {"status": "ok" if not broken else "unhealthy", "informers": broken},
                status_code=200 if not broken else 503,
            )

        async def readyz(_: Request) -> JSONResponse:
            ready = self.synced()
            return JSONResponse(
                {"status": "ready" if ready else "syncing"}, status_code=200 if ready else 503
            )

        async def prometheus(_: Request) -> Response:
            for verb, count in self.kube.requests.items():
                metrics.API_REQUESTS.labels(verb).set(count)
            for name, controller in self.controllers.items():
                metrics.QUEUE_DEPTH.labels(name).set(len(controller.queue))
            return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

        return Starlette(
            routes=[
                Route("/healthz", healthz),
                Route("/readyz", readyz),
                Route("/metrics", prometheus),
            ]
        )
