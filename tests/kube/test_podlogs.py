"""Following a container's log through the real API server.

No kubelet runs in the test control plane, so a Node is registered whose kubelet endpoint is
the fake kubelet of tests/fakes/kubelet.py (TLS, /containerLogs/...): the request goes
client -> API server (token, pod and container checks, the proxy) -> kubelet and back, and the
test decides what the container writes and when.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client

from agentops_services.kube.podlogs import LogEvent, LogLine, LogStatus, PodLogStream
from agentops_services.kube.resources import POD
from agentops_services.kube.rest import Kube
from agentops_services.testing.controlplane import free_port
from tests.conftest import eventually
from tests.fakes.kubelet import go_timestamp
from tests.kube.kubelet_node import Node, kubelet_node, pod_on
from tests.kube.test_portforward_pod import NODE, register_node

pytestmark = pytest.mark.kube

CONTAINER = "agent-runtime"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
async def node(kube: client.ApiClient, namespace: str, tmp_path: Path) -> AsyncIterator[Node]:
    async with kubelet_node(Kube(kube), namespace, tmp_path) as node:
        yield node


def pod(node: str) -> dict[str, Any]:
    return pod_on(node, "web-a", (CONTAINER,))


@dataclass
class Reader:
    """Consumes a stream in the background; what it yielded so far."""

    stream: PodLogStream
    events: list[LogEvent] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async for event in self.stream.follow():
            self.events.append(event)

    @property
    def texts(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, LogLine)]

    @property
    def statuses(self) -> list[LogStatus]:
        return [e for e in self.events if isinstance(e, LogStatus)]

    async def shows(self, texts: list[str]) -> None:
        async def check() -> None:
            assert self.texts == texts, self.events

        await eventually(check, timeout=20)

    async def ended(self) -> LogStatus:
        async def check() -> LogStatus:
            assert self.task is not None and self.task.done(), self.events
            self.task.result()
            last = self.events[-1]
            assert isinstance(last, LogStatus) and last.phase == "ended", last
            return last

        return await eventually(check, timeout=20)


@contextlib.asynccontextmanager
async def reading(kube: client.ApiClient, namespace: str, pod: str, container: str = CONTAINER,
                  **options: Any) -> AsyncIterator[Reader]:  # fmt: skip
    stream = PodLogStream(
        Kube(kube), namespace, pod, container, first_backoff=0.05, max_backoff=0.2, **options
    )
    reader = Reader(stream)
    reader.task = asyncio.create_task(reader._run())
    try:
        yield reader
    finally:
        reader.task.cancel()
        await asyncio.gather(reader.task, return_exceptions=True)


async def test_follow_shows_the_tail_then_lines_written_while_streaming(
    kube: client.ApiClient, namespace: str, node: Node
) -> None:
    await Kube(kube).create(POD, namespace, pod(node.name))
    node.kubelet.write(namespace, "web-a", CONTAINER, "one", "two", "three", at=T0)
    async with reading(kube, namespace, "web-a", tail_lines=2) as reader:
        await reader.shows(["two", "three"])
        node.kubelet.write(namespace, "web-a", CONTAINER, "four")
        await reader.shows(["two", "three", "four"])
        assert [s.phase for s in reader.statuses] == ["connecting", "streaming"]
        first = reader.events[2]
        assert first == LogLine("two", go_timestamp(T0))
    assert node.kubelet.requests == [{"follow": "true", "tailLines": "2", "timestamps": "true"}]


async def test_a_dropped_stream_continues_from_since_time_without_repeating_lines(
    kube: client.ApiClient, namespace: str, node: Node
) -> None:
    """Two lines share a timestamp, and the stream drops between them: the reconnect (whole
    second sinceTime) replays the second, which must be told apart from the third."""
    await Kube(kube).create(POD, namespace, pod(node.name))
    kubelet = node.kubelet
    kubelet.write(namespace, "web-a", CONTAINER, "a", at=T0 + timedelta(milliseconds=100))
    kubelet.write(namespace, "web-a", CONTAINER, "b", "c", at=T0 + timedelta(milliseconds=200))
    kubelet.write(namespace, "web-a", CONTAINER, "d", at=T0 + timedelta(seconds=1))
    kubelet.cut_next_after = 2
    async with reading(kube, namespace, "web-a") as reader:
        await reader.shows(["a", "b", "c", "d"])
        kubelet.write(namespace, "web-a", CONTAINER, "e")
        await reader.shows(["a", "b", "c", "d", "e"])
        phases = [s.phase for s in reader.statuses]
        assert phases == ["connecting", "streaming", "reconnecting", "streaming"]
        assert reader.statuses[2].reason == "the log stream ended"
    first, second = kubelet.requests
    assert "sinceTime" not in first
    assert second == {"follow": "true", "timestamps": "true", "sinceTime": "2026-03-01T12:00:00Z"}


async def test_refusals_end_the_stream_with_the_reason(
    kube: client.ApiClient, namespace: str, node: Node
) -> None:
    await Kube(kube).create(POD, namespace, pod(node.name))
    async with reading(kube, namespace, "web-a", container="nope") as reader:
        assert (await reader.ended()).reason == "container nope is not valid for pod web-a"
    async with reading(kube, namespace, "missing") as reader:
        assert (await reader.ended()).reason == 'pods "missing" not found'
    assert node.kubelet.requests == [], "the API server refused both itself"


async def test_a_container_not_started_yet_is_waited_for(
    kube: client.ApiClient, namespace: str, node: Node
) -> None:
    await Kube(kube).create(POD, namespace, pod(node.name))
    node.kubelet.container(namespace, "web-a", CONTAINER).waiting = "ContainerCreating"
    async with reading(kube, namespace, "web-a") as reader:

        async def waiting() -> None:
            assert any(s.phase == "waiting" for s in reader.statuses), reader.events

        await eventually(waiting, timeout=20)
        reason = next(s.reason for s in reader.statuses if s.phase == "waiting")
        assert "is waiting to start: ContainerCreating" in reason
        node.kubelet.container(namespace, "web-a", CONTAINER).waiting = None
        node.kubelet.write(namespace, "web-a", CONTAINER, "started")
        await reader.shows(["started"])


async def test_the_stream_ends_when_the_pod_is_deleted(
    kube: client.ApiClient, namespace: str, node: Node
) -> None:
    await Kube(kube).create(POD, namespace, pod(node.name))
    node.kubelet.write(namespace, "web-a", CONTAINER, "last words")
    async with reading(kube, namespace, "web-a") as reader:
        await reader.shows(["last words"])
        await client.CoreV1Api(kube).delete_namespaced_pod(
            "web-a", namespace, grace_period_seconds=0
        )
        node.kubelet.finish(namespace, "web-a", CONTAINER)
        assert (await reader.ended()).reason == "pod web-a was deleted"
        assert reader.texts == ["last words"]


async def test_a_silent_stream_is_reopened_after_the_idle_timeout(
    kube: client.ApiClient, namespace: str, node: Node
) -> None:
    """A half-open connection looks like a quiet container: past the idle timeout the log is
    asked for again from the last line seen."""
    await Kube(kube).create(POD, namespace, pod(node.name))
    node.kubelet.write(namespace, "web-a", CONTAINER, "before")
    async with reading(kube, namespace, "web-a", idle_timeout=1) as reader:
        await reader.shows(["before"])

        async def reopened() -> None:
            assert LogStatus("reconnecting", "no log line for 1s") in reader.statuses
            assert len(node.kubelet.requests) >= 2

        await eventually(reopened, timeout=20)
        node.kubelet.write(namespace, "web-a", CONTAINER, "after")
        await reader.shows(["before", "after"])
    assert "sinceTime" in node.kubelet.requests[1]


async def test_a_pod_on_an_unreachable_kubelet_is_retried_with_the_reason(
    kube: client.ApiClient, namespace: str
) -> None:
    """The node's kubelet refuses connections (restarting, say): the API server answers 500,
    which may pass, so the stream keeps trying and says why."""
    rest = Kube(kube)
    await register_node(rest, f"gone-{namespace}", free_port())
    try:
        await rest.create(POD, namespace, pod_on(f"gone-{namespace}", "web-b", (CONTAINER,)))
        async with reading(kube, namespace, "web-b") as reader:

            async def retried() -> None:
                reasons = [s.reason for s in reader.statuses if s.phase == "reconnecting"]
                assert len(reasons) >= 2, reader.events
                assert reasons[0].startswith("the API server answered 500: Get ")
                assert "connection refused" in reasons[0]
                assert reader.task is not None and not reader.task.done()

            await eventually(retried, timeout=30)
    finally:
        await rest.delete(NODE, None, f"gone-{namespace}")
