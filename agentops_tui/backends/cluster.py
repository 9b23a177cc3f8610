"""The cluster backend: informers (the operator's own, list + watch, relist on 410) for the
console's kinds in one namespace, and writes through the generic REST client. Where the
platform's memory service and Tempo are comes from the namespace's `agentops-platform`
ConfigMap, read when the backend starts (platform_discovery)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping

import aiohttp
import httpx

from agentops_services.kube.informer import Informer
from agentops_services.kube.podlogs import LogEvent, PodLogStream
from agentops_services.kube.resources import AGENT_RUN, POD, SELF_SUBJECT_ACCESS_REVIEW
from agentops_services.kube.rest import Kube, KubeError
from agentops_services.local.errors import FileProblem
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
from agentops_tui.backends.catalog import KINDS_SHOWN, ResourceKind, by_kind
from agentops_tui.backends.platform_discovery import discover
from agentops_tui.backends.pods import LogTarget, log_target, newest_pod, pod_selector
from agentops_tui.backends.service_access import ServiceAccess
from agentops_tui.services.editing import (
    FIELD_MANAGER,
    EditSession,
    KubeTarget,
    SaveRefusedError,
)
from agentops_tui.services.folder_problems import problem_line

LOG = logging.getLogger(__name__)
VERBS = ("create", "update", "delete")
"""The writes the console offers, checked per kind when it connects."""


class ClusterBackend:
    def __init__(
        self,
        kube: Kube,
        context: str,
        namespace: str,
        *,
        owns_client: bool = False,
        services: Mapping[str, str] | None = None,
    ) -> None:
        self.kube = kube
        self.owns_client = owns_client
        """Close the API client on stop (when the backend made it for the console)."""
        self.location = Location("cluster", context, namespace)
        self._listeners: list[Listener] = []
        self._informers = self._follow(namespace)
        self._allowed: dict[tuple[str, str], bool] = {}
        self._services_config = dict(services or {})
        self._service_listeners: list[StatesListener] = []
        self._services = self._access(namespace)
        self.platform_services = PlatformServices()
        """The memory service and Tempo: the defaults until `start` read the ConfigMap."""
        self._problems: list[FileProblem] = []
        self._problem_listeners: list[ProblemsListener] = []

    def _access(self, namespace: str) -> ServiceAccess:
        access = ServiceAccess(self.kube, namespace, env=os.environ, config=self._services_config)
        # Told at once (nothing reached yet), which also empties the footer on `:ns`.
        access.listen(self._announce_services)
        return access

    def _announce_services(self, states: Mapping[str, str]) -> None:
        for listener in list(self._service_listeners):
            listener(states)

    def _follow(self, namespace: str) -> dict[str, Informer]:
        """Informers for the console's kinds: namespaced ones in `namespace`."""
        informers = {
            kind.kind: Informer(self.kube, kind.type, [namespace] if kind.type.namespaced else None)
            for kind in KINDS_SHOWN
        }
        for name, informer in informers.items():
            informer.add_handler(self._announcer(name))
        return informers

    def _announcer(self, kind: str) -> Callable[[str, Object], None]:
        def announce(event: str, obj: Object) -> None:
            for listener in list(self._listeners):
                listener(kind, event, obj)

        return announce

    async def start(self) -> None:
        for informer in self._informers.values():
            informer.start()
        reviews = asyncio.gather(
            *(self._review(verb, kind) for kind in KINDS_SHOWN if kind.ours for verb in VERBS)
        )
        await self._discover()
        # The console's own kinds must be listed before the first frame; the rest follow.
        for kind_name in ("Agent", "AgentRun"):
            await self._informers[kind_name].synced.wait()
        await reviews

    async def _review(self, verb: str, kind: ResourceKind) -> None:
        """Ask the API server whether this user may `verb` the kind here (a
        SelfSubjectAccessReview), so the console can hide what would be refused."""
        attributes = {
            "namespace": self.location.namespace,
            "verb": verb,
            "group": kind.type.group,
            "resource": kind.type.plural,
        }
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes}}  # fmt: skip
        try:
            answer = await self.kube.create(SELF_SUBJECT_ACCESS_REVIEW, None, body)
        except (KubeError, OSError, TimeoutError):
            return  # unknown: allowed, and the API server still says no if it must
        allowed = bool((answer.get("status") or {}).get("allowed"))
        self._allowed[(verb, kind.kind)] = allowed

    async def _discover(self) -> None:
        """Where the platform's services are, from the namespace's ConfigMap (once per
        namespace); a bad value is told as a problem of the ConfigMap (and logged), its
        default used."""
        discovery = await discover(self.kube, self.location.namespace)
        self.platform_services = discovery.services
        self._problems = list(discovery.problems)
        for problem in self._problems:
            LOG.warning("%s", problem_line(problem))
        for listener in list(self._problem_listeners):
            listener(self._problems)

    def allowed(self, verb: str, kind: str) -> bool:
        return self._allowed.get((verb, kind), True)

    async def stop(self) -> None:
        for informer in self._informers.values():
            await informer.stop()
        await self._services.close()
        if self.owns_client:
            await self.kube.api.close()

    async def use_namespace(self, namespace: str) -> None:
        """Follow another namespace (`:ns NAME`); returns once its objects are listed."""
        for informer in self._informers.values():
            await informer.stop()
        await self._services.close()
        self.location = Location("cluster", self.location.context, namespace)
        self._informers = self._follow(namespace)
        self._services = self._access(namespace)
        self._allowed.clear()
        await self.start()

    def items(self, kind: str) -> list[Object]:
        informer = self._informers[kind]
        scope = self.location.namespace if informer.kind.namespaced else None
        return sorted(informer.items(scope), key=lambda o: o["metadata"]["name"])

    def listen(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def problems(self) -> list[FileProblem]:
        """The platform ConfigMap's bad values. No resource has problems: the API server
        refuses what does not validate, nothing is left lying."""
        return list(self._problems)

    def listen_problems(self, listener: ProblemsListener) -> Callable[[], None]:
        self._problem_listeners.append(listener)
        listener(self.problems())
        return lambda: self._problem_listeners.remove(listener)

    async def service(self, ref: ServiceRef) -> httpx.AsyncClient:
        return await self._services.client(ref)

    def listen_services(self, listener: StatesListener) -> Callable[[], None]:
        self._service_listeners.append(listener)
        listener(self._services.states)
        return lambda: self._service_listeners.remove(listener)

    async def delete(self, kind: str, name: str) -> None:
        try:
            await self.kube.delete(by_kind(kind).type, self.location.namespace, name)
        except KubeError as exc:
            raise BackendError(exc.message) from None

    async def edit(self, kind: str, name: str) -> EditSession:
        try:
            return await EditSession.open(
                KubeTarget(self.kube), kind, self.location.namespace, name
            )
        except SaveRefusedError as exc:
            raise BackendError(exc.message) from None

    def create(self, kind: str) -> EditSession:
        return EditSession.create(KubeTarget(self.kube), kind, self.location.namespace)

    async def start_run(self, agent: str, prompt: str) -> str:
        body = {
            "apiVersion": AGENT_RUN.api_version,
            "kind": "AgentRun",
            "metadata": {"generateName": f"{agent}-", "namespace": self.location.namespace},
            "spec": {"agentRef": agent, "prompt": prompt, "source": "console"},
        }
        try:
            created = await self.kube.create(
                AGENT_RUN, self.location.namespace, body, field_manager=FIELD_MANAGER
            )
        except KubeError as exc:
            raise BackendError(exc.message) from None
        return str(created["metadata"]["name"])

    async def log_target(self, kind: str, name: str) -> LogTarget:
        """The object's pod read fresh from the API server (the newest, when a rollout or a
        retried Job has several), not from the Pod informer, which may not have listed yet."""
        namespace = self.location.namespace
        try:
            if kind == "Pod":
                pod = await self.kube.get(POD, namespace, name)
                if pod is None:
                    raise BackendError(f"pod {name} is gone")
            else:
                selector, owner = pod_selector(kind, name, self.items)
                listed = await self.kube.list(POD, namespace, label_selector=selector)
                pod = newest_pod(listed.get("items") or [])
                if pod is None:
                    raise BackendError(f"{owner} has no pod yet ({selector})")
        except KubeError as exc:
            raise BackendError(exc.message) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise BackendError(f"cannot reach the API server ({exc})") from None
        return log_target(namespace, pod)

    def pod_logs(self, target: LogTarget, container: str) -> AsyncIterator[LogEvent]:
        stream = PodLogStream(self.kube, target.namespace, target.pod, container, uid=target.uid)
        return stream.follow()
