"""The trace store end to end: the OpenTelemetry SDK's own OTLP/HTTP exporter sends spans to
it on loopback, and the console's Tempo client reads them back as a waterfall and finds them
by search; recorded Tempo answers, re-ingested, come back the same; every refusal of the OTLP
receiver (400 naming the problem, 413, 415) and of the query API (400, 404)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import signal
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.rpc.status_pb2 import Status  # type: ignore[import-untyped]
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, TracesData
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

from agentops_services.telemetry import otlp_traces_url
from agentops_services.testing.controlplane import free_port
from agentops_services.traces.store import Retention
from agentops_services.traces.trace_answer import prefers_protobuf
from agentops_tui.services.traces.client import TempoClient, TempoQueryError, waterfall_from_json
from agentops_tui.services.traces.otlp import parse_v2
from agentops_tui.services.traces.tree import Waterfall
from tests.conftest import eventually
from tests.fakes.tempo import recorded_trace_id, recording
from tests.runtime_process import AGENTOPS
from tests.service.conftest import Clock
from tests.service.trace_store_support import (
    AGENT,
    START_NS,
    S,
    TraceStoreService,
    export,
    run_agent_turn,
    running_trace_store,
    span,
    span_id,
    trace_id,
)

PROTOBUF = "application/x-protobuf"


@pytest.fixture
async def traces(tmp_path: Path, clock: Clock) -> AsyncIterator[TraceStoreService]:
    async with running_trace_store(tmp_path / "traces.db", clock) as service:
        yield service


@pytest.mark.parametrize(
    ("processor", "compression"),
    [(SimpleSpanProcessor, Compression.NoCompression), (BatchSpanProcessor, Compression.Gzip)],
)
async def test_the_sdk_exporter_sends_and_the_console_reads_the_waterfall_and_finds_it(
    traces: TraceStoreService, processor: type[SpanProcessor], compression: Compression
) -> None:
    wanted = await asyncio.to_thread(run_agent_turn, traces.url, processor, compression)

    response = await traces.http.get(f"/api/v2/traces/{wanted}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"trace", "metrics"}  # complete: Tempo leaves status out
    spans = [
        s
        for resource_spans in body["trace"]["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for s in scope_spans["spans"]
    ]
    assert len(spans) == 7
    assert {s["traceId"] for s in spans} == {wanted}

    client = TempoClient(traces.http)
    waterfall = await client.trace(wanted)
    assert [(node.depth, node.name) for node in waterfall.spans] == [
        (0, "agent.prompt"),
        (1, "agent.step"),
        (2, "chat claude-sonnet-4-5"),
        (2, "tool.execute: kubectl"),
        (1, "agent.step"),
        (2, "chat claude-sonnet-4-5"),
        (2, "tool.execute: kubectl"),
    ]
    failed = waterfall.spans[-1]
    assert (failed.status, failed.status_message, failed.service) == (
        "error",
        "exit status 1",
        "agentops-runtime",
    )
    assert waterfall.spans[2].kind == "client"
    assert waterfall.spans[2].attributes["gen_ai.usage.input_tokens"] == 1200
    assert not waterfall.partial

    found = await client.search(agent="triage", since=timedelta(days=3650))
    assert [(t.trace_id, t.agent, t.span_count, t.error_count) for t in found] == [
        (wanted, "triage", 7, 1)
    ]
    assert (found[0].root_service_name, found[0].root_trace_name) == (
        "agentops-runtime",
        "agent.prompt",
    )
    errors = await client.search(agent="triage", errors_only=True, since=timedelta(days=3650))
    assert [t.trace_id for t in errors] == [wanted]
    assert await client.search(agent="fixer", since=timedelta(days=3650)) == []


async def test_a_trace_comes_in_protobuf_to_a_client_that_prefers_it(
    traces: TraceStoreService,
) -> None:
    tid = trace_id("c")
    root = span(tid, span_id("c", 1), "root", kind=2, duration_ms=10)
    child = span(tid, span_id("c", 2), "child", parent=span_id("c", 1), attrs={"n": 7})
    await traces.export(export(AGENT, root, child))

    v2 = await traces.http.get(f"/api/v2/traces/{tid}", headers={"Accept": "application/protobuf"})
    assert v2.headers["content-type"] == "application/protobuf"
    # Tempo's TraceByIDResponse: field 1 is the trace, OTLP's TracesData; complete, so no
    # status (3) or message (4)
    [(number, trace)] = protobuf_fields(v2.content)
    assert number == 1
    data = TracesData.FromString(trace)  # type: ignore[arg-type]
    decoded = [s for rs in data.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert [(s.name, s.span_id.hex(), s.kind) for s in decoded] == [
        ("root", span_id("c", 1), Span.SPAN_KIND_SERVER),
        ("child", span_id("c", 2), Span.SPAN_KIND_INTERNAL),
    ]
    assert data.resource_spans[0].scope_spans[0].scope.name == "test"
    resource = {a.key: a.value.string_value for a in data.resource_spans[0].resource.attributes}
    assert resource == AGENT

    v1 = await traces.http.get(f"/api/traces/{tid}", headers={"Accept": "application/protobuf"})
    assert TracesData.FromString(v1.content) == data
    json_v1 = await traces.http.get(f"/api/traces/{tid}")
    assert [s["name"] for s in json_v1.json()["batches"][0]["scopeSpans"][0]["spans"]] == [
        "root",
        "child",
    ]


def protobuf_fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """The top-level fields of a protobuf message: (number, varint or bytes)."""
    fields: list[tuple[int, int | bytes]] = []
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        if key & 7 == 0:
            value, at = _varint(data, at)
            fields.append((key >> 3, value))
        else:
            length, at = _varint(data, at)
            fields.append((key >> 3, data[at : at + length]))
            at += length
    return fields


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        shift += 7
        if byte < 0x80:
            return value, at


def tempo_json_as_otlp(v2: dict[str, Any]) -> dict[str, Any]:
    """A recorded Tempo answer as an OTLP JSON export: ids from base64 to hex (enum names and
    64-bit numbers as strings are OTLP JSON already)."""
    document: dict[str, Any] = json.loads(json.dumps(v2["trace"]))
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for s in scope_spans["spans"]:
                for name in ("traceId", "spanId", "parentSpanId"):
                    if s.get(name):
                        s[name] = base64.b64decode(s[name]).hex()
    return document


def waterfall_rows(waterfall: Waterfall) -> list[tuple[Any, ...]]:
    return [
        (
            node.span_id,
            node.parent_id,
            node.depth,
            node.name,
            node.service,
            node.kind,
            node.status,
            node.start_ns,
            node.duration_ns,
            dict(node.attributes),
            dict(node.resource),
            [(event.name, dict(event.attributes)) for event in node.events],
        )
        for node in waterfall.spans
    ]


async def test_a_recorded_tempo_trace_comes_back_as_tempo_gave_it(
    traces: TraceStoreService,
) -> None:
    recorded = recording("trace_v2.json")
    wanted = recorded_trace_id(recorded)
    await traces.export(tempo_json_as_otlp(recorded))

    theirs = waterfall_rows(waterfall_from_json(json.dumps(recorded).encode()))
    assert len(theirs) == 18
    as_json = (await traces.http.get(f"/api/v2/traces/{wanted}")).content
    assert waterfall_rows(waterfall_from_json(as_json)) == theirs
    assert "status" not in parse_v2(as_json)
    v1 = (await traces.http.get(f"/api/traces/{wanted}")).content
    assert waterfall_rows(waterfall_from_json(v1, v2=False)) == theirs
    # and as the console asks for it (protobuf first, when it takes that)
    assert waterfall_rows(await TempoClient(traces.http).trace(wanted)) == theirs


async def test_search_answers_a_recorded_trace_as_tempo_summarised_it(
    traces: TraceStoreService,
) -> None:
    recorded = recording("trace_v2.json")
    await traces.export(tempo_json_as_otlp(recorded))
    tempo = next(
        t for t in recording("search.json")["traces"] if t["traceID"] == recorded_trace_id(recorded)
    )

    found = await traces.search(
        '{ resource.agent.name = "triage" } | select(resource.agent.name, resource.agent.mode)',
        start=START_NS // S - 3600,
        end=START_NS // S + 3600,
    )
    [ours] = found["traces"]
    # Tempo drops an id's leading zeros (its recording here keeps this one's; clients pad)
    assert ours["traceID"] == tempo["traceID"].lstrip("0")
    summary = ("rootServiceName", "rootTraceName", "startTimeUnixNano", "durationMs")
    assert {key: ours[key] for key in summary} == {key: tempo[key] for key in summary}
    assert ours["serviceStats"] == tempo["serviceStats"]
    assert ours["spanSet"] == ours["spanSets"][0]
    assert ours["spanSets"][0]["matched"] == tempo["spanSets"][0]["matched"] == 16
    assert len(ours["spanSets"][0]["spans"]) == 3
    for matched in ours["spanSets"][0]["spans"]:
        assert set(matched) == {
            "spanID",
            "name",
            "startTimeUnixNano",
            "durationNanos",
            "attributes",
        }
        assert matched["attributes"] == tempo["spanSets"][0]["spans"][0]["attributes"]
    assert set(found["metrics"]) >= {"inspectedTraces", "inspectedBytes"}


async def test_a_trace_cut_at_the_size_limit_is_answered_as_partial(
    tmp_path: Path, clock: Clock
) -> None:
    """Spans beyond a trace's limit are refused as they arrive; a store reopened with a lower
    limit answers the trace it already holds in part, and says so as Tempo does."""
    db = tmp_path / "traces.db"
    recorded = recording("trace_v2.json")
    wanted = recorded_trace_id(recorded)
    async with running_trace_store(db, clock) as service:
        await service.export(tempo_json_as_otlp(recorded))
    async with running_trace_store(db, clock, Retention(max_trace_bytes=20_000)) as service:
        answer = parse_v2((await service.http.get(f"/api/v2/traces/{wanted}")).content)
        assert answer.get("status") == "PARTIAL"
        assert answer.get("message") == (
            "Trace exceeds maximum size of 20000 bytes, a partial trace is returned"
        )
        waterfall = await TempoClient(service.http).trace(wanted)
        assert 0 < len(waterfall.spans) < 18
        assert waterfall.tempo_partial == answer.get("message")
        binary = await service.http.get(
            f"/api/v2/traces/{wanted}", headers={"Accept": "application/protobuf"}
        )
        fields = protobuf_fields(binary.content)
        assert [number for number, _ in fields] == [1, 3, 4]
        assert fields[1:] == [(3, 1), (4, answer.get("message", "").encode())]
        kept = TracesData.FromString(fields[0][1])  # type: ignore[arg-type]
        assert sum(len(ss.spans) for rs in kept.resource_spans for ss in rs.scope_spans) == len(
            waterfall.spans
        )

        more = span(wanted, span_id("d"), "late", parent="41229e642264bff5")
        response = await service.http.post("/v1/traces", json=export(AGENT, more))
        assert response.status_code == 200
        assert response.json() == {
            "partialSuccess": {
                "rejectedSpans": "1",
                "errorMessage": f"trace {wanted} is larger than 20000 bytes: the spans beyond "
                "are not kept",
            }
        }


async def test_json_exports_take_enum_names_and_numbers_and_gzip_and_keep_every_field(
    traces: TraceStoreService,
) -> None:
    tid = trace_id("e")
    nested = {"kvlistValue": {"values": [{"key": "k", "value": {"arrayValue": {"values": [
        {"boolValue": True}, {"doubleValue": 1.5}, {"bytesValue": "AAE="}]}}}]}}  # fmt: skip
    sent = {
        "traceId": tid,
        "spanId": span_id("e"),
        "traceState": "vendor=1",
        "parentSpanId": span_id("e", 9),
        "flags": 257,
        "name": "named",
        "kind": "SPAN_KIND_PRODUCER",
        "startTimeUnixNano": START_NS,
        "endTimeUnixNano": str(START_NS + 5 * S),
        "attributes": [{"key": "x", "value": {"intValue": 1}}, {"key": "n", "value": nested}],
        "droppedAttributesCount": 2,
        "events": [{"timeUnixNano": str(START_NS + S), "name": "retry",
                    "attributes": [{"key": "attempt", "value": {"intValue": "2"}}]}],
        "droppedEventsCount": 1,
        "links": [{"traceId": trace_id("d"), "spanId": span_id("d"), "traceState": "a=b",
                   "attributes": [{"key": "why", "value": {"stringValue": "caused by"}}],
                   "flags": 1}],
        "status": {"code": "STATUS_CODE_OK", "message": "fine"},
        "futureField": 1,
    }  # fmt: skip
    document = export(AGENT)
    document["resourceSpans"][0]["scopeSpans"][0]["spans"] = [sent]
    response = await traces.http.post(
        "/v1/traces",
        content=gzip.compress(json.dumps(document).encode()),
        headers={"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip"},
    )
    assert (response.status_code, response.json()) == (200, {})
    assert response.headers["content-type"] == "application/json"
    answer = (await traces.http.get(f"/api/traces/{tid}")).json()
    [stored] = answer["batches"][0]["scopeSpans"][0]["spans"]
    expected = {key: value for key, value in sent.items() if key != "futureField"}
    assert stored == expected | {
        "kind": 4,
        "startTimeUnixNano": str(START_NS),
        "attributes": [{"key": "x", "value": {"intValue": "1"}}, {"key": "n", "value": nested}],
        "status": {"message": "fine", "code": 1},
    }


async def test_a_protobuf_export_with_an_invalid_span_keeps_the_rest_as_partial_success(
    traces: TraceStoreService,
) -> None:
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    good = scope_spans.spans.add(trace_id=bytes.fromhex(trace_id("f")), name="good")
    good.span_id = bytes.fromhex(span_id("f"))
    scope_spans.spans.add(trace_id=b"\x01" * 15, span_id=b"\x02" * 8, name="short id")
    response = await traces.http.post(
        "/v1/traces", content=request.SerializeToString(), headers={"Content-Type": PROTOBUF}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == PROTOBUF
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert answer.partial_success.error_message == (
        "span 'short id': trace id is not 16 bytes, not all zero"
    )
    assert (await traces.http.get(f"/api/v2/traces/{trace_id('f')}")).status_code == 200


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        (PROTOBUF, b"\x0a\xff\xff", "invalid protobuf ExportTraceServiceRequest: Error parsing"),
        ("application/json", b'{"resourceSpans": [', "invalid JSON at line 1, col 20: "),
        ("application/json", b"[]", "invalid OTLP JSON: the body must be an object"),
        (
            "application/json",
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"soon"}]}]}]}',
            "invalid OTLP JSON: resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: ",
        ),
        (
            "application/json",
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not-hex"}]}]}]}',
            "invalid OTLP JSON: resourceSpans[0].scopeSpans[0].spans[0].traceId: 'not-hex' is not hex",
        ),
        (
            "application/json",
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"abcd"}]}]}]}',
            "invalid OTLP JSON: resourceSpans[0].scopeSpans[0].spans[0].spanId: 16 hex digits",
        ),
    ],
)
async def test_a_malformed_export_is_a_400_naming_the_problem(
    traces: TraceStoreService, content_type: str, body: bytes, message: str
) -> None:
    response = await traces.http.post(
        "/v1/traces", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == content_type
    if content_type == PROTOBUF:
        status = Status.FromString(response.content)
        code, text = status.code, status.message
    else:
        code, text = response.json()["code"], response.json()["message"]
    assert code == 3  # INVALID_ARGUMENT
    assert text.startswith(message), text


async def test_unknown_media_types_and_encodings_are_415_and_bad_gzip_400(
    traces: TraceStoreService,
) -> None:
    for headers, status, message in [
        ({"Content-Type": "text/plain"}, 415, "unsupported Content-Type text/plain"),
        ({}, 415, "unsupported Content-Type none"),
        (
            {"Content-Type": "application/json", "Content-Encoding": "br"},
            415,
            "unsupported Content-Encoding br",
        ),
        (
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
            400,
            "invalid gzip body: ",
        ),
    ]:
        response = await traces.http.post("/v1/traces", content=b"{}", headers=headers)
        assert response.status_code == status
        assert response.json()["message"].startswith(message)


async def test_a_body_over_the_cap_is_413_compressed_or_not(tmp_path: Path, clock: Clock) -> None:
    async with running_trace_store(
        tmp_path / "traces.db", clock, max_request_bytes=4096
    ) as service:
        large = json.dumps({"resourceSpans": [], "padding": "x" * 5000}).encode()
        response = await service.http.post(
            "/v1/traces", content=large, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["message"] == "request body larger than 4096 bytes"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(5):
                yield b" " * 1000

        response = await service.http.post(
            "/v1/traces", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413

        bomb = gzip.compress(b" " * 1_000_000)  # a kilobyte that expands a thousandfold
        assert len(bomb) < 4096
        response = await service.http.post(
            "/v1/traces",
            content=bomb,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert response.status_code == 413
        assert response.json()["message"] == (
            "request body larger than 4096 bytes once decompressed"
        )
        assert (await service.http.get("/ready")).text == "ready"


async def test_the_query_api_refuses_mistakes_in_one_line_and_knows_missing_traces(
    traces: TraceStoreService,
) -> None:
    cases = [
        ("/api/v2/traces/xyz", {}, 400, "invalid trace id 'xyz': up to 32 hex digits"),
        ("/api/traces/" + "a" * 33, {}, 400, "invalid trace id"),
        ("/api/search", {"limit": "many"}, 400, "invalid limit 'many': not an integer"),
        ("/api/search", {"limit": "5000"}, 400, "invalid limit 5000: must be 1 to 1000"),
        ("/api/search", {"spss": "-1"}, 400, "invalid spss -1: must be 1 to 100"),
        ("/api/search", {"start": "20", "end": "10"}, 400, "invalid start 20: after end 10"),
        ("/api/search", {"start": "yesterday"}, 400, "invalid start 'yesterday'"),
        ("/api/search", {"minDuration": "fast"}, 400, "invalid minDuration 'fast'"),
        (
            "/api/search",
            {"minDuration": "2s", "maxDuration": "1s"},
            400,
            "invalid maxDuration: less than minDuration",
        ),
        ("/api/search", {"q": "{}", "tags": "a=b"}, 400, "invalid tags: give q"),
        ("/api/search", {"tags": "a"}, 400, "invalid tags at 1: expected key=value pairs"),
        ("/api/v2/search/tags", {"scope": "event"}, 400, "invalid scope 'event'"),
        ("/api/v2/search/tag/span.x=1/values", {}, 400, "invalid TraceQL query"),
        ("/api/v2/traces/" + "0" * 31 + "1", {}, 404, "trace not found"),
        ("/api/traces/1", {}, 404, "trace not found"),
    ]
    for path, params, status, message in cases:
        response = await traces.http.get(path, params=params)
        assert response.status_code == status, (path, params, response.text)
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text.startswith(message), (path, params, response.text)
        assert response.text.count("\n") == 1

    with pytest.raises(TempoQueryError, match=r"^Tempo refused the query: invalid TraceQL query: "):
        await TempoClient(traces.http).search(traceql="{ nonsense }")


async def test_health_echo_and_tag_routes(traces: TraceStoreService) -> None:
    tid = trace_id("9")
    await traces.export(
        export(
            AGENT,
            span(tid, span_id("9", 1), "root", kind=2, attrs={"http.route": "/prompt"}),
            span(tid, span_id("9", 2), "tool", parent=span_id("9", 1), status=2, attrs={"n": 3}),
        )
    )
    assert (await traces.http.get("/ready")).text == "ready"
    assert (await traces.http.get("/api/echo")).text == "echo"
    assert "version" in (await traces.http.get("/api/status/buildinfo")).json()

    v1 = (await traces.http.get("/api/search/tags")).json()
    assert v1 == {
        "tagNames": sorted(["agent.mode", "agent.name", "service.name", "http.route", "n"])
    }
    v2 = (await traces.http.get("/api/v2/search/tags", params={"scope": "span"})).json()
    assert v2 == {"scopes": [{"name": "span", "tags": ["http.route", "n"]}]}

    async def values(path: str, **params: str) -> Any:
        response = await traces.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()["tagValues"]

    assert await values("/api/search/tag/service.name/values") == ["agentops-runtime"]
    assert await values("/api/search/tag/n/values") == ["3"]
    assert await values("/api/v2/search/tag/span.n/values") == [{"type": "int", "value": "3"}]
    assert await values("/api/v2/search/tag/status/values") == [
        {"type": "keyword", "value": "error"},
        {"type": "keyword", "value": "unset"},
    ]
    assert await values("/api/v2/search/tag/name/values", q="{ status = error }") == [
        {"type": "string", "value": "tool"}
    ]
    assert await values("/api/v2/search/tag/resource.agent.name/values") == [
        {"type": "string", "value": "triage"}
    ]
    assert await values("/api/v2/search/tag/.nothing/values") == []


async def test_stored_traces_survive_a_restart(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "traces.db"
    tid = trace_id("8")
    async with running_trace_store(db, clock) as service:
        await service.export(export(AGENT, span(tid, span_id("8"), "kept")))
        totals = service.store.totals
    async with running_trace_store(db, clock) as service:
        assert service.store.totals == totals
        assert (totals.traces, totals.spans) == (1, 1)
        assert await service.found_ids('{ name = "kept" }') == [tid]


async def test_exports_beyond_the_pending_bound_are_told_to_retry(
    tmp_path: Path, clock: Clock
) -> None:
    """With no room for another export in progress, the receiver answers 503 with Retry-After
    (which OTLP exporters retry) instead of queueing without bound."""
    async with running_trace_store(tmp_path / "traces.db", clock, max_pending_exports=1) as service:
        host, port = service.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        # an export whose body is still arriving holds the one place
        writer.write(
            b"POST /v1/traces HTTP/1.1\r\nHost: traces\r\nContent-Type: application/json\r\n"
            b'Content-Length: 20\r\n\r\n{"resourceSpans":'
        )
        await writer.drain()

        async def refused() -> httpx.Response:  # once the server has begun on it
            response = await service.http.post(
                "/v1/traces", content=b"{}", headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 503
            return response

        response = await eventually(refused, interval=0.01)
        assert response.headers["retry-after"] == "1"
        assert response.json()["message"] == "the trace store is busy; retry"
        writer.write(b"[]}")
        await writer.drain()
        async with asyncio.timeout(10):
            assert (await reader.readline()).startswith(b"HTTP/1.1 200 ")
        writer.close()
        await writer.wait_closed()
        again = await service.http.post(
            "/v1/traces", content=b"{}", headers={"Content-Type": "application/json"}
        )
        assert again.status_code == 200


async def test_agentops_traces_serves_both_ports_and_stops_cleanly(tmp_path: Path) -> None:
    """The real command: exports reach it on the OTLP port, queries on Tempo's, the database
    is where --db says, and SIGTERM ends it without a traceback."""
    query_port, otlp_port = free_port(), free_port()
    db = tmp_path / "data" / "traces.db"
    process = await asyncio.create_subprocess_exec(
        *AGENTOPS, "traces", "--db", str(db), "--port", str(query_port),
        "--otlp-port", str(otlp_port), "--max-age", "2h",
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{query_port}", timeout=10) as query,
            httpx.AsyncClient(timeout=10) as otlp,
        ):

            async def ready() -> None:
                assert process.returncode is None, "agentops traces exited"
                assert (await query.get("/ready")).text == "ready"

            await eventually(ready)
            tid = trace_id("b")
            response = await otlp.post(
                otlp_traces_url(f"127.0.0.1:{otlp_port}"),
                json=export(AGENT, span(tid, span_id("b"), "via 4318")),
            )
            assert response.status_code == 200
            waterfall = await TempoClient(query).trace(tid)
            assert [node.name for node in waterfall.spans] == ["via 4318"]
        assert db.exists()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, stderr = await process.communicate()
    # uvicorn re-raises the signal once it has shut down: the conventional SIGTERM exit
    assert process.returncode == -signal.SIGTERM, stderr.decode()
    assert b"Traceback" not in stderr


@pytest.mark.parametrize(
    ("accept", "protobuf"),
    [
        (None, False),
        ("*/*", False),
        ("application/json", False),
        ("application/protobuf", True),
        ("application/protobuf, application/json;q=0.9", True),  # the console's
        ("application/x-protobuf, */*", True),  # named outright: it wins a tie
        ("application/json, application/protobuf;q=0.5", False),
        ("application/protobuf;q=0", False),
        ("application/protobuf;q=oops, application/json", False),
    ],
)
def test_a_trace_is_protobuf_when_the_accept_header_ranks_it_first(
    accept: str | None, protobuf: bool
) -> None:
    assert prefers_protobuf(accept) is protobuf
