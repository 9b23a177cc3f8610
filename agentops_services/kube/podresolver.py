"""Which pod a forward goes to, and when that pod stops serving.

Port-forward always ends at one pod: like `kubectl port-forward svc/x`, a Service (or a label
selector) is resolved to one Running and Ready pod, and the forward must move when that pod
goes away (deleted, replaced in a rollout, no longer ready). The newest ready pod is chosen:
during a rollout the old ones are the first to go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from agentops_services.kube.portforward import PodEndpoint
from agentops_services.kube.resources import POD, SERVICE
from agentops_services.kube.rest import Kube, KubeError, Object

WATCH_SECONDS = 120
"""Server-side length of one watch of the chosen pod; a new one follows."""


class ResolveError(Exception):
    """No pod to forward to. `retryable` is False when waiting cannot help (no permission, a
    Service without a selector or without the requested port)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class PodResolver(Protocol):
    """What the supervisor needs to know about pods."""

    async def resolve(self) -> PodEndpoint:
        """A ready pod's endpoint, or ResolveError."""
        ...

    async def gone(self, endpoint: PodEndpoint) -> str:
        """Returns, with the reason, once the endpoint's pod no longer serves."""
        ...


@dataclass(frozen=True)
class ServiceTarget:
    """A Service port (number or name), forwarded to its targetPort on one backing pod."""

    name: str
    port: int | str

    def __str__(self) -> str:
        return f"service {self.name} port {self.port}"


@dataclass(frozen=True)
class SelectorTarget:
    """A container port (number or name) on one pod matching a label selector."""

    selector: str
    port: int | str

    def __str__(self) -> str:
        return f"pods {self.selector} port {self.port}"


Target = ServiceTarget | SelectorTarget


def is_ready(pod: Object) -> bool:
    """Running, not terminating, and its Ready condition True."""
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return False
    status = pod.get("status") or {}
    conditions = status.get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return bool(status.get("phase") == "Running" and ready)


def newest_ready(pods: list[Object]) -> Object | None:
    ready = [pod for pod in pods if is_ready(pod)]
    if not ready:
        return None
    return max(
        ready, key=lambda p: (p["metadata"].get("creationTimestamp", ""), p["metadata"]["name"])
    )


def selector_of(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def service_backend(service: Object, port: int | str) -> tuple[str, int | str]:
    """The Service's pod selector and the targetPort behind `port`."""
    name = service["metadata"]["name"]
    spec = service.get("spec") or {}
    labels = spec.get("selector") or {}
    if not labels:
        raise ResolveError(f"service {name} has no selector, so no pod backs it", retryable=False)
    for entry in spec.get("ports") or []:
        if port in (entry.get("port"), entry.get("name")):
            target: int | str = entry.get("targetPort") or entry["port"]
            return selector_of(labels), target
    raise ResolveError(f"service {name} has no port {port}", retryable=False)


def container_port(pod: Object, port: int | str) -> int:
    """A port number, or the number of the container port with that name."""
    if isinstance(port, int):
        return port
    if port.isdigit():
        return int(port)
    for container in pod.get("spec", {}).get("containers") or []:
        for entry in container.get("ports") or []:
            if entry.get("name") == port:
                number: int = entry["containerPort"]
                return number
    raise ResolveError(f"pod {pod['metadata']['name']} has no container port named {port}")


def unusable(pod: Object | None, endpoint: PodEndpoint) -> str | None:
    """Why the endpoint's pod no longer serves, or None while it does."""
    if pod is None:
        return f"pod {endpoint.pod} was deleted"
    if endpoint.uid and pod["metadata"].get("uid") != endpoint.uid:
        return f"pod {endpoint.pod} was replaced"
    if pod["metadata"].get("deletionTimestamp"):
        return f"pod {endpoint.pod} is terminating"
    if not is_ready(pod):
        phase = (pod.get("status") or {}).get("phase") or "Unknown"
        return f"pod {endpoint.pod} is not ready ({phase})"
    return None


def _retryable(error: KubeError) -> bool:
    return error.status not in (401, 403)


class KubePodResolver:
    """Resolves a target through the API server and watches the chosen pod (no polling)."""

    def __init__(
        self, kube: Kube, namespace: str, target: Target, watch_seconds: int = WATCH_SECONDS
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.target = target
        self.watch_seconds = watch_seconds
        self._selector = ""

    async def resolve(self) -> PodEndpoint:
        try:
            selector, port = await self._backend()
            listed = await self.kube.list(POD, self.namespace, label_selector=selector)
        except KubeError as exc:
            raise ResolveError(f"{self.target}: {exc.message}", retryable=_retryable(exc)) from exc
        pods: list[Object] = listed.get("items") or []
        pod = newest_ready(pods)
        if pod is None:
            raise ResolveError(f"no ready pod for {self.target} ({len(pods)} match {selector})")
        self._selector = selector
        metadata: dict[str, Any] = pod["metadata"]
        return PodEndpoint(
            self.namespace, metadata["name"], container_port(pod, port), metadata.get("uid", "")
        )

    async def _backend(self) -> tuple[str, int | str]:
        if isinstance(self.target, SelectorTarget):
            return self.target.selector, self.target.port
        service = await self.kube.get(SERVICE, self.namespace, self.target.name)
        if service is None:
            raise ResolveError(f"service {self.namespace}/{self.target.name} not found")
        return service_backend(service, self.target.port)

    async def gone(self, endpoint: PodEndpoint) -> str:
        """Watches the pod from its current version; each watch ends after `watch_seconds`
        and a new one starts from a fresh read (also after 410 Gone)."""
        while True:
            pod = await self.kube.get(POD, endpoint.namespace, endpoint.pod)
            reason = unusable(pod, endpoint)
            if reason is not None or pod is None:
                return reason or f"pod {endpoint.pod} was deleted"
            version = pod["metadata"]["resourceVersion"]
            try:
                async for event in self.kube.watch(
                    POD, endpoint.namespace, version, self.watch_seconds, self._selector or None
                ):
                    obj = event.get("object") or {}
                    if obj.get("metadata", {}).get("name") != endpoint.pod:
                        continue
                    if event.get("type") == "DELETED":
                        return f"pod {endpoint.pod} was deleted"
                    if event.get("type") == "MODIFIED" and (reason := unusable(obj, endpoint)):
                        return reason
            except KubeError as exc:
                if not exc.gone:
                    raise
