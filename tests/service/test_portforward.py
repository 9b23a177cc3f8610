"""The native port-forward against an in-test peer that speaks the kubelet's WebSocket channel
protocol (tests/fakes/kubelet.py) where the API server would be, relaying to a real TCP echo
server on loopback. The client side is the product's code path end to end; only the pod
resolution is scripted (the peer is no API server)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from kubernetes_asyncio import client

from agentops_services.kube.forwarding import Backoff, ForwardState, ForwardSupervisor
from agentops_services.kube.podresolver import ResolveError
from agentops_services.kube.portforward import PodEndpoint, PortForward, PortForwardError
from tests.conftest import eventually
from tests.fakes.kubelet import Peer, serve_peer

TOKEN = "test-token-not-for-logs"
NAMESPACE = "team"
PORT = 8080


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    async with serve_peer(port=PORT, token=TOKEN) as peer:
        peer.pods = {"web-1"}
        yield peer
    assert peer.problems == []


@pytest.fixture
async def api(peer: Peer) -> AsyncIterator[client.ApiClient]:
    configuration = client.Configuration(
        host=peer.url, api_key={"BearerToken": TOKEN}, api_key_prefix={"BearerToken": "Bearer"}
    )
    async with client.ApiClient(configuration) as api:
        yield api


def endpoint(pod: str = "web-1") -> PodEndpoint:
    return PodEndpoint(NAMESPACE, pod, PORT)


async def connect(forward: PortForward) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", forward.local_port)


async def round_trip(forward: PortForward, payload: bytes) -> bytes:
    reader, writer = await connect(forward)
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(payload)), 10)
    finally:
        writer.close()


async def test_round_trip_both_ways_with_a_payload_larger_than_a_frame(
    peer: Peer, api: client.ApiClient
) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB: 32 frames each way
    async with PortForward(api, endpoint()) as forward:
        assert forward.local_url == f"http://127.0.0.1:{forward.local_port}"
        assert await round_trip(forward, b"ping") == b"ping"
        assert await round_trip(forward, payload) == payload
    assert peer.sessions == ["web-1", "web-1"]


async def test_each_local_connection_gets_its_own_websocket(
    peer: Peer, api: client.ApiClient
) -> None:
    async with PortForward(api, endpoint()) as forward:
        payloads = [f"connection {i} ".encode() * (1000 * (i + 1)) for i in range(5)]
        echoed = await asyncio.gather(*(round_trip(forward, p) for p in payloads))
    assert echoed == payloads
    assert len(peer.sessions) == 5


async def test_an_error_channel_message_fails_that_connection_only(
    peer: Peer, api: client.ApiClient
) -> None:
    errors: list[PortForwardError] = []
    async with PortForward(api, endpoint(), on_error=errors.append) as forward:
        healthy_reader, healthy_writer = await connect(forward)
        healthy_writer.write(b"before")
        assert await asyncio.wait_for(healthy_reader.readexactly(6), 10) == b"before"

        peer.fail_next = "error forwarding port 8080 to pod web-1: connection refused"
        reader, writer = await connect(forward)
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(reader.readexactly(1), 10)
        writer.close()

        healthy_writer.write(b"after")
        assert await asyncio.wait_for(healthy_reader.readexactly(5), 10) == b"after"
        healthy_writer.close()
    [error] = errors
    assert not error.connect
    assert "pod team/web-1 port 8080" in str(error)
    assert "connection refused" in str(error)


async def test_a_refused_upgrade_says_why(peer: Peer, api: client.ApiClient) -> None:
    errors: list[PortForwardError] = []
    async with PortForward(api, endpoint("gone-1"), on_error=errors.append) as forward:
        reader, writer = await connect(forward)
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(reader.readexactly(1), 10)
        writer.close()
    [error] = errors
    assert error.connect
    assert "HTTP 404" in str(error) and 'pods "gone-1" not found' in str(error)


async def test_server_close_closes_the_local_connection(peer: Peer, api: client.ApiClient) -> None:
    peer.close_after = b"bye"
    async with PortForward(api, endpoint()) as forward:
        reader, writer = await connect(forward)
        assert await asyncio.wait_for(reader.read(), 10) == b"bye"  # then EOF
        writer.close()
        await eventually(lambda: _no_connections(forward))


async def test_local_close_closes_the_websocket(peer: Peer, api: client.ApiClient) -> None:
    async with PortForward(api, endpoint()) as forward:
        assert await round_trip(forward, b"x") == b"x"

        async def closed() -> None:
            assert peer.sessions and peer.open_sessions == 0
            await _no_connections(forward)

        await eventually(closed)


async def test_exit_releases_the_local_port(peer: Peer, api: client.ApiClient) -> None:
    async with PortForward(api, endpoint()) as forward:
        port = forward.local_port
        reader, writer = await connect(forward)  # still open at exit
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()


async def test_tokens_stay_out_of_logs(
    peer: Peer, api: client.ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    peer.fail_next = "connection refused"
    async with PortForward(api, endpoint("gone-1")) as forward:
        for _ in range(2):
            reader, writer = await connect(forward)
            await asyncio.wait_for(reader.read(), 10)
            writer.close()
    assert "pod team/gone-1 port 8080" in caplog.text
    assert TOKEN not in caplog.text


async def _no_connections(forward: PortForward) -> None:
    assert forward.connections == 0


class ScriptedPods:
    """The pods a test says are ready, in place of the API server (the peer is no API server);
    `gone` returns when the pod it was given is no longer the ready one."""

    def __init__(self, pod: str | None) -> None:
        self.pod = pod
        self.changed = asyncio.Condition()

    async def set(self, pod: str | None) -> None:
        async with self.changed:
            self.pod = pod
            self.changed.notify_all()

    async def resolve(self) -> PodEndpoint:
        if self.pod is None:
            raise ResolveError(f"no ready pod for service web port {PORT}")
        return endpoint(self.pod)

    async def gone(self, serving: PodEndpoint) -> str:
        async with self.changed:
            await self.changed.wait_for(lambda: self.pod != serving.pod)
        return f"pod {serving.pod} was deleted"


def phases(states: list[ForwardState]) -> list[str]:
    """The phases in order, repeats folded (reconnecting counts up its attempts)."""
    folded: list[str] = []
    for state in states:
        if not folded or folded[-1] != state.phase:
            folded.append(state.phase)
    return folded


FAST = Backoff(initial=0.01, cap=0.05)


async def test_supervisor_moves_to_the_new_pod_when_the_first_disappears(
    peer: Peer, api: client.ApiClient
) -> None:
    pods = ScriptedPods("web-1")
    states: list[ForwardState] = []
    async with ForwardSupervisor(api, pods, backoff=FAST, on_state=states.append) as supervisor:
        url = supervisor.local_url
        await eventually(lambda: _phase(supervisor, "ready"))
        assert supervisor.state == ForwardState.ready(url, "web-1")
        assert await round_trip(supervisor.forward, b"one") == b"one"

        peer.pods = {"web-2"}
        await pods.set(None)
        await eventually(lambda: _attempts(states, 2))
        assert states[-1].reason == f"no ready pod for service web port {PORT}"
        await pods.set("web-2")
        await eventually(lambda: _phase(supervisor, "ready"))

        assert supervisor.local_url == url
        assert supervisor.state.pod == "web-2"
        assert await round_trip(supervisor.forward, b"two") == b"two"
    assert peer.sessions == ["web-1", "web-2"]
    assert phases(states) == ["ready", "reconnecting", "ready"]
    reconnecting = [s for s in states if s.phase == "reconnecting"]
    assert reconnecting[0] == ForwardState.reconnecting(1, "pod web-1 was deleted")
    assert [s.attempt for s in reconnecting] == list(range(1, len(reconnecting) + 1))


async def test_supervisor_states_stream_starts_with_connecting(
    peer: Peer, api: client.ApiClient
) -> None:
    pods = ScriptedPods(None)
    seen: list[ForwardState] = []
    async with ForwardSupervisor(api, pods, backoff=FAST, max_attempts=2) as supervisor:
        async for state in supervisor.states():
            seen.append(state)
            if state.phase == "failed":
                break
    assert [s.phase for s in seen] == ["connecting", "reconnecting", "reconnecting", "failed"]
    assert seen[-1].reason == f"no ready pod for service web port {PORT}"


async def test_a_pod_that_refuses_the_upgrade_is_re_resolved(
    peer: Peer, api: client.ApiClient
) -> None:
    """The watch has not seen the deletion yet, but the API server already answers 404."""
    pods = ScriptedPods("web-1")
    states: list[ForwardState] = []
    async with ForwardSupervisor(api, pods, backoff=FAST, on_state=states.append) as supervisor:
        await eventually(lambda: _phase(supervisor, "ready"))
        peer.pods = set()
        reader, writer = await connect(supervisor.forward)
        await asyncio.wait_for(reader.read(), 10)
        writer.close()
        await eventually(lambda: _attempts(states, 1))
        peer.pods = {"web-1"}
        await eventually(lambda: _phase(supervisor, "ready"))
    assert phases(states) == ["ready", "reconnecting", "ready"]
    assert 'pods "web-1" not found' in next(s for s in states if s.phase == "reconnecting").reason


async def test_a_non_retryable_error_fails_at_once(peer: Peer, api: client.ApiClient) -> None:
    class Forbidden(ScriptedPods):
        async def resolve(self) -> PodEndpoint:
            raise ResolveError("services is forbidden", retryable=False)

    async with ForwardSupervisor(api, Forbidden(None), backoff=FAST) as supervisor:
        await eventually(lambda: _phase(supervisor, "failed"))
        assert supervisor.state == ForwardState.failed("services is forbidden")


async def _phase(supervisor: ForwardSupervisor, phase: str) -> None:
    assert supervisor.state.phase == phase, supervisor.state


async def _attempts(states: list[ForwardState], attempt: int) -> None:
    assert any(s.phase == "reconnecting" and s.attempt >= attempt for s in states), states
