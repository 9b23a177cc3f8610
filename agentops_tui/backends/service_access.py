"""How the console reaches the platform's in-cluster HTTP services (an agent's runtime, the
memory service, Tempo) from a laptop or an SSH host.

Three routes, tried in this order per service:

1. a URL from the environment or the config file (`AGENT_URL_OVERRIDE` with `{name}` and
   `{namespace}`, `MEMORY_URL_OVERRIDE`, `TEMPO_URL`; or `[services]` runtime/memory/tempo), for
   an ingress or a forward the user runs themselves; else the URL the platform itself gives
   (`ServiceRef.url`: the `tempoURL` of its ConfigMap, an external Tempo);
2. a supervised port-forward to one ready pod behind the Service (native WebSocket
   port-forward; it follows the pod through restarts and rollouts and keeps its local port);
3. the API server's service proxy, when port-forward is refused for good (RBAC without
   `pods/portforward`, say): no local socket, the kubeconfig's own credentials.

Each service is opened once, on first use, and kept until the console closes; its state is
published for the footer. The clients are plain httpx clients with timeouts: screens never
know which route they got. A Service is looked for in its ref's namespace, else in the
console's (the platform may keep Tempo in its release namespace, or use one elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Mapping

import httpx
from kubernetes_asyncio import client

from agentops_services.kube.forwarding import ForwardState, ForwardSupervisor
from agentops_services.kube.podresolver import KubePodResolver, ServiceTarget
from agentops_services.kube.portforward import auth_headers, ssl_context
from agentops_services.kube.rest import Kube
from agentops_tui.backends.base import Role, ServiceRef, ServiceStates, StatesListener

READY_WAIT = 5.0
"""Seconds to wait for a new forward to settle before handing out its client: long enough for
a healthy pod, short enough that a broken one fails fast into the proxy."""
HTTP_TIMEOUT = httpx.Timeout(10.0)
"""Per request; a stream that may stay quiet longer sets its own read timeout."""
ENV_OVERRIDES: Mapping[Role, str] = {
    "runtime": "AGENT_URL_OVERRIDE",
    "memory": "MEMORY_URL_OVERRIDE",
    "tempo": "TEMPO_URL",
}
"""Environment names as the original console's backend used them."""


def override_url(
    ref: ServiceRef, namespace: str, env: Mapping[str, str], config: Mapping[str, str]
) -> str | None:
    """The URL the user configured for the service, environment first; `{namespace}` is the
    Service's own (`namespace`, the console's, when the ref names none)."""
    template = env.get(ENV_OVERRIDES[ref.role]) or config.get(ref.role)
    if not template:
        return None
    return template.format(name=ref.name, namespace=ref.namespace or namespace).rstrip("/")


class ServiceAccess:
    """Opens and keeps the routes to the services of one console namespace (and those its
    refs place in other namespaces)."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        *,
        env: Mapping[str, str],
        config: Mapping[str, str],
        ready_wait: float = READY_WAIT,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.env = env
        self.config = config
        self.ready_wait = ready_wait
        self._clients: dict[ServiceRef, httpx.AsyncClient] = {}
        self._forwards: list[ForwardSupervisor] = []
        self._states = ServiceStates()
        self._lock = asyncio.Lock()

    @property
    def states(self) -> Mapping[str, str]:
        """Service label -> how it is reached right now (for the footer)."""
        return self._states.current

    def listen(self, listener: StatesListener) -> Callable[[], None]:
        """Follow the states: told them at once, then at every change."""
        return self._states.listen(listener)

    async def client(self, ref: ServiceRef) -> httpx.AsyncClient:
        """An HTTP client whose base URL reaches the service (opened on first use)."""
        async with self._lock:
            if ref not in self._clients:
                self._clients[ref] = await self._open(ref)
            return self._clients[ref]

    def namespace_of(self, ref: ServiceRef) -> str:
        """The namespace the ref's Service is in."""
        return ref.namespace or self.namespace

    async def _open(self, ref: ServiceRef) -> httpx.AsyncClient:
        url = override_url(ref, self.namespace, self.env, self.config)
        if url is None and ref.url:
            url = ref.url.rstrip("/")
        if url is not None:
            self._states.publish(ref.label, f"direct {url}")
            return httpx.AsyncClient(base_url=url, timeout=HTTP_TIMEOUT)
        forward = await self._forward(ref)
        if forward is not None:
            return httpx.AsyncClient(base_url=forward.local_url, timeout=HTTP_TIMEOUT)
        return await self._proxy(ref)

    async def _forward(self, ref: ServiceRef) -> ForwardSupervisor | None:
        """A running forward, or None when port-forward failed for good (then it is closed)."""
        target = ServiceTarget(ref.name, ref.port)
        resolver = KubePodResolver(self.kube, self.namespace_of(ref), target)
        settled = asyncio.Event()

        def on_state(state: ForwardState) -> None:
            self._states.publish(ref.label, f"⇄ {state}")
            if state.phase != "connecting":
                settled.set()

        forward = ForwardSupervisor(self.kube.api, resolver, on_state=on_state)
        await forward.__aenter__()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(settled.wait(), self.ready_wait)
        if forward.state.phase == "failed":
            await forward.__aexit__(None, None, None)
            return None
        self._forwards.append(forward)
        return forward

    async def _proxy(self, ref: ServiceRef) -> httpx.AsyncClient:
        """A client on the API server's service proxy, with the kubeconfig's credentials."""
        configuration = self.kube.api.configuration
        url = (
            f"{configuration.host}/api/v1/namespaces/{self.namespace_of(ref)}"
            f"/services/{ref.name}:{ref.port}/proxy"
        )
        self._states.publish(ref.label, f"via API server proxy ({self._states.get(ref.label)})")
        return httpx.AsyncClient(
            base_url=url,
            auth=KubeAuth(configuration),
            timeout=HTTP_TIMEOUT,
            verify=ssl_context(configuration),
        )

    async def close(self) -> None:
        for http in self._clients.values():
            await http.aclose()
        for forward in self._forwards:
            await forward.__aexit__(None, None, None)
        self._clients.clear()
        self._forwards.clear()
        self._states.clear()


class KubeAuth(httpx.Auth):
    """The kubeconfig's credentials on every request, refreshed as kubernetes-asyncio refreshes
    them (exec plugins, expiring tokens); client certificates are in the TLS context."""

    def __init__(self, configuration: client.Configuration) -> None:
        self.configuration = configuration

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers.update(await auth_headers(self.configuration))
        yield request
