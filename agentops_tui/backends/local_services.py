"""How the console reaches the embedded platform's HTTP services: all on loopback, where
`GET /api/v1/services` of the platform API says (the memory service, the trace store, and
each daemon agent's runtime while it serves).

A runtime that restarts usually keeps its port, but one that could not may come back on
another: every client handed out sends its requests to the URL last announced, and when a
connection is refused it asks the platform again and retries once on the new URL. Screens get
plain httpx clients with timeouts, as in a cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from agentops_tui.backends.base import BackendError, ServiceRef, ServiceStates, StatesListener

HTTP_TIMEOUT = httpx.Timeout(10.0)
"""Per request, as in a cluster; a stream that may stay quiet longer sets its own."""
ASK_TIMEOUT = 5.0
"""Seconds the platform API has to say where the services are (it is on loopback)."""
SERVICES_PATH = "/api/v1/services"


class LoopbackServices:
    """The service URLs of one embedded platform, and the clients opened on them."""

    def __init__(self, platform_url: str) -> None:
        self.platform_url = platform_url
        self._http = httpx.AsyncClient(base_url=platform_url, timeout=ASK_TIMEOUT, trust_env=False)
        self._answer: dict[str, Any] | None = None
        self._clients: dict[ServiceRef, httpx.AsyncClient] = {}
        self._states = ServiceStates()
        self._lock = asyncio.Lock()

    @property
    def states(self) -> Mapping[str, str]:
        return self._states.current

    def listen(self, listener: StatesListener) -> Callable[[], None]:
        """Follow the states: told them at once, then at every change."""
        return self._states.listen(listener)

    async def answer(self, *, refresh: bool = False) -> dict[str, Any]:
        """The platform's `/api/v1/services` answer (asked once, again when `refresh`)."""
        if self._answer is None or refresh:
            try:
                response = await self._http.get(SERVICES_PATH)
                response.raise_for_status()
                body = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise BackendError(
                    f"the embedded platform at {self.platform_url} does not say where its "
                    f"services are ({exc or type(exc).__name__})"
                ) from None
            self._answer = body if isinstance(body, dict) else {}
        return self._answer

    async def url(self, ref: ServiceRef, *, refresh: bool = False) -> str:
        """Where the service answers now; BackendError when it does not run."""
        answer = await self.answer(refresh=refresh)
        if ref.role == "runtime":
            url = (answer.get("runtimes") or {}).get(ref.name)
            if not url:
                raise BackendError(
                    f"Agent {ref.name} has no runtime serving on this machine (a task agent, "
                    "or one still starting: see its status)"
                )
        else:
            url = answer.get(ref.role)
            if not url:
                raise BackendError(f"the embedded platform runs no {ref.role} service")
        return str(url).rstrip("/")

    async def client(self, ref: ServiceRef) -> httpx.AsyncClient:
        """A client whose requests reach the service wherever it answers now."""
        async with self._lock:
            if ref not in self._clients:
                url = await self.url(ref, refresh=True)
                transport = _Following(self, ref, url)
                self._clients[ref] = httpx.AsyncClient(
                    base_url=url, timeout=HTTP_TIMEOUT, transport=transport
                )
                self.publish(ref.label, url)
            return self._clients[ref]

    def publish(self, label: str, url: str) -> None:
        self._states.publish(label, f"loopback {url}")

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        self._states.clear()
        await self._http.aclose()


class _Following(httpx.AsyncBaseTransport):
    """Sends each request to the service's current URL; on a refused connection asks the
    platform where it is now and retries once there."""

    def __init__(self, services: LoopbackServices, ref: ServiceRef, url: str) -> None:
        self.services = services
        self.ref = ref
        self.url = httpx.URL(url)
        self._inner = httpx.AsyncHTTPTransport()

    def _aimed(self, request: httpx.Request) -> httpx.Request:
        request.url = request.url.copy_with(
            scheme=self.url.scheme, host=self.url.host, port=self.url.port
        )
        request.headers["Host"] = self.url.netloc.decode()
        return request

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(self._aimed(request))
        except httpx.ConnectError:
            try:
                moved = httpx.URL(await self.services.url(self.ref, refresh=True))
            except BackendError:
                raise httpx.ConnectError(
                    f"{self.ref.label} does not answer and the platform has no new address for it",
                    request=request,
                ) from None
            if moved == self.url:
                raise
            self.url = moved
            self.services.publish(self.ref.label, str(moved))
            return await self._inner.handle_async_request(self._aimed(request))

    async def aclose(self) -> None:
        await self._inner.aclose()
