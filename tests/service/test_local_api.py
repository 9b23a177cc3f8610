"""The platform API over real HTTP on loopback, through its client: objects as the API server
shapes them, writes through the resource folder (422 with lines, 409 when stale, nothing
written when refused), runs created in the store, watches that stream in order, resync when
behind, resume after a dropped connection, and a restart that keeps status and runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agentops_services.local.client import PlatformClient, Synced
from agentops_services.local.errors import ConflictError, InvalidManifestError, NotFoundError
from agentops_services.local.objects import WatchEvent
from agentops_services.local.runs import SUFFIX_ALPHABET
from tests.conftest import SAMPLES, eventually
from tests.service.local_platform import (
    Platform,
    agent_yaml,
    copy_invalid,
    copy_samples,
    running_platform,
)
from tests.tcp_proxy import Breakage, tcp_proxy


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "helper.yaml").write_text(agent_yaml())
    async with running_platform(tmp_path) as running:
        yield running


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.url, timeout=10) as client:
        yield client


async def test_list_and_get_answer_like_the_api_server(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    listing = (await http.get("/api/v1/agents")).json()
    assert listing["apiVersion"] == "agents.agentops.io/v1alpha1"
    assert listing["kind"] == "AgentList"
    assert listing["metadata"]["resourceVersion"] == str(platform.store.resource_version)
    [helper] = listing["items"]
    assert helper["metadata"]["namespace"] == "local"
    for alias in ("agent", "Agent", "ag"):
        assert (await http.get(f"/api/v1/{alias}/helper")).json() == helper
    typed = await platform.client.list("Agent")
    assert typed.items == [helper]
    assert (await platform.client.health()).status == "ok"


async def test_unknown_kinds_and_names_are_404_naming_the_field(http: httpx.AsyncClient) -> None:
    unknown = await http.get("/api/v1/deployments")
    assert unknown.status_code == 404
    assert unknown.json()["field"] == "kind"
    assert "agentruns" in unknown.json()["error"]
    missing = await http.get("/api/v1/agents/nobody")
    assert (missing.status_code, missing.json()["field"]) == (404, "name")


async def test_put_creates_and_replaces_through_the_folder(platform: Platform) -> None:
    created = await platform.client.put("Agent", "fresh", agent_yaml("fresh"))
    assert created["metadata"]["generation"] == 1
    assert (platform.resources / "agent" / "fresh.yaml").read_text() == agent_yaml("fresh")
    created["spec"]["model"] = "openai/gpt-4.1"
    replaced = await platform.client.put("Agent", "fresh", created)  # JSON, as read
    assert replaced["metadata"]["generation"] == 2
    written = (platform.resources / "agent" / "fresh.yaml").read_text()
    assert "model: openai/gpt-4.1" in written
    assert "resourceVersion" not in written and "status" not in written
    plain = {k: created[k] for k in ("apiVersion", "kind", "spec")}
    plain["metadata"] = {"name": "fresh"}
    await platform.client.put("Agent", "fresh", plain)  # JSON a file could hold as it is
    assert (platform.resources / "agent" / "fresh.yaml").read_text().startswith("apiVersion: ")


async def test_put_of_invalid_yaml_is_422_with_lines_and_writes_nothing(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    before = (platform.resources / "helper.yaml").read_text()
    broken = agent_yaml().replace("mode: daemon", "mode: sometimes")
    answer = await http.put("/api/v1/agents/helper", content=broken)
    assert answer.status_code == 422
    body = answer.json()
    assert body["field"] == "spec.mode"
    assert [(p["line"], p["field"]) for p in body["problems"]] == [(6, "spec.mode")]
    assert 'Unsupported value: "sometimes"' in body["problems"][0]["message"]

    syntax = await http.put("/api/v1/agents/helper", content="kind: Agent\nspec: [open\n")
    assert syntax.status_code == 422
    assert syntax.json()["problems"][0]["line"] == 3
    assert "YAML syntax error" in syntax.json()["problems"][0]["message"]

    with pytest.raises(InvalidManifestError) as refused:
        await platform.client.put("Agent", "helper", broken)
    assert refused.value.problems[0].line == 6
    assert (platform.resources / "helper.yaml").read_text() == before
    assert sorted(p.name for p in platform.resources.iterdir()) == ["helper.yaml"]


async def test_put_with_a_stale_resource_version_is_409(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    read = await platform.client.get("Agent", "helper")
    await platform.store.patch_status("Agent", "helper", {"phase": "Running"})
    read["spec"]["model"] = "openai/gpt-4.1"
    with pytest.raises(ConflictError) as stale:
        await platform.client.put("Agent", "helper", read)
    assert stale.value.field == "metadata.resourceVersion"
    assert "openai" not in (platform.resources / "helper.yaml").read_text()
    renamed = await http.put("/api/v1/agents/other", content=agent_yaml())
    assert (renamed.status_code, renamed.json()["field"]) == (400, "metadata.name")
    binary = await http.put("/api/v1/agents/helper", content=b"\xff\xfe")
    assert binary.status_code == 400


async def test_runs_are_created_in_the_store_with_generated_names(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    run = await platform.client.create_run("helper", "Summarise the repo")
    name = run["metadata"]["name"]
    assert name.startswith("helper-") and len(name) == len("helper-") + 5
    assert set(name.removeprefix("helper-")) <= set(SUFFIX_ALPHABET)
    assert run["spec"] == {
        "agentRef": "helper",
        "prompt": "Summarise the repo",
        "source": "console",
    }
    assert platform.folder.file_of("AgentRun", name) is None
    assert list(platform.resources.rglob("*.yaml")) == [platform.resources / "helper.yaml"]

    nobody = await http.post("/api/v1/agentruns", json={"agent": "nobody", "prompt": "Hi"})
    assert (nobody.status_code, nobody.json()["field"]) == (422, "agent")
    blank = await http.post("/api/v1/agentruns", json={"agent": "helper", "prompt": " "})
    assert (blank.status_code, blank.json()["field"]) == (422, "prompt")
    garbage = await http.post("/api/v1/agentruns", content=b"{not json")
    assert garbage.status_code == 400

    deleted = await platform.client.delete("AgentRun", name)
    assert deleted["metadata"]["name"] == name
    with pytest.raises(NotFoundError):
        await platform.client.get("AgentRun", name)


async def test_delete_removes_the_document_from_its_file(platform: Platform) -> None:
    await platform.client.put("Agent", "second", agent_yaml("second"))
    read = await platform.client.get("Agent", "second")
    with pytest.raises(ConflictError):
        await platform.client.delete("Agent", "second", resource_version="1")
    await platform.client.delete(
        "Agent", "second", resource_version=read["metadata"]["resourceVersion"]
    )
    assert not (platform.resources / "agent" / "second.yaml").exists()
    with pytest.raises(NotFoundError):
        await platform.client.delete("Agent", "second")


async def test_problems_name_file_line_and_field(platform: Platform) -> None:
    bad = copy_invalid(platform.resources, "agent-task-with-storage.yaml")

    async def reported() -> None:
        answer = await platform.client.problems()
        assert answer.folder == str(platform.resources)
        [problem] = answer.problems
        assert problem.path == bad.name
        assert problem.field == "spec.storage"
        assert problem.line == bad.read_text().splitlines().index("  storage:") + 1

    await eventually(reported)
    assert await platform.client.get("Agent", "helper")


async def test_requests_from_web_pages_are_refused(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.url, timeout=10) as http:
        rebound = await http.get("/api/v1/agents", headers={"Host": "attacker.example"})
        assert (rebound.status_code, rebound.json()["field"]) == (403, "Host")
        cross_site = await http.post(
            "/api/v1/agentruns",
            content='{"agent": "helper", "prompt": "rm -rf"}',
            headers={"Origin": "https://attacker.example", "Content-Type": "text/plain"},
        )
        assert (cross_site.status_code, cross_site.json()["field"]) == (403, "Origin")
        assert (await http.get("/openapi.json")).json()["paths"]["/api/v1/watch"]


# --- watching --------------------------------------------------------------------------


async def collect(events: AsyncIterator[WatchEvent], count: int) -> list[WatchEvent]:
    got = []
    async with asyncio.timeout(10):
        async for event in events:
            got.append(event)
            if len(got) == count:
                break
    return got


async def test_watch_streams_changes_in_order_from_a_version(platform: Platform) -> None:
    start = platform.store.resource_version
    await platform.client.put("Agent", "a", agent_yaml("a"))
    run = await platform.client.create_run("helper", "Hi")
    await platform.store.patch_status("AgentRun", run["metadata"]["name"], {"phase": "Running"})
    await platform.client.delete("Agent", "a")
    events = await collect(platform.client.events(since=start), 4)
    assert [(e.type, e.object["kind"]) for e in events] == [
        ("ADDED", "Agent"),
        ("ADDED", "AgentRun"),
        ("MODIFIED", "AgentRun"),
        ("DELETED", "Agent"),
    ]
    assert [e.resource_version for e in events] == list(range(start + 1, start + 5))
    assert events[2].object["status"] == {"phase": "Running"}


async def test_watch_from_a_forgotten_version_ends_with_resync(tmp_path: Path) -> None:
    async with running_platform(tmp_path, history=2) as platform:
        for name in ("a", "b", "c"):
            await platform.client.put("Agent", name, agent_yaml(name))
        async with (
            httpx.AsyncClient(base_url=platform.url, timeout=10) as http,
            http.stream("GET", "/api/v1/watch", params={"since": 0}) as stream,
        ):
            body = (await stream.aread()).decode()
        assert body.startswith("event: resync\n")
        assert '"resourceVersion":"3"' in body


async def test_a_watcher_that_does_not_read_gets_resync(tmp_path: Path) -> None:
    """Events too big for the socket buffers pile up in the watcher's bounded queue until it
    is dropped; the stream then ends with `resync` after the events that were sent."""
    async with running_platform(tmp_path, watch_queue=4) as platform:
        big = "x" * (1024 * 1024)
        async with (
            httpx.AsyncClient(base_url=platform.url, timeout=10) as http,
            http.stream("GET", "/api/v1/watch") as stream,
        ):
            await eventually(_watched(platform))
            for i in range(48):
                await platform.store.apply(
                    {"apiVersion": "agents.agentops.io/v1alpha1", "kind": "Agent",
                     "metadata": {"name": f"big{i}", "annotations": {"note": big}},
                     "spec": {"mode": "daemon", "model": "m/m"}},
                    source="api",
                )  # fmt: skip
            tail = b""
            async for chunk in stream.aiter_bytes():
                tail = (tail + chunk)[-4096:]
        assert b"event: resync\n" in tail
        assert platform.store.watchers == 0


def _watched(platform: Platform):  # type: ignore[no-untyped-def]
    async def attempt() -> None:
        assert platform.store.watchers == 1

    return attempt


async def test_client_watch_lists_then_follows(platform: Platform) -> None:
    stream = platform.client.watch()
    try:
        async with asyncio.timeout(10):
            first = await anext(stream)
            assert isinstance(first, WatchEvent) and first.object["metadata"]["name"] == "helper"
            assert isinstance(await anext(stream), Synced)
            await platform.client.put("Agent", "later", agent_yaml("later"))
            later = await anext(stream)
        assert isinstance(later, WatchEvent)
        assert (later.type, later.object["metadata"]["name"]) == ("ADDED", "later")
    finally:
        await stream.aclose()


@pytest.mark.parametrize("how", ["cut", "stall"])
async def test_client_resumes_a_dropped_watch_without_losing_or_repeating(
    tmp_path: Path, how: str
) -> None:
    async with (
        running_platform(tmp_path, heartbeat=0.05) as platform,
        tcp_proxy(int(platform.url.rsplit(":", 1)[1])) as proxy,
        PlatformClient(proxy.url, watch_read_timeout=0.5) as client,
    ):
        proxy.plan = [Breakage(after_bytes=6000, how=how)]  # type: ignore[arg-type]
        names = [f"agent-{i:02d}" for i in range(30)]
        stream = client.watch(kinds=["Agent"])
        try:
            async with asyncio.timeout(20):
                assert isinstance(await anext(stream), Synced)
                for name in names:
                    await platform.store.apply(
                        {"apiVersion": "agents.agentops.io/v1alpha1", "kind": "Agent",
                         "metadata": {"name": name},
                         "spec": {"mode": "daemon", "model": "anthropic/claude-sonnet-4-5",
                                  "systemPrompt": "x" * 400}},
                        source="api",
                    )  # fmt: skip
                seen: list[tuple[str, str]] = []
                while len(seen) < len(names):
                    item = await anext(stream)
                    assert isinstance(item, WatchEvent), item
                    seen.append((item.type, item.object["metadata"]["name"]))
        finally:
            await stream.aclose()
        assert proxy.broken == [how]
        assert seen == [("ADDED", name) for name in names]


async def test_client_relists_after_resync_and_delivers_the_difference(tmp_path: Path) -> None:
    async with (
        running_platform(tmp_path, history=1, heartbeat=0.05) as platform,
        tcp_proxy(int(platform.url.rsplit(":", 1)[1])) as proxy,
    ):
        await platform.client.put("Agent", "doomed", agent_yaml("doomed"))
        # One connection per request: the listing passes, the watch after it stalls before
        # its first byte, and by the time the client gives up on it the history has moved on.
        proxy.plan = [Breakage(after_bytes=10**9, how="cut"), Breakage(after_bytes=0, how="stall")]
        unpooled = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
        client = PlatformClient(proxy.url, watch_read_timeout=1.0, transport=unpooled)
        stream = client.watch(kinds=["Agent"])
        try:
            async with asyncio.timeout(20):
                listed = [await anext(stream), await anext(stream)]
                assert isinstance(listed[1], Synced)
                await platform.client.delete("Agent", "doomed")
                await platform.client.put("Agent", "newcomer", agent_yaml("newcomer"))
                await platform.client.put("Agent", "newer", agent_yaml("newer"))
                got = []
                while not isinstance(item := await anext(stream), Synced):
                    got.append((item.type, item.object["metadata"]["name"]))
        finally:
            await stream.aclose()
            await client.close()
        assert proxy.broken == ["stall"]
        assert sorted(got) == [("ADDED", "newcomer"), ("ADDED", "newer"), ("DELETED", "doomed")]


async def test_restart_keeps_status_and_runs_created_through_the_api(tmp_path: Path) -> None:
    copy_samples(tmp_path / "resources")
    async with running_platform(tmp_path) as platform:
        run = await platform.client.create_run("code-review-agent", "Review !42")
        name = run["metadata"]["name"]
        await platform.store.patch_status("AgentRun", name, {"phase": "Succeeded", "tokensUsed": 7})
        await platform.store.patch_status("Agent", "code-review-agent", {"phase": "Running"})
        version = platform.store.resource_version
    async with running_platform(tmp_path) as restarted:
        kept = await restarted.client.get("AgentRun", name)
        assert kept["status"] == {"phase": "Succeeded", "tokensUsed": 7}
        agent = await restarted.client.get("Agent", "code-review-agent")
        assert agent["status"] == {"phase": "Running"}
        assert int((await restarted.client.health()).resource_version) == version
        assert (await restarted.client.problems()).problems == []
        assert len((await restarted.client.list("AgentRun")).items) == 1 + len(
            list(SAMPLES.glob("agentrun*.yaml"))
        )
