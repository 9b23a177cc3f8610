"""The trace explorer's data layer without Tempo: Tempo's JSON (recorded answers and spans
made here) to models, waterfall trees (partial, cyclic, duplicated, capped), rows at several
widths with zoom and pan, filters, a span's details, TraceQL, and the command's text and
JSON."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from opentelemetry.proto.common.v1 import common_pb2 as common
from opentelemetry.proto.trace.v1 import trace_pb2
from rich.cells import cell_len

from agentops_tui.services.traces.detail import span_detail
from agentops_tui.services.traces.filters import select
from agentops_tui.services.traces.layout import (
    Columns,
    Viewport,
    bar,
    format_duration,
    layout,
    ruler,
    ticks,
)
from agentops_tui.services.traces.otlp import (
    KeyValue,
    Span,
    TraceData,
    TraceFormatError,
    hex_id,
    is_partial,
    kind,
    parse_v1,
    parse_v2,
    python,
    status_code,
    trace_id,
)
from agentops_tui.services.traces.proto import waterfall_from_protobuf
from agentops_tui.services.traces.search import SearchResponse
from agentops_tui.services.traces.text import MAX_JSON_DEPTH, tree_json, waterfall_lines
from agentops_tui.services.traces.traceql import (
    build_query,
    duration_literal,
    parse_duration,
    quote,
)
from agentops_tui.services.traces.tree import Waterfall, build
from tests.fakes.tempo import RECORDINGS, as_protobuf, recording

MS = 1_000_000
T0 = 1_775_728_800_000_000_000


def recorded(name: str) -> Waterfall:
    response = parse_v2((RECORDINGS / name).read_bytes())
    partial = response.get("message", "") if is_partial(response) else ""
    return build(response["trace"], tempo_partial=partial)


def span(
    span_id: int,
    parent: int | None,
    name: str,
    start_ms: float,
    took_ms: float,
    status: str | None = None,
    **attributes: str,
) -> Span:
    """A span as OTLP/JSON writes it (hex ids, integer enums), ids from small numbers."""
    made: Span = {
        "traceId": "0" * 31 + "1",
        "spanId": f"{span_id:016x}",
        "name": name,
        "kind": 1,
        "startTimeUnixNano": T0 + int(start_ms * MS),
        "endTimeUnixNano": T0 + int((start_ms + took_ms) * MS),
        "attributes": [
            {"key": k.replace("__", "."), "value": {"stringValue": v}}
            for k, v in attributes.items()
        ],
    }
    if parent is not None:
        made["parentSpanId"] = f"{parent:016x}"
    if status:
        made["status"] = {"code": 2, "message": status}
    return made


def trace(*spans: Span, service: str = "agentops-runtime") -> TraceData:
    resource: list[KeyValue] = [{"key": "service.name", "value": {"stringValue": service}}]
    return {
        "resourceSpans": [
            {"resource": {"attributes": resource}, "scopeSpans": [{"spans": list(spans)}]}
        ]
    }


def names(waterfall: Waterfall) -> list[tuple[int, str]]:
    return [(node.depth, node.name) for node in waterfall.spans]


# --- Tempo's JSON --------------------------------------------------------------------------


def test_ids_arrive_base64_from_tempo_or_hex_from_otlp_json_and_read_as_hex() -> None:
    raw = bytes.fromhex("0a62c569262267d63ea52f4922e7c2ea")
    assert hex_id(base64.b64encode(raw).decode()) == raw.hex()
    assert hex_id(base64.b64encode(raw[:8]).decode()) == raw[:8].hex()
    assert hex_id("0A62C569262267D6") == "0a62c569262267d6"
    assert hex_id("") == ""
    assert trace_id("a4c38") == "0" * 27 + "a4c38"  # Tempo's search drops leading zeros
    with pytest.raises(TraceFormatError, match="not a hex or base64 id"):
        hex_id("not an id!")


def test_enums_arrive_by_name_or_number_and_unknown_ones_read_as_the_default() -> None:
    assert kind({"spanId": "", "kind": "SPAN_KIND_CLIENT"}) == "client"
    assert kind({"spanId": "", "kind": 2}) == "server"
    assert kind({"spanId": "", "kind": "SPAN_KIND_FROM_THE_FUTURE"}) == "unspecified"
    assert kind({"spanId": ""}) == "unspecified"
    assert status_code({"spanId": "", "status": {"code": "STATUS_CODE_ERROR"}}) == "error"
    assert status_code({"spanId": "", "status": {"code": 1}}) == "ok"
    assert status_code({"spanId": "", "status": {}}) == "unset"


def test_values_read_as_plain_python() -> None:
    assert python({"stringValue": "x"}) == "x"
    assert python({"intValue": 18342}) == 18342
    assert python({"boolValue": False}) is False
    assert python({"doubleValue": 0.2}) == 0.2
    assert python({"arrayValue": {"values": [{"stringValue": "stop"}, {"intValue": 1}]}}) == [
        "stop",
        1,
    ]
    nested = {"kvlistValue": {"values": [{"key": "a", "value": {"boolValue": True}}]}}
    assert python(nested) == {"a": True}  # type: ignore[arg-type]
    assert python({"bytesValue": "AAE="}) == "AAE="
    assert python({}) is None


def test_the_recorded_v2_trace_parses_with_its_numbers_as_ints() -> None:
    response = parse_v2((RECORDINGS / "trace_v2.json").read_bytes())
    first = response["trace"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert first["startTimeUnixNano"] == 1_775_728_923_250_000_000  # sent as a string
    assert not is_partial(response)
    assert is_partial(parse_v2(b'{"status": 1}'))
    v1 = parse_v1(json.dumps({"batches": response["trace"]["resourceSpans"]}).encode())
    assert len(build(v1).spans) == 18
    with pytest.raises(TraceFormatError, match=r"trace\.resourceSpans\.0\.scopeSpans\.0\.spans\.0\.startTimeUnixNano"):  # fmt: skip
        parse_v2(b'{"trace": {"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "AQ==", "startTimeUnixNano": "soon"}]}]}]}}')  # fmt: skip


def test_the_recorded_search_reads_as_summaries() -> None:
    found = SearchResponse.model_validate_json((RECORDINGS / "search.json").read_bytes())
    pending = found.traces[1]
    assert pending.trace_id == "000a4c384338c0037901736f971c2c93"
    assert (pending.agent, pending.span_count, pending.error_count) == ("triage", 2, 0)
    assert found.traces[0].attribute("agent.mode") == "task"
    # an older Tempo sends only spanSet
    older = SearchResponse.model_validate(
        {"traces": [{"traceID": "1", "spanSet": found.traces[0].span_set}]}
    )
    assert older.traces[0].agent == "fixer" and older.traces[0].span_count is None


# --- the waterfall -------------------------------------------------------------------------


def test_the_recorded_trace_is_a_tree_in_start_order() -> None:
    waterfall = recorded("trace_v2.json")
    assert names(waterfall) == [
        (0, "POST /prompt/stream"),
        (1, "agent.prompt"),
        (2, "memory.fetch_context"),
        (3, "memory.fetch_context"),
        (4, "store.fetch_context"),
        (2, "agent.step"),
        (3, "chat claude-sonnet-4-5"),
        (3, "tool.execute: kubectl"),
        (2, "agent.step"),
        (3, "chat claude-sonnet-4-5"),
        (3, "tool.execute: kubectl"),
        (3, "tool.execute: read_file"),
        (2, "agent.step"),
        (3, "chat claude-sonnet-4-5"),
        (3, "tool.execute: github.create_issue"),
        (4, "mcp.call: github/create_issue"),
        (2, "agent.step"),
        (3, "chat claude-sonnet-4-5"),
    ]
    spans = waterfall.spans
    assert not waterfall.partial and waterfall.orphans == 0
    assert waterfall.trace_id == "0a62c569262267d63ea52f4922e7c2ea"
    assert (waterfall.duration_ns, spans[0].offset_ns, spans[0].descendants) == (14_210 * MS, 0, 17)
    assert (spans[5].offset_ns, spans[5].duration_ns, spans[5].descendants) == (
        25 * MS,
        2_896 * MS,
        2,
    )
    assert all(spans[n.parent].span_id == n.parent_id for n in spans if n.parent >= 0)
    assert [n.category for n in spans[:7]] == ["other", "agent", "memory", "memory", "memory", "other", "llm"]  # fmt: skip
    assert [n.category for n in spans[14:16]] == ["tool", "tool"]
    assert [n.name for n in spans if n.error] == ["tool.execute: read_file"]  # error.type only
    assert {n.service for n in spans} == {"agentops-runtime", "agentops-memory"}
    assert waterfall.find(spans[3].span_id) is spans[3] and waterfall.find("ffff") is None


def everything(waterfall: Waterfall) -> list[tuple[object, ...]]:
    """What a view can read of each span, attributes converted."""
    return [
        (
            n.span_id, n.parent_id, n.name, n.service, n.kind, n.status, n.status_message,
            n.start_ns, n.duration_ns, n.offset_ns, dict(n.attributes), dict(n.resource),
            [(e.name, e.time_ns, dict(e.attributes)) for e in n.events],
            [(k.trace_id, k.span_id, dict(k.attributes)) for k in n.links],
            n.category, n.error, n.depth, n.parent, n.descendants, n.orphan,
        )
        for n in waterfall.spans
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["trace_v2.json", "trace_v2_partial.json"])
def test_a_trace_reads_the_same_from_tempos_protobuf_as_from_its_json(name: str) -> None:
    from_json = recorded(name)
    from_protobuf = waterfall_from_protobuf(as_protobuf(recording(name)))
    assert everything(from_protobuf) == everything(from_json)
    assert from_protobuf.partial_reasons() == from_json.partial_reasons()
    assert from_protobuf.trace_id == from_json.trace_id
    v1 = as_protobuf(recording(name), v2_envelope=False)  # v1's bare Trace: no partial status
    assert everything(waterfall_from_protobuf(v1, v2=False)) == everything(from_json)
    with pytest.raises(TraceFormatError, match="not an OTLP trace in protobuf"):
        waterfall_from_protobuf(b"\x0a\xff\xff\xff")


def test_protobuf_values_read_as_plain_python_when_first_asked_for() -> None:
    attributes = [
        common.KeyValue(key="s", value=common.AnyValue(string_value="x")),
        common.KeyValue(key="i", value=common.AnyValue(int_value=18342)),
        common.KeyValue(key="b", value=common.AnyValue(bool_value=False)),
        common.KeyValue(key="d", value=common.AnyValue(double_value=0.2)),
        common.KeyValue(key="raw", value=common.AnyValue(bytes_value=b"\x00\x01")),
        common.KeyValue(key="none", value=common.AnyValue()),
        common.KeyValue(
            key="list",
            value=common.AnyValue(array_value=common.ArrayValue(values=[common.AnyValue(string_value="stop"), common.AnyValue(int_value=1)])),
        ),
        common.KeyValue(
            key="map",
            value=common.AnyValue(kvlist_value=common.KeyValueList(values=[common.KeyValue(key="a", value=common.AnyValue(bool_value=True))])),
        ),
        common.KeyValue(key="error.type", value=common.AnyValue(string_value="timeout")),
    ]  # fmt: skip
    made = trace_pb2.Span(
        trace_id=bytes.fromhex("0" * 31 + "1"),
        span_id=bytes.fromhex("00000000000000aa"),
        name="tool.execute: kubectl",
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 5 * MS,
        attributes=attributes,
    )
    data = trace_pb2.TracesData(
        resource_spans=[trace_pb2.ResourceSpans(scope_spans=[trace_pb2.ScopeSpans(spans=[made])])]
    )
    (node,) = waterfall_from_protobuf(data.SerializeToString(), v2=False).spans
    assert (node.category, node.error) == ("tool", True)  # read before the rest is converted
    assert dict(node.attributes) == {
        "s": "x", "i": 18342, "b": False, "d": 0.2, "raw": "AAE=", "none": None,
        "list": ["stop", 1], "map": {"a": True}, "error.type": "timeout",
    }  # fmt: skip
    assert (len(node.attributes), node.attributes.get("missing"), "s" in node.attributes) == (
        9,
        None,
        True,
    )


def test_a_protobuf_trace_keeps_the_earliest_spans_past_the_cap() -> None:
    spans = [
        trace_pb2.Span(
            trace_id=b"\x01" * 16,
            span_id=n.to_bytes(8, "big"),
            parent_span_id=(1).to_bytes(8, "big") if n > 1 else b"",
            name=f"s{n}",
            start_time_unix_nano=T0 + n * 10 * MS,
            end_time_unix_nano=T0 + (n * 10 + 5) * MS,
        )
        for n in range(8, 0, -1)
    ]
    data = trace_pb2.TracesData(
        resource_spans=[trace_pb2.ResourceSpans(scope_spans=[trace_pb2.ScopeSpans(spans=spans)])]
    )
    waterfall = waterfall_from_protobuf(data.SerializeToString(), v2=False, max_spans=5)
    assert [n.name for n in waterfall.spans] == ["s1", "s2", "s3", "s4", "s5"]
    assert waterfall.partial_reasons() == ["8 spans; the 5 that started first are shown"]
    assert waterfall.trace_id == "01" * 16


def test_spans_whose_parent_is_missing_are_roots_and_the_trace_is_partial() -> None:
    waterfall = build(
        trace(
            span(1, None, "agent.prompt", 0, 100),
            span(2, 1, "agent.step", 10, 50),
            span(3, 99, "tool.execute: late", 20, 5),  # parent never arrived
            span(4, 98, "chat gpt-4.1", 5, 30),
        )
    )
    assert names(waterfall) == [
        (0, "agent.prompt"),
        (1, "agent.step"),
        (0, "chat gpt-4.1"),
        (0, "tool.execute: late"),
    ]
    assert [n.orphan for n in waterfall.spans] == [False, False, True, True]
    assert waterfall.partial and not waterfall.truncated
    assert waterfall.partial_reasons() == [
        "2 span(s) name a parent the trace does not hold; they are shown as roots"
    ]
    assert recorded("trace_v2_partial.json").orphans == 2


def test_a_parent_cycle_is_broken_and_every_span_shown_once() -> None:
    waterfall = build(
        trace(
            span(1, None, "root", 0, 10),
            span(2, 3, "a", 20, 5),
            span(3, 2, "b", 21, 5),
            span(4, 4, "self", 30, 1),
        )
    )
    assert names(waterfall) == [(0, "root"), (0, "self"), (0, "a"), (1, "b")]
    assert [n.orphan for n in waterfall.spans] == [False, True, True, False]


def test_a_repeated_span_id_keeps_the_first_and_counts_both() -> None:
    waterfall = build(trace(span(1, None, "first", 0, 10), span(1, None, "again", 5, 10)))
    assert names(waterfall) == [(0, "first")] and waterfall.total_spans == 2
    assert not waterfall.truncated


def test_at_most_max_spans_are_kept_the_earliest_and_it_says_so() -> None:
    spans = [
        span(n, 1 if n > 1 else None, f"s{n}", start_ms=n * 10, took_ms=5) for n in range(8, 0, -1)
    ]
    waterfall = build(trace(*spans), max_spans=5)
    assert [n.name for n in waterfall.spans] == ["s1", "s2", "s3", "s4", "s5"]
    assert waterfall.truncated and waterfall.total_spans == 8
    assert waterfall.partial_reasons() == ["8 spans; the 5 that started first are shown"]


def test_an_empty_trace_and_a_span_that_ends_before_it_starts() -> None:
    assert (build({}).spans, build({}).duration_ns) == ([], 0)
    backwards = span(1, None, "skewed", 10, 5)
    backwards["endTimeUnixNano"] = T0
    assert build(trace(backwards)).spans[0].duration_ns == 0


# --- filters -------------------------------------------------------------------------------


def test_filters_keep_a_match_with_its_ancestors_as_context() -> None:
    waterfall = recorded("trace_v2.json")
    shown = [(s.node.name, s.matched) for s in select(waterfall, "errors")]
    assert shown == [
        ("POST /prompt/stream", False),
        ("agent.prompt", False),
        ("agent.step", False),
        ("tool.execute: read_file", True),
    ]
    tools = [s.node.name for s in select(waterfall, "tools") if s.matched]
    assert tools == ["tool.execute: kubectl", "tool.execute: kubectl", "tool.execute: read_file",
                     "tool.execute: github.create_issue", "mcp.call: github/create_issue"]  # fmt: skip
    assert sum(s.matched for s in select(waterfall, "llm")) == 4
    assert len(select(waterfall, "all")) == 18
    assert [s.index for s in select(waterfall, "errors")] == [0, 1, 8, 11]


# --- layout --------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [20, 33, 80, 131, 300])
def test_every_row_is_exactly_the_width_at_any_width(width: int) -> None:
    waterfall = recorded("trace_v2.json")
    columns = Columns.fit(width)
    assert columns.name + columns.duration + columns.bar == width and columns.bar >= 4
    rows = layout(select(waterfall), Viewport.whole(waterfall.duration_ns), width)
    assert len(rows) == 18
    assert {cell_len(row.text) for row in rows} == {width}


def test_names_are_indented_marked_and_cut_to_their_column() -> None:
    waterfall = build(
        trace(
            span(1, None, "root", 0, 100),
            span(2, 1, "a-rather-long-span-name-that-cannot-fit", 0, 10, error__type="tool_error"),
            span(3, 99, "调用工具", 0, 10),  # wide characters, parent missing
        )
    )
    rows = layout(select(waterfall), Viewport.whole(waterfall.duration_ns), 60)
    assert [row.name for row in rows] == [
        "root".ljust(24),
        "  ✗ a-rather-long-span-…",
        "… 调用工具".ljust(20),  # 4 wide characters take 8 cells
    ]
    assert rows[0].duration == "  100ms "
    with pytest.raises(ValueError, match="at least 20 columns"):
        layout(select(waterfall), Viewport.whole(1), 19)


def test_deep_spans_indent_at_most_half_the_name_column() -> None:
    chain = [span(n, n - 1 if n > 1 else None, f"d{n}", n, 1) for n in range(1, 40)]
    waterfall = build(trace(*chain))
    [deepest] = layout(select(waterfall), Viewport.whole(waterfall.duration_ns), 100, first=38)
    assert waterfall.spans[38].depth == 38
    assert deepest.name == " " * 20 + "d39".ljust(20)  # the name column is 40 cells


def test_bars_are_drawn_in_eighths_with_arrows_for_spans_outside_the_window() -> None:
    whole = Viewport(total_ns=1000, start_ns=0, end_ns=1000)
    assert bar(0, 1000, whole, 10) == ("█" * 10, 0, 10)
    assert bar(500, 250, whole, 10) == ("     ██▌  ", 5, 8)
    assert bar(0, 1, whole, 10) == ("▏" + " " * 9, 0, 1)  # a tiny span still shows
    assert bar(1000, 0, whole, 10) == (" " * 9 + "▏", 9, 10)  # an instant at the end
    later = Viewport(total_ns=1000, start_ns=400, end_ns=600)
    assert bar(0, 100, later, 10) == ("◂" + " " * 9, 0, 1)
    assert bar(700, 10, later, 10) == (" " * 9 + "▸", 9, 10)
    assert bar(300, 200, later, 10) == ("█████     ", 0, 5)  # clipped at the left edge
    assert bar(0, 10, whole, 0) == ("", 0, 0)


def test_zoom_keeps_the_anchor_in_place_and_pan_stops_at_the_ends() -> None:
    whole = Viewport.whole(1_000_000)
    assert whole.zoom(4, anchor=0.5) == Viewport(1_000_000, 375_000, 625_000)
    assert whole.zoom(4, anchor=0.0) == Viewport(1_000_000, 0, 250_000)
    zoomed = whole.zoom(4, anchor=1.0)
    assert zoomed == Viewport(1_000_000, 750_000, 1_000_000)
    assert zoomed.pan(0.5) == zoomed  # already at the end
    assert zoomed.pan(-1) == Viewport(1_000_000, 500_000, 750_000)
    assert zoomed.zoom(0.1) == whole  # out past the whole trace is the whole trace
    assert whole.zoom(10**9).width_ns == 1_000  # no finer than 1 µs
    assert Viewport.whole(0) == Viewport(1, 0, 1)  # a trace of instants still divides


def test_zooming_in_moves_rows_bars_and_the_ruler() -> None:
    waterfall = recorded("trace_v2.json")
    shown = select(waterfall)
    window = Viewport.whole(waterfall.duration_ns).zoom(14.21, anchor=0.0)  # the first second
    rows = layout(shown, window, 80, first=5, count=3)
    assert [row.shown.node.name for row in rows] == ["agent.step", "chat claude-sonnet-4-5", "tool.execute: kubectl"]  # fmt: skip
    # the step and its model call start 25 ms in (the first cell) and outlast the window; the
    # tool call comes after it
    assert [row.bar for row in rows] == [" " + "█" * 39, " " + "█" * 39, " " * 39 + "▸"]
    assert ruler(window, 40) == "0       200ms   400ms   600ms   800ms   "


def test_ticks_fall_on_round_intervals() -> None:
    assert ticks(Viewport(10_000 * MS, 0, 10_000 * MS), 50) == [
        (0, "0"), (10, "2s"), (20, "4s"), (30, "6s"), (40, "8s"), (49, "10s")
    ]  # fmt: skip
    assert [label for _, label in ticks(Viewport(10_000 * MS, 1_234 * MS, 1_300 * MS), 40)] == [
        "1.24s", "1.26s", "1.28s", "1.3s"
    ]  # fmt: skip
    assert (
        ruler(Viewport(10_000 * MS, 0, 10_000 * MS), 12) == "0 2s   6s   "
    )  # crowded: some left out


@pytest.mark.parametrize(
    ("ns", "text"),
    [(0, "0ns"), (999, "999ns"), (1_500, "1.5µs"), (999_499, "999µs"), (999_500, "1ms"),
     (12_345_678, "12.3ms"), (1_520_000_000, "1.52s"), (59_949_000_000, "59.9s"),
     (59_950_000_000, "1m00s"), (125_000_000_000, "2m05s"), (4_020_000_000_000, "1h07m"),
     (3_599_940 * 10**9, "999h59m"), (3_600_000 * 10**9, ">999h")],
)  # fmt: skip
def test_durations_read_short(ns: int, text: str) -> None:
    assert format_duration(ns) == text


# --- a span's details ----------------------------------------------------------------------


def test_a_model_calls_details() -> None:
    waterfall = recorded("trace_v2.json")
    detail = span_detail(waterfall.spans[9])
    assert detail.model is not None and detail.tool is None
    assert (detail.model.request_model, detail.model.response_model) == (
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-20250929",
    )
    assert (detail.model.input_tokens, detail.model.output_tokens) == (5630, 140)
    assert detail.model.cache_read_tokens == 4430 and detail.model.finish_reasons == ("tool_use",)
    assert detail.model.provider == "anthropic" and detail.model.reasoning_tokens is None
    assert ("gen_ai.request.temperature", "0.2") in detail.attributes


def test_a_tool_calls_details() -> None:
    waterfall = recorded("trace_v2.json")
    failed = span_detail(waterfall.spans[11])
    assert failed.tool is not None
    assert (failed.tool.name, failed.tool.tool_type) == ("read_file", "builtin")
    assert failed.tool.arguments == '{"path": "charts/checkout/values.yaml"}'
    assert failed.tool.error == "file not found: charts/checkout/values.yaml"
    assert failed.status_message == "tool_error" and failed.agent == "triage"
    mcp = span_detail(waterfall.spans[15])
    assert mcp.tool is not None and mcp.tool.mcp_server == "github" and mcp.tool.error is None


def test_a_turns_events_and_a_failures_message() -> None:
    waterfall = recorded("trace_v2.json")
    turn = span_detail(waterfall.spans[1])
    assert [(e.name, e.offset_ns) for e in turn.events] == [
        ("gen_ai.user.message", 100_000),
        ("gen_ai.choice", 14_204_500_000),
    ]
    assert ("role", "user") in turn.events[0].attributes
    assert turn.model is not None and turn.model.input_tokens == 18342
    assert ("agent.namespace", "ops") in turn.resource
    partial = recorded("trace_v2_partial.json")
    step = span_detail(partial.spans[3])
    assert (step.node.name, step.status_message) == (
        "agent.step",
        "ProviderError: openai/gpt-4.1: 529 overloaded",
    )
    assert step.events[0].name == "exception"
    root = span_detail(partial.spans[0])
    assert root.status_message.startswith("all 2 models failed")
    links = build(
        trace({**span(1, None, "linked", 0, 1), "links": [{"traceId": "AQ==", "spanId": "02"}]})
    )
    assert [(link.trace_id, link.span_id) for link in span_detail(links.spans[0]).links] == [
        ("0" * 30 + "01", "02")
    ]


# --- TraceQL -------------------------------------------------------------------------------


def test_the_list_filters_become_one_spanset_filter() -> None:
    select_agent = " } | select(resource.agent.name, resource.agent.mode)"
    assert build_query() == '{ resource.agent.name =~ ".+"' + select_agent
    assert build_query(agent='say "hi"\\') == (
        '{ resource.agent.name = "say \\"hi\\"\\\\"' + select_agent
    )
    assert build_query(errors_only=True, min_duration=parse_duration("90s")) == (
        '{ resource.agent.name =~ ".+" && (status = error || span.error.type =~ ".+") '
        "&& traceDuration >= 90s" + select_agent
    )
    assert quote("plain") == '"plain"'


@pytest.mark.parametrize(
    ("text", "literal"),
    [("1h", "1h"), ("90m", "90m"), ("1h30m", "90m"), ("1.5s", "1500ms"), ("250ms", "250ms"),
     ("10us", "10us"), ("2d", "48h"), ("0s", "0s")],
)  # fmt: skip
def test_durations_parse_and_print_as_go_durations(text: str, literal: str) -> None:
    assert duration_literal(parse_duration(text)) == literal


@pytest.mark.parametrize("text", ["", "1", "1 h", "h", "1h 30m", "-1s", "1y"])
def test_what_is_not_a_duration_says_what_is(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a duration: .* \(e\.g\. 500ms"):
        parse_duration(text)


# --- text and JSON -------------------------------------------------------------------------


def test_colour_marks_failures_bars_and_partial_lines() -> None:
    lines = list(waterfall_lines(recorded("trace_v2_partial.json"), 60, color=True))
    assert lines[1].startswith("\x1b[33mPARTIAL: Trace exceeds")
    assert lines[4].startswith("\x1b[31m✗… agent.prompt")
    assert "\x1b[35m" in lines[6]  # the model call's bar
    plain = list(waterfall_lines(recorded("trace_v2_partial.json"), 60))
    assert not any("\x1b" in line for line in plain)
    errors_only = list(waterfall_lines(recorded("trace_v2.json"), 60, span_filter="errors"))
    assert len(errors_only) == 2 + 4


def test_the_json_tree_nests_children_and_stops_nesting_at_the_cap() -> None:
    chain = [span(n, n - 1 if n > 1 else None, f"d{n}", n, 1) for n in range(1, MAX_JSON_DEPTH + 5)]
    document: dict[str, Any] = tree_json(build(trace(*chain)))
    node, depth = document["spans"][0], 0
    while node["children"] and len(node["children"]) == 1:
        node, depth = node["children"][0], depth + 1
    assert depth == MAX_JSON_DEPTH - 1
    assert [c["name"] for c in node["children"]] == [f"d{n}" for n in range(MAX_JSON_DEPTH + 1, MAX_JSON_DEPTH + 5)]  # fmt: skip
    assert node["children"][1]["parentSpanId"] == f"{MAX_JSON_DEPTH + 1:016x}"
    json.dumps(document)  # and it serialises
