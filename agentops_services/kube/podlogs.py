"""Follow one container's log through the API server, as `kubectl logs -f` does, but across
the ends of the stream.

`GET /api/v1/namespaces/{ns}/pods/{pod}/log?follow=true&container=C&timestamps=true` is
proxied by the API server to the node's kubelet (`/containerLogs/{ns}/{pod}/{c}`), which
streams the lines as the container writes them. A follow stream ends when the container
exits, when the kubelet or a proxy on the way closes it, or (here) when it stays silent past
the idle timeout (a half-open connection looks exactly like a quiet container). While the
pod still exists the log is requested again from `sinceTime`, so nothing written in between
is lost.

Timestamps are always requested: they are how a reconnect avoids repeating lines. The API
server passes `sinceTime` on to the kubelet with whole-second precision, so the lines of the
last second seen come again; they are recognised by their timestamp and how many lines
carried it, and skipped.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp

from agentops_services.kube.resources import POD
from agentops_services.kube.rest import Kube, KubeError, Object

TAIL_LINES = 500
"""Lines of history the first request asks for (k9s shows 100, kubectl all of them)."""
CONNECT_TIMEOUT = 15.0
"""Seconds until the response starts: the API server answers once the kubelet has."""
IDLE_TIMEOUT = 300.0
"""Seconds without a byte after which the stream is re-opened (from sinceTime)."""
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 10.0
MAX_LINE = 64 * 1024
"""Bytes of one line kept together; a longer line arrives in pieces of this size."""
MAX_ERROR = 2000
"""Characters of an error body kept for the message."""
WAITING = "is waiting to start"
"""The kubelet's words for a container that has not run yet (ContainerCreating,
PodInitializing, an image pull): the log will come, so it is worth asking again."""

_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


@dataclass(frozen=True)
class LogLine:
    text: str
    time: str = ""
    """The kubelet's RFC 3339 timestamp of the line, "" when it had none."""


Phase = Literal["connecting", "streaming", "waiting", "reconnecting", "ended"]


@dataclass(frozen=True)
class LogStatus:
    """How the stream is doing; `reason` says why it is not simply streaming."""

    phase: Phase
    reason: str = ""


LogEvent = LogLine | LogStatus


class LogRequestError(Exception):
    """The API server refused the log request (4xx), in its words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def waiting(self) -> bool:
        return self.status == 400 and WAITING in self.message


def refusal(status: int, body: bytes) -> str:
    """The message of a refused log request: the API server's Status message, which carries
    the kubelet's own words when the refusal came from there."""
    text = body[: MAX_ERROR * 4].decode("utf-8", errors="replace")
    try:
        document = json.loads(text or "{}")
    except ValueError:
        return text.strip()[:MAX_ERROR] or f"HTTP {status}"
    message = document.get("message") if isinstance(document, dict) else None
    return str(message or f"HTTP {status}")[:MAX_ERROR]


def instant(timestamp: str) -> tuple[int, int] | None:
    """(epoch seconds, nanoseconds) of an RFC 3339 timestamp with up to nine fraction digits
    (Go's RFC3339Nano drops trailing zeros, so text order is not time order); None if it is
    not one."""
    match = _TIMESTAMP.fullmatch(timestamp)
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    moment = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return int(moment.timestamp()), int((fraction or "").ljust(9, "0"))


def since_time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_timestamp(raw: str) -> LogLine:
    """A line as the kubelet sends it with timestamps=true: the timestamp, a space, the text."""
    stamp, space, text = raw.partition(" ")
    if space and instant(stamp) is not None:
        return LogLine(text, stamp)
    return LogLine(raw)


def finished(pod: Object | None, name: str, uid: str, container: str) -> str | None:
    """Why following `container` of the pod cannot go on (deleted, replaced, done), or None
    while it may still log."""
    if pod is None:
        return f"pod {name} was deleted"
    if uid and pod["metadata"].get("uid") != uid:
        return f"pod {name} was replaced by a new one of the same name"
    status = pod.get("status") or {}
    phase = status.get("phase")
    if phase in ("Succeeded", "Failed"):
        return f"pod {name} {str(phase).lower()}"
    spec = pod.get("spec") or {}
    if spec.get("restartPolicy") == "Never":
        statuses = [*(status.get("initContainerStatuses") or []),
                    *(status.get("containerStatuses") or [])]  # fmt: skip
        for entry in statuses:
            terminated = (entry.get("state") or {}).get("terminated")
            if entry.get("name") == container and terminated:
                reason = terminated.get("reason") or "terminated"
                return f"container {container} exited: {reason} (code {terminated.get('exitCode')})"
    return None


class _Replay:
    """Skips what a reconnect repeats: lines older than the last one delivered, and as many
    lines of exactly its timestamp as were delivered."""

    def __init__(self) -> None:
        self.last: tuple[int, int] | None = None
        self.at_last = 0
        """Lines delivered carrying exactly `last`."""
        self._skip_same = 0
        self._replaying = False

    def restart(self) -> str | None:
        """A new request begins; the sinceTime to send (None: nothing seen yet)."""
        self._replaying = self.last is not None
        self._skip_same = self.at_last
        return None if self.last is None else since_time(self.last[0])

    def fresh(self, line: LogLine) -> bool:
        """Whether the line is new; remembers it when it is."""
        moment = instant(line.time) if line.time else None
        if moment is None:
            return not self._replaying or self.last is None
        if self._replaying and self.last is not None:
            if moment < self.last:
                return False
            if moment == self.last and self._skip_same > 0:
                self._skip_same -= 1
                return False
            self._replaying = False
        if moment == self.last:
            self.at_last += 1
        else:
            self.last, self.at_last = moment, 1
        return True


