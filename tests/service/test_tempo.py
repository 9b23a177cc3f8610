"""The Tempo client and `agentops trace` (a real process) against Tempo's query API on
loopback, answering with recorded responses: search parameters and results, a trace by id
through v2, the v1 fallback of an older Tempo, a partial trace, and every way it can fail
(not found, Tempo down, slow, refusing the query, answering too much, the API server's proxy
not reaching it), each with its exit status and one line on stderr."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from kubernetes_asyncio import client

from agentops_services.kube.resources import CONFIG_MAP
from agentops_services.kube.rest import Kube
from agentops_services.testing.controlplane import ControlPlane, free_port
from agentops_tui.services.traces.client import (
    TempoClient,
    TempoError,
    TempoQueryError,
    TempoUnavailableError,
    TraceNotFoundError,
)
from tests.fakes.tempo import FakeTempo, serving
from tests.runtime_process import AGENTOPS
from tests.tui.test_service_access import platform_config_map

UNTIL = datetime(2026, 4, 9, 11, 0, tzinfo=UTC)
KUBE_STATUS = json.dumps(
    {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": 'services "tempo" not found',
        "reason": "NotFound",
        "code": 404,
    }
)


@pytest.fixture
async def tempo() -> AsyncIterator[tuple[FakeTempo, str]]:
    fake = FakeTempo()
    async with serving(fake) as url:
        yield fake, url


async def test_search_sends_the_filters_as_traceql_and_lists_newest_first(
    tempo: tuple[FakeTempo, str],
) -> None:
    fake, url = tempo
    async with httpx.AsyncClient(base_url=url) as http:
        found = await TempoClient(http).search(
            agent="triage",
            errors_only=True,
            min_duration=timedelta(milliseconds=1500),
            since=timedelta(hours=2),
            until=UNTIL,
            limit=20,
        )
    assert fake.asked == [
        (
            "/api/search",
            {
                "q": '{ resource.agent.name = "triage" && (status = error || span.error.type '
                '=~ ".+") && traceDuration >= 1500ms } | select(resource.agent.name, '
                "resource.agent.mode)",
                "start": str(int((UNTIL - timedelta(hours=2)).timestamp())),
                "end": str(int(UNTIL.timestamp())),
                "limit": "20",
                "spss": "3",
            },
        )
    ]
    assert [(t.trace_id, t.agent, t.span_count, t.error_count) for t in found] == [
        ("000a4c384338c0037901736f971c2c93", "triage", 2, 0),
        ("e25af1498340be98ce27531f59abb02b", "fixer", 6, 3),
        ("0a62c569262267d63ea52f4922e7c2ea", "triage", 18, 0),
    ]
    assert found[0].root_service_name == "<root span not yet received>"
    assert found[0].root_trace_name == ""
    assert found[2].root_trace_name == "POST /prompt/stream"
    assert found[2].started == datetime(2026, 4, 9, 10, 2, 3, 250000, tzinfo=UTC)
    assert found[2].duration_ms == 14210


async def test_a_query_of_ones_own_is_sent_as_is_and_its_refusal_is_a_query_error(
    tempo: tuple[FakeTempo, str],
) -> None:
    fake, url = tempo
    fake.answers["/api/search"] = (
        400,
        "invalid TraceQL query: parse error at line 1, col 3: syntax error: unexpected IDENTIFIER",
    )
    async with httpx.AsyncClient(base_url=url) as http:
        client = TempoClient(http)
        with pytest.raises(TempoQueryError, match=r"^Tempo refused the query: invalid TraceQL"):
            await client.search(traceql="{ nonsense }", until=UNTIL)
        with pytest.raises(ValueError, match="replaces"):
            await client.search(traceql="{ }", agent="triage")
    assert [params["q"] for _, params in fake.asked] == ["{ nonsense }"]


@pytest.mark.parametrize("protobuf", [True, False], ids=["protobuf", "json"])
async def test_a_trace_comes_from_v2_as_a_waterfall(
    tempo: tuple[FakeTempo, str], protobuf: bool
) -> None:
    fake, url = tempo
    fake.protobuf = protobuf  # a Tempo, proxy or store that only answers JSON
    trace_id = fake.add("trace_v2.json")
    async with httpx.AsyncClient(base_url=url) as http:
        waterfall = await TempoClient(http).trace(trace_id.upper())
    assert [path for path, _ in fake.asked] == [f"/api/v2/traces/{trace_id}"]
    assert fake.sent == ["application/protobuf" if protobuf else "application/json"]
    assert waterfall.trace_id == trace_id
    assert len(waterfall.spans) == 18 and not waterfall.partial
    assert [(n.depth, n.name) for n in waterfall.spans[:3]] == [
        (0, "POST /prompt/stream"),
        (1, "agent.prompt"),
        (2, "memory.fetch_context"),
    ]


async def test_an_older_tempo_without_v2_is_read_through_v1(tempo: tuple[FakeTempo, str]) -> None:
    fake, url = tempo
    fake.has_v2 = False
    trace_id = fake.add("trace_v2.json")
    async with httpx.AsyncClient(base_url=url) as http:
        client = TempoClient(http)
        waterfall = await client.trace(trace_id)
        with pytest.raises(TraceNotFoundError, match=f"trace {'0' * 31}1 is not in Tempo"):
            await client.trace("1")
    assert [path for path, _ in fake.asked][:2] == [
        f"/api/v2/traces/{trace_id}",
        f"/api/traces/{trace_id}",
    ]
    assert len(waterfall.spans) == 18 and not waterfall.partial


async def test_a_partial_trace_says_so(tempo: tuple[FakeTempo, str]) -> None:
    fake, url = tempo
    trace_id = fake.add("trace_v2_partial.json")
    async with httpx.AsyncClient(base_url=url) as http:
        waterfall = await TempoClient(http).trace(trace_id)
    assert fake.sent == ["application/protobuf"]  # its PARTIAL status comes in the envelope
    assert waterfall.partial and waterfall.orphans == 2
    assert waterfall.partial_reasons() == [
        "Trace exceeds maximum size of 52428800 bytes, a partial trace is returned",
        "2 span(s) name a parent the trace does not hold; they are shown as roots",
    ]


async def test_failures_are_told_apart(tempo: tuple[FakeTempo, str]) -> None:
    fake, url = tempo
    trace_id = fake.add("trace_v2.json")
    v2 = f"/api/v2/traces/{trace_id}"
    async with httpx.AsyncClient(base_url=url) as http:
        client = TempoClient(http, timeout=0.5)
        with pytest.raises(ValueError, match="not a trace id"):
            await client.trace("not-hex")

        fake.answers[v2] = (500, "error finding trace by id: context deadline exceeded\n")
        with pytest.raises(TempoUnavailableError, match=r"answered 500: error finding trace"):
            await client.trace(trace_id)

        fake.answers[v2] = (404, KUBE_STATUS)  # the API server's proxy, not Tempo
        with pytest.raises(TempoUnavailableError, match='cannot reach Tempo: services "tempo"'):
            await client.trace(trace_id)

        fake.answers[v2] = (
            200,
            '{"trace": {"resourceSpans": [{"scopeSpans": [{"spans": [{}]}]}]}}',
        )
        with pytest.raises(TempoError, match=r"is not a trace: .*spanId: Field required"):
            await client.trace(trace_id)

        del fake.answers[v2]
        with pytest.raises(TempoError, match="larger than 1,000 bytes"):
            await TempoClient(http, max_trace_bytes=1000).trace(trace_id)

        fake.stalled.add(v2)
        with pytest.raises(TempoUnavailableError, match=r"did not answer within 0\.5 s"):
            await client.trace(trace_id)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port()}") as http:
        with pytest.raises(TempoUnavailableError, match="is not reachable"):
            await TempoClient(http).search()


async def trace_command(
    *args: str, env: dict[str, str] | None = None, url: str | None = None
) -> tuple[int, str, str]:
    """`agentops trace ARGS` run to its end: (exit status, stdout, stderr)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("TEMPO_URL", "COLUMNS")}
    # no user config file unless a test writes one
    environment |= {"TZ": "UTC", "NO_COLOR": "", "XDG_CONFIG_HOME": "/nonexistent", **(env or {})}
    process = await asyncio.create_subprocess_exec(
        *AGENTOPS, "trace", *args, *(("--url", url) if url else ()),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


WATERFALL_80 = """\
Trace 0a62c569262267d63ea52f4922e7c2ea  18 spans  14.2s  agentops-memory, agentops-runtime  1 failed
Span                               Took 0             5s            10s
POST /prompt/stream               14.2s ████████████████████████████████████████
  agent.prompt                    14.2s ████████████████████████████████████████
    memory.fetch_context           21ms ▏
      memory.fetch_context         17ms ▏
        store.fetch_context        12ms ▏
    agent.step                     2.9s ████████▎
      chat claude-sonnet-4-5      2.48s ███████▏
      tool.execute: kubectl       412ms        █▎
    agent.step                    3.71s         ██████████▋
      chat claude-sonnet-4-5      3.32s         █████████▌
      tool.execute: kubectl       380ms                   █▎
      ✗ tool.execute: read_file     3ms                    ▏
    agent.step                    4.32s                    ████████████▍
      chat claude-sonnet-4-5      2.61s                    ███████▌
      tool.execute: github.crea…  1.71s                            ████▉
        mcp.call: github/create…  1.71s                            ████▉
    agent.step                     2.7s                                 ███████▊
      chat claude-sonnet-4-5       2.7s                                 ███████▊
"""


async def test_the_command_prints_the_waterfall_and_the_span_tree(
    tempo: tuple[FakeTempo, str],
) -> None:
    fake, url = tempo
    trace_id = fake.add("trace_v2.json")
    code, out, err = await trace_command(trace_id, "--width", "80", url=url)
    assert (code, err) == (0, "")
    assert out == WATERFALL_80
    assert max(len(line) for line in out.splitlines()[1:]) == 80
    assert "\x1b[" not in out  # not a terminal: no colour

    code, out, err = await trace_command(trace_id, "--json", url=url)
    assert (code, err) == (0, "")
    tree = json.loads(out)
    assert tree["traceId"] == trace_id and tree["spanCount"] == 18 and not tree["partial"]
    assert tree["startTime"] == "2026-04-09T10:02:03.250000+00:00"
    [root] = tree["spans"]
    [turn] = root["children"]
    assert [c["name"] for c in turn["children"]] == ["memory.fetch_context"] + ["agent.step"] * 4
    failed = turn["children"][2]["children"][2]
    assert failed["name"] == "tool.execute: read_file" and failed["error"]
    assert failed["statusMessage"] == "tool_error"
    assert failed["attributes"]["gen_ai.tool.call.arguments"] == (
        '{"path": "charts/checkout/values.yaml"}'
    )
    assert turn["events"][0]["attributes"]["role"] == "user"


async def test_the_command_shows_a_partial_trace_honestly(tempo: tuple[FakeTempo, str]) -> None:
    fake, url = tempo
    trace_id = fake.add("trace_v2_partial.json")
    code, out, _ = await trace_command(trace_id, "--width", "60", url=url)
    assert code == 0
    lines = out.splitlines()
    assert lines[1:3] == [
        "PARTIAL: Trace exceeds maximum size of 52428800 bytes, a partial trace is returned",
        "PARTIAL: 2 span(s) name a parent the trace does not hold; they are shown as roots",
    ]
    assert lines[4].startswith("✗… agent.prompt ")
    assert lines[-1].startswith("… mcp.call: github/crea")
    code, out, _ = await trace_command(trace_id, "--json", url=url)
    tree = json.loads(out)
    assert tree["partial"] and [s["orphan"] for s in tree["spans"]] == [True, True]


SEARCH_TABLE = """\
TRACE ID                          STARTED              TOOK   AGENT   ROOT                                  SPANS  ERRORS
000a4c384338c0037901736f971c2c93  2026-04-09 10:05:40  812ms  triage  <root span not yet received>          2      0
e25af1498340be98ce27531f59abb02b  2026-04-09 10:05:01  9.12s  fixer   agentops-runtime agent.prompt         6      3
0a62c569262267d63ea52f4922e7c2ea  2026-04-09 10:02:03  14.2s  triage  agentops-runtime POST /prompt/stream  18     0
"""


async def test_the_command_lists_the_traces_found(tempo: tuple[FakeTempo, str]) -> None:
    fake, url = tempo
    code, out, err = await trace_command(
        "--search", "--agent", "triage", "--since", "15m", "--min-duration", "2s", url=url
    )
    assert (code, err) == (0, "")
    assert out == SEARCH_TABLE
    [(_, params)] = fake.asked
    assert params["q"].startswith('{ resource.agent.name = "triage" && traceDuration >= 2s }')
    assert int(params["end"]) - int(params["start"]) in (900, 901)

    code, out, _ = await trace_command("--search", "--json", "--limit", "5", url=url)
    assert code == 0
    assert [t["agent"] for t in json.loads(out)] == ["triage", "fixer", "triage"]
    assert fake.asked[-1][1]["limit"] == "5"

    fake.search = {"traces": [], "metrics": {"inspectedBytes": "0"}}
    assert await trace_command("--search", url=url) == (0, "", "agentops trace: no traces found\n")


async def test_the_command_finds_tempo_in_the_environment_and_the_config_file(
    tempo: tuple[FakeTempo, str], tmp_path: Path
) -> None:
    fake, url = tempo
    trace_id = fake.add("trace_v2.json")
    code, out, _ = await trace_command(trace_id, env={"TEMPO_URL": url})
    assert code == 0 and len(out.splitlines()[2]) == 120  # not a terminal: 120 columns
    (tmp_path / "agentops").mkdir()
    (tmp_path / "agentops" / "config.toml").write_text(f'[services]\ntempo = "{url}"\n')
    code, out, _ = await trace_command(trace_id, env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert code == 0 and out.startswith(f"Trace {trace_id}")


async def test_the_command_exits_1_for_a_missing_trace_and_2_for_other_problems(
    tempo: tuple[FakeTempo, str], tmp_path: Path
) -> None:
    _, url = tempo
    assert await trace_command("abc", url=url) == (
        1,
        "",
        f"agentops trace: trace {'0' * 29}abc is not in Tempo at {url}\n",
    )
    down = f"http://127.0.0.1:{free_port()}"
    code, out, err = await trace_command("abc", url=down)
    assert (code, out) == (2, "")
    assert err.startswith(f"agentops trace: Tempo at {down} is not reachable: ")
    assert err.count("\n") == 1

    no_cluster = {"XDG_CONFIG_HOME": str(tmp_path)}
    missing = tmp_path / "missing-kubeconfig"
    assert await trace_command("abc", "--kubeconfig", str(missing), env=no_cluster) == (
        2,
        "",
        f"agentops trace: {missing}: kubeconfig not found\n",
    )
    assert await trace_command(url=url) == (2, "", "agentops trace: give a TRACE_ID, or --search\n")
    assert await trace_command("xyz", url=url) == (
        2,
        "",
        "agentops trace: not a trace id: 'xyz' (up to 32 hex digits)\n",
    )
    code, _, err = await trace_command("abc", "--errors", url=url)
    assert (code, err) == (2, "agentops trace: --agent, --errors, --min-duration and --traceql "
                           "go with --search\n")  # fmt: skip
    code, _, err = await trace_command("--search", "--since", "an hour", url=url)
    assert code == 2 and "not a duration: 'an hour'" in err
    code, _, err = await trace_command("abc", "--width", "19", url=url)
    assert code == 2 and "19 is not within 20 to 1000" in err


async def read_terminal(*args: str, env: dict[str, str]) -> str:
    """What `agentops trace ARGS` writes to a terminal (a pty)."""
    terminal, child = pty.openpty()
    process = await asyncio.create_subprocess_exec(
        *AGENTOPS, "trace", *args, stdout=child, stderr=subprocess.PIPE,
        env={**os.environ, "TZ": "UTC", **env},
    )  # fmt: skip
    os.close(child)

    def drain() -> bytes:
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # EIO: the child closed its end
                return b"".join(chunks)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    try:
        written = await asyncio.wait_for(asyncio.to_thread(drain), 60)
        await asyncio.wait_for(process.wait(), 60)
    finally:
        os.close(terminal)
    assert process.returncode == 0
    return written.decode()


async def test_colour_only_on_a_terminal_and_never_with_no_color(
    tempo: tuple[FakeTempo, str],
) -> None:
    fake, url = tempo
    trace_id = fake.add("trace_v2_partial.json")
    args = (trace_id, "--url", url, "--width", "80")
    coloured = await read_terminal(*args, env={"NO_COLOR": ""})
    assert "\x1b[31m✗… agent.prompt" in coloured  # a failure in red
    assert "\x1b[33mPARTIAL: " in coloured
    assert "\x1b[" not in await read_terminal(*args, env={"NO_COLOR": "1"})


@pytest.mark.kube
async def test_through_a_cluster_tempo_is_where_the_platform_config_map_says(
    tempo: tuple[FakeTempo, str],
    kube: client.ApiClient,
    namespace: str,
    control_plane: ControlPlane,
) -> None:
    """Its tempoURL (an external Tempo), with its bad tempoService told on stderr."""
    fake, url = tempo
    trace_id = fake.add("trace_v2.json")
    data = {"tempoService": "observability", "tempoURL": url}
    await Kube(kube).create(CONFIG_MAP, namespace, platform_config_map(data))
    kubeconfig = str(control_plane.kubeconfig)
    code, out, err = await trace_command(
        trace_id, "--json", "--kubeconfig", kubeconfig, "--namespace", namespace
    )
    assert code == 0, err
    assert json.loads(out)["traceId"] == trace_id
    assert err == (
        f"agentops trace: ConfigMap {namespace}/agentops-platform tempoService: 'observability': "
        "expected NAME:PORT or NAMESPACE/NAME:PORT: the port is missing; using tempo:3200\n"
    )
