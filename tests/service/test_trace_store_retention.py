"""Retention and scale of the trace store: traces not written to for the maximum age go, by the
periodic prune too; over the span or byte limit the traces written longest ago go on the very
write that overflows; one trace is capped on its own; a 10,000-span trace goes in and comes
back whole, to the console too. Time is the test's clock, moved by hand."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

from agentops_services.traces.store import Pruned, Retention
from agentops_tui.services.traces.client import TempoClient
from tests.conftest import eventually
from tests.service.conftest import Clock
from tests.service.trace_store_support import (
    MS,
    START_NS,
    TraceStoreService,
    export,
    running_trace_store,
    span,
    span_id,
    trace_id,
)


def three_spans(digit: str, service: str = "agentops-runtime") -> dict[str, object]:
    tid, root = trace_id(digit), span_id(digit, 1)
    return export(
        {"service.name": service},
        span(tid, root, "root", kind=2, duration_ms=50),
        span(tid, span_id(digit, 2), "a", parent=root, start_ms=1),
        span(tid, span_id(digit, 3), "b", parent=root, start_ms=2),
    )


async def stored(service: TraceStoreService, digit: str) -> bool:
    response = await service.http.get(f"/api/v2/traces/{trace_id(digit)}")
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


def origin_services(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return sorted(row[0] for row in connection.execute("SELECT service_name FROM origins"))


async def test_traces_not_written_to_for_the_maximum_age_are_deleted(
    tmp_path: Path, clock: Clock
) -> None:
    db = tmp_path / "traces.db"
    async with running_trace_store(db, clock, Retention(max_age=timedelta(hours=1))) as service:
        await service.export(three_spans("a", service="retired-service"))
        clock.advance(minutes=1)
        await service.export(three_spans("b"))
        clock.advance(minutes=29)
        await service.export(three_spans("c"))
        clock.advance(minutes=20)
        await service.export(three_spans("b"))  # written again: its age starts over
        clock.advance(minutes=15)  # a: 65 min, b: 15 min, c: 35 min since written

        assert await service.store.prune() == Pruned(traces=1, spans=3)
        assert [await stored(service, d) for d in "abc"] == [False, True, True]
        assert (service.store.totals.traces, service.store.totals.spans) == (2, 6)
        assert origin_services(db) == ["agentops-runtime"]  # nothing left uses the other
        assert await service.found_ids() == [trace_id("c"), trace_id("b")]

        clock.advance(minutes=30)  # c: 65 min
        assert await service.store.prune() == Pruned(traces=1, spans=3)
        assert [await stored(service, d) for d in "abc"] == [False, True, False]
        assert await service.store.prune() == Pruned(traces=0, spans=0)


async def test_the_periodic_prune_deletes_expired_traces_unasked(
    tmp_path: Path, clock: Clock
) -> None:
    retention = Retention(max_age=timedelta(hours=1), prune_interval=0.02)
    async with running_trace_store(tmp_path / "traces.db", clock, retention) as service:
        await service.export(three_spans("a"))
        assert service.store.totals.traces == 1
        clock.advance(hours=2)

        async def gone() -> None:  # by the prune task's next round
            assert not await stored(service, "a")
            assert service.store.totals.traces == 0

        await eventually(gone, interval=0.01)


async def test_over_the_span_limit_the_traces_written_longest_ago_go_at_once(
    tmp_path: Path, clock: Clock
) -> None:
    async with running_trace_store(
        tmp_path / "traces.db", clock, Retention(max_spans=10)
    ) as service:
        for digit in "abc":
            await service.export(three_spans(digit))
            clock.advance(seconds=1)
        tid = trace_id("a")
        late = span(tid, span_id("a", 4), "late", parent=span_id("a", 1), start_ms=3)
        await service.export(export({"service.name": "agentops-runtime"}, late))
        clock.advance(seconds=1)
        assert service.store.totals.spans == 10  # at the limit, not over it

        # 13 spans: down to nine tenths of the limit, so b and c, written longest ago, go
        await service.export(three_spans("d"))
        assert [await stored(service, d) for d in "abcd"] == [True, False, False, True]
        assert service.store.totals.spans == 7

        clock.advance(seconds=1)
        await service.export(three_spans("e"))
        assert service.store.totals.spans == 10
        clock.advance(seconds=1)
        await service.export(three_spans("f"))  # 13 again: a's four go
        assert [await stored(service, d) for d in "adef"] == [False, True, True, True]
        assert (service.store.totals.traces, service.store.totals.spans) == (3, 9)


async def test_over_the_byte_limit_the_traces_written_longest_ago_go(
    tmp_path: Path, clock: Clock
) -> None:
    async with running_trace_store(tmp_path / "measure.db", clock) as service:
        await service.export(three_spans("a"))
        one_trace = service.store.totals.bytes
    retention = Retention(max_bytes=round(one_trace * 2.5))
    async with running_trace_store(tmp_path / "traces.db", clock, retention) as service:
        for digit in "ab":
            await service.export(three_spans(digit))
            clock.advance(seconds=1)
        assert service.store.totals.bytes == 2 * one_trace
        await service.export(three_spans("c"))
        assert [await stored(service, d) for d in "abc"] == [False, True, True]
        assert service.store.totals.bytes == 2 * one_trace


async def test_one_trace_keeps_what_fits_its_own_limit(tmp_path: Path, clock: Clock) -> None:
    tid = trace_id("a")
    spans = [span(tid, span_id("a", i), f"span {i}", start_ms=i) for i in range(10)]
    async with running_trace_store(tmp_path / "measure.db", clock) as service:
        await service.export(export({"service.name": "s"}, spans[0]))
        one_span = service.store.totals.bytes
    retention = Retention(max_trace_bytes=4 * one_span)
    async with running_trace_store(tmp_path / "traces.db", clock, retention) as service:
        response = await service.http.post("/v1/traces", json=export({"service.name": "s"}, *spans))
        assert response.json()["partialSuccess"]["rejectedSpans"] == "6"
        waterfall = await TempoClient(service.http).trace(tid)
        assert [node.name for node in waterfall.spans] == [f"span {i}" for i in range(4)]
        other = span(trace_id("b"), span_id("b"), "elsewhere")
        await service.export(export({"service.name": "s"}, other))  # others are not refused


def wide_trace(spans: int) -> ExportTraceServiceRequest:
    """One trace: a root, steps under it, and the rest as the steps' children, 1 ms apart."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key="service.name").value.string_value = "wide"
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "bench"
    tid = bytes.fromhex(trace_id("7"))
    steps = max(1, spans // 100)
    for index in range(spans):
        added = scope_spans.spans.add(
            trace_id=tid,
            span_id=(index + 1).to_bytes(8, "big"),
            name="root" if index == 0 else f"span {index}",
            kind=1,
            start_time_unix_nano=START_NS + index * MS,
            end_time_unix_nano=START_NS + index * MS + 500_000,
        )
        if index:
            parent = 1 if index <= steps else 2 + (index % steps)
            added.parent_span_id = parent.to_bytes(8, "big")
        added.attributes.add(key="index").value.int_value = index
    scope_spans.spans[0].end_time_unix_nano = START_NS + spans * MS
    return request


async def test_a_10000_span_trace_goes_in_and_comes_back_whole(
    tmp_path: Path, clock: Clock
) -> None:
    async with running_trace_store(tmp_path / "traces.db", clock) as service:
        response = await service.http.post(
            "/v1/traces",
            content=wide_trace(10_000).SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert response.status_code == 200
        assert service.store.totals.spans == 10_000

        as_json = (await service.http.get(f"/api/v2/traces/{trace_id('7')}")).json()
        [resource_spans] = as_json["trace"]["resourceSpans"]
        [scope_spans] = resource_spans["scopeSpans"]
        assert len({s["spanId"] for s in scope_spans["spans"]}) == 10_000
        assert [s["name"] for s in scope_spans["spans"][:2]] == ["root", "span 1"]

        v1 = await service.http.get(
            f"/api/traces/{trace_id('7')}", headers={"Accept": "application/protobuf"}
        )
        decoded = TracesData.FromString(v1.content)
        assert len(decoded.resource_spans[0].scope_spans[0].spans) == 10_000

        waterfall = await TempoClient(service.http).trace(trace_id("7"))
        assert len(waterfall.spans) == 10_000
        assert (waterfall.spans[0].name, waterfall.spans[0].descendants) == ("root", 9_999)
        assert not waterfall.partial

        [found] = (await service.search('{ resource.service.name = "wide" }'))["traces"]
        assert found["serviceStats"] == {"wide": {"spanCount": 10_000}}
        assert found["spanSet"]["matched"] == 10_000
        assert found["durationMs"] == 10_000