class PodLogStream:
    """One container's log, followed until the pod is gone or done: an async iterator of
    LogLine and LogStatus events. Refusals that waiting cannot cure (no such container, no
    permission, no such pod) end it with the API server's reason."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        pod: str,
        container: str,
        *,
        uid: str = "",
        tail_lines: int = TAIL_LINES,
        connect_timeout: float = CONNECT_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        first_backoff: float = FIRST_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.uid = uid
        self.tail_lines = tail_lines
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._replay = _Replay()

    async def follow(self) -> AsyncIterator[LogEvent]:
        """A LogStatus whenever the stream's phase changes, a LogLine for every line not seen
        before; returns after the `ended` status."""
        backoff = self.first_backoff
        yield LogStatus("connecting")
        while True:
            since = self._replay.restart()
            try:
                response = await self._open(since)
            except LogRequestError as exc:
                ended = await self._ended() if exc.waiting else exc.message
                if ended is not None:
                    yield LogStatus("ended", ended)
                    return
                yield LogStatus("waiting", exc.message)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                yield LogStatus("reconnecting", _unreachable(exc, self.connect_timeout))
            else:
                yield LogStatus("streaming")
                delivered = 0
                try:
                    async for line in self._lines(response):
                        delivered += 1
                        backoff = self.first_backoff
                        yield line
                    reason = "the log stream ended" if delivered else "no new log lines yet"
                except aiohttp.ServerTimeoutError:
                    reason = f"no log line for {self.idle_timeout:g}s"
                except (aiohttp.ClientError, OSError) as exc:
                    reason = f"the log stream broke ({type(exc).__name__})"
                finally:
                    response.release()
                if (ended := await self._ended()) is not None:
                    yield LogStatus("ended", ended)
                    return
                yield LogStatus("reconnecting" if delivered else "waiting", reason)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    def query(self, since: str | None) -> dict[str, Any]:
        """The request's parameters: the tail the first time, everything since the last line
        delivered after that."""
        query: dict[str, Any] = {"container": self.container, "follow": "true",
                                 "timestamps": "true"}  # fmt: skip
        if since is None:
            query["tailLines"] = self.tail_lines
        else:
            query["sinceTime"] = since
        return query

    async def _open(self, since: str | None) -> aiohttp.ClientResponse:
        self.kube.requests["log"] += 1
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.connect_timeout, sock_read=self.idle_timeout
        )
        async with asyncio.timeout(self.connect_timeout):
            response: aiohttp.ClientResponse = await self.kube.api.call_api(
                POD.path(self.namespace, self.pod, "log"),
                "GET",
                query_params=list(self.query(since).items()),
                header_params={"Accept": "text/plain, application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
            )
            if response.status < 300:
                return response
            try:
                body = await response.content.read(MAX_ERROR * 4)
            finally:
                response.release()
        message = refusal(response.status, body)
        if 400 <= response.status < 500:
            raise LogRequestError(response.status, message)
        raise aiohttp.ClientResponseError(
            response.request_info, (), status=response.status, message=message
        )

    async def _lines(self, response: aiohttp.ClientResponse) -> AsyncIterator[LogLine]:
        """The new lines of the response, as they arrive."""
        buffer = b""
        async for chunk in response.content.iter_any():
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            while len(buffer) > MAX_LINE:
                complete.append(buffer[:MAX_LINE])
                buffer = buffer[MAX_LINE:]
            for raw in complete:
                line = split_timestamp(raw.decode("utf-8", errors="replace").rstrip("\r"))
                if self._replay.fresh(line):
                    yield line
        if buffer:
            line = split_timestamp(buffer.decode("utf-8", errors="replace"))
            if self._replay.fresh(line):
                yield line

    async def _ended(self) -> str | None:
        """Why the log cannot continue, from a fresh read of the pod; None when it can or
        when the API server cannot say right now (the next attempt asks again)."""
        try:
            pod = await self.kube.get(POD, self.namespace, self.pod)
        except (KubeError, aiohttp.ClientError, OSError, TimeoutError):
            return None
        return finished(pod, self.pod, self.uid, self.container)


def _unreachable(exc: BaseException, connect_timeout: float) -> str:
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"the API server answered {exc.status}: {exc.message}"
    if isinstance(exc, TimeoutError):
        return f"no answer within {connect_timeout:g}s"
    return f"cannot reach the API server ({type(exc).__name__}: {exc})"


def containers_of(pod: Mapping[str, Any]) -> tuple[str, ...]:
    """The pod's containers whose logs can be read: regular ones first, then init containers
    (native sidecars among them)."""
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    names += [c["name"] for c in spec.get("initContainers") or []]
    return tuple(names)
