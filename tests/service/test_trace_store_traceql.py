"""The TraceQL subset against a real store: every operator, intrinsic, scope and literal type
over three traces built to tell them apart, Tempo's search parameters, and queries outside the
subset answered 400 with one line naming the place."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.service.conftest import Clock
from tests.service.trace_store_support import (
    START_NS,
    S,
    TraceStoreService,
    export,
    running_trace_store,
    span,
    span_id,
    trace_id,
)

T1, T2, T3 = trace_id("1"), trace_id("2"), trace_id("3")
ALL = [T3, T2, T1]
"""Newest first, as search answers."""
MISSING_PARENT = "ff" * 8


def agent_turn() -> dict[str, object]:
    """T1: an agent's turn, 14 s, one failed tool call (the root is a server span)."""
    resource = {"service.name": "agentops-runtime", "agent.name": "triage", "agent.mode": "daemon"}
    root, prompt = span_id("1", 1), span_id("1", 2)
    return export(
        resource,
        span(T1, root, "POST /prompt/stream", kind=2, duration_ms=14_000,
             attrs={"http.response.status_code": 200}),
        span(T1, prompt, "agent.prompt", parent=root, start_ms=2, duration_ms=13_990,
             attrs={"gen_ai.operation.name": "invoke_agent"}),
        span(T1, span_id("1", 3), "chat claude-sonnet-4-5", parent=prompt, kind=3, start_ms=10,
             duration_ms=2_500, attrs={"gen_ai.request.model": "claude-sonnet-4-5",
                                       "gen_ai.usage.input_tokens": 1200, "temperature": 0.2}),
        span(T1, span_id("1", 4), "tool.execute: kubectl", parent=prompt, start_ms=2_600,
             duration_ms=600, status=2, message="exit status 1",
             attrs={"gen_ai.tool.name": "kubectl", "error.type": "ToolError", "retried": True}),
    )  # fmt: skip


def memory_lookup() -> dict[str, object]:
    """T2, a minute later: the memory service's 30 ms lookup; its inner span names a
    `service.name` of its own, which an unscoped `.service.name` must see first."""
    root = span_id("2", 1)
    return export(
        {"service.name": "agentops-memory"},
        span(T2, root, "GET /context", kind=2, start_ms=60_000, duration_ms=30, status=1,
             attrs={"http.response.status_code": 200}),
        span(T2, span_id("2", 2), "store.search", parent=root, start_ms=60_010, duration_ms=5,
             attrs={"memory.query": "rollout", "service.name": "shadow"}),
    )  # fmt: skip


def task_without_root() -> dict[str, object]:
    """T3, two minutes in: a task whose root span has not arrived; short spans of the other
    kinds."""
    resource = {"service.name": "agentops-runtime", "agent.name": "fixer", "agent.mode": "task"}
    return export(
        resource,
        span(T3, span_id("3", 1), "agent.prompt", parent=MISSING_PARENT, start_ms=120_000,
             duration_ms=812, attrs={"gen_ai.operation.name": "invoke_agent"}),
        span(T3, span_id("3", 2), "publish", parent=MISSING_PARENT, kind=4, start_ms=120_001,
             duration_ms=0.5, attrs={"messaging.system": "nats"}),
        span(T3, span_id("3", 3), "consume", parent=MISSING_PARENT, kind=5, start_ms=120_002,
             duration_ms=0.0002),
        span(T3, span_id("3", 4), "unspecified", parent=MISSING_PARENT, kind=0,
             start_ms=120_003),
    )  # fmt: skip


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def traces(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TraceStoreService]:
    """One store for the module: every test here only reads."""
    db = tmp_path_factory.mktemp("traceql") / "traces.db"
    async with running_trace_store(db, Clock()) as service:
        for document in (agent_turn(), memory_lookup(), task_without_root()):
            await service.export(document)
        yield service


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{}", ALL),
        ("{ }", ALL),
        ("", ALL),
        # name: = != =~ !~ (regular expressions match the whole name)
        ('{ name = "agent.prompt" }', [T3, T1]),
        ('{ name != "agent.prompt" }', ALL),
        ('{ name =~ "chat.*" }', [T1]),
        ('{ name =~ "chat" }', []),
        ('{ name !~ "agent\\\\..*|tool\\\\..*|chat.*|POST.*" }', [T3, T2]),
        ('{ span:name = "publish" }', [T3]),
        # status and its message
        ("{ status = error }", [T1]),
        ("{ status = ok }", [T2]),
        ("{ status = unset }", ALL),
        ("{ status != unset }", [T2, T1]),
        ("{ span:status = error }", [T1]),
        ('{ statusMessage = "exit status 1" }', [T1]),
        # kind
        ("{ kind = server }", [T2, T1]),
        ("{ kind = client }", [T1]),
        ("{ kind = producer }", [T3]),
        ("{ kind = consumer }", [T3]),
        ("{ kind = unspecified }", [T3]),
        ("{ kind = internal }", ALL),
        ("{ kind != internal }", ALL),
        ("{ span:kind = client }", [T1]),
        # duration in every unit, every ordering
        ("{ duration > 10s }", [T1]),
        ("{ duration >= 600ms }", [T3, T1]),
        ("{ duration < 1us }", [T3]),
        ("{ duration <= 500us }", [T3]),
        ("{ duration = 30ms }", [T2]),
        ("{ duration = 200ns }", [T3]),
        ("{ duration != 30ms && duration < 1h && duration > 0.2m }", [T1]),
        ("{ duration > 0.5m }", []),
        ("{ span:duration > 2.5s }", [T1]),
        # the trace's own: duration, root span and its service
        ("{ traceDuration > 10s }", [T1]),
        ("{ traceDuration < 100ms }", [T2]),
        ("{ trace:duration >= 14s }", [T1]),
        ('{ rootName = "GET /context" }', [T2]),
        ('{ rootServiceName = "agentops-runtime" }', [T1]),
        ('{ trace:rootService = "agentops-memory" }', [T2]),
        ('{ trace:rootName =~ "POST.*" }', [T1]),
        # span attributes: numbers, strings, booleans, regexes; a type mismatch never matches
        ("{ span.gen_ai.usage.input_tokens > 1000 }", [T1]),
        ("{ span.gen_ai.usage.input_tokens >= 1200 }", [T1]),
        ("{ span.gen_ai.usage.input_tokens > 1200 }", []),
        ("{ span.gen_ai.usage.input_tokens < 1200.5 }", [T1]),
        ("{ span.gen_ai.usage.input_tokens <= 1199 }", []),
        ("{ span.gen_ai.usage.input_tokens = 1200 }", [T1]),
        ("{ span.gen_ai.usage.input_tokens != 1200 }", []),
        ("{ span.temperature = 0.2 }", [T1]),
        ("{ span.temperature > -1 }", [T1]),
        ("{ span.retried = true }", [T1]),
        ("{ span.retried = false }", []),
        ("{ span.retried != true }", []),
        ('{ span.http.response.status_code = "200" }', []),
        ("{ span.http.response.status_code = 200 }", [T2, T1]),
        ('{ span.gen_ai.request.model > "claude" }', [T1]),
        ('{ span.gen_ai.request.model < "claude" }', []),
        ('{ span.gen_ai.tool.name =~ "kube.*" }', [T1]),
        ('{ span.gen_ai.tool.name !~ "kube.*" }', []),
        ("{ span.gen_ai.tool.name =~ `k[a-z]+` }", [T1]),
        # resource attributes, and unscoped ones (the span's first, then the resource's)
        ('{ resource.agent.name = "fixer" }', [T3]),
        ('{ resource.service.name = "agentops-memory" }', [T2]),
        ('{ .service.name = "shadow" }', [T2]),
        ('{ resource.service.name = "shadow" }', []),
        ('{ .agent.mode = "daemon" }', [T1]),
        # presence
        ("{ span.error.type != nil }", [T1]),
        ("{ span.error.type = nil }", ALL),
        ("{ .agent.name = nil }", [T2]),
        # && and || on one span, parentheses
        ('{ span.gen_ai.tool.name = "kubectl" && kind = client }', []),
        ('{ span.gen_ai.tool.name = "kubectl" || kind = producer }', [T3, T1]),
        ('{ (kind = producer || kind = consumer) && name = "publish" }', [T3]),
        ('{ resource.agent.name = "triage" && (status = error || span.error.type =~ ".+") }', [T1]),
        # && and || between spansets, grouped
        ('{ span.gen_ai.tool.name = "kubectl" } && { kind = client }', [T1]),
        ("{ kind = producer } || { status = ok }", [T3, T2]),
        ("{ kind = producer } && { status = ok }", []),
        ('({ kind = producer } && { status = error }) || { rootName = "GET /context" }', [T2]),
        ("{ kind = server } && ({ status = ok } || { span.retried = true })", [T2, T1]),
    ],
)
async def test_traceql(traces: TraceStoreService, query: str, expected: list[str]) -> None:
    assert await traces.found_ids(query) == expected


async def test_the_console_query_with_every_filter_finds_the_failed_long_turn(
    traces: TraceStoreService,
) -> None:
    """What the console sends for agent + errors + minimum duration, verbatim."""
    query = (
        '{ resource.agent.name = "triage" && (status = error || span.error.type =~ ".+") && '
        "traceDuration >= 1500ms } | select(resource.agent.name, resource.agent.mode)"
    )
    [found] = (await traces.search(query))["traces"]
    assert found["traceID"] == T1.lstrip("0")
    assert found["spanSet"]["matched"] == 1
    [matched] = found["spanSet"]["spans"]
    assert matched["name"] == "tool.execute: kubectl"
    assert matched["attributes"] == [
        {"key": "agent.name", "value": {"stringValue": "triage"}},
        {"key": "error.type", "value": {"stringValue": "ToolError"}},
        {"key": "agent.mode", "value": {"stringValue": "daemon"}},
    ]


async def test_matched_spans_are_those_of_the_filters_that_made_the_match(
    traces: TraceStoreService,
) -> None:
    """A filter on a losing side of || contributes no spans, even where it matched some."""
    found = await traces.search(
        "({ kind = producer } && { status = error }) || { kind = consumer }"
    )
    [trace] = found["traces"]
    assert trace["spanSet"]["matched"] == 1
    assert [s["name"] for s in trace["spanSet"]["spans"]] == ["consume"]

    both = await traces.search('{ span.gen_ai.tool.name = "kubectl" } && { kind = client }')
    [trace] = both["traces"]
    assert trace["spanSet"]["matched"] == 2
    assert [s["name"] for s in trace["spanSet"]["spans"]] == [
        "chat claude-sonnet-4-5",
        "tool.execute: kubectl",
    ]


async def test_an_unscoped_attribute_reads_the_span_before_the_resource(
    traces: TraceStoreService,
) -> None:
    unscoped = await traces.search('{ .service.name = "agentops-memory" }')
    scoped = await traces.search('{ resource.service.name = "agentops-memory" }')
    assert unscoped["traces"][0]["spanSet"]["matched"] == 1  # store.search says "shadow"
    assert scoped["traces"][0]["spanSet"]["matched"] == 2


async def test_select_brings_attributes_and_intrinsics_into_matched_spans(
    traces: TraceStoreService,
) -> None:
    found = await traces.search(
        '{ name = "tool.execute: kubectl" } | select(span.gen_ai.tool.name, resource.agent.name)'
        " | select(status, kind, span.absent)"
    )
    [matched] = found["traces"][0]["spanSet"]["spans"]
    assert matched["attributes"] == [
        {"key": "gen_ai.tool.name", "value": {"stringValue": "kubectl"}},
        {"key": "agent.name", "value": {"stringValue": "triage"}},
        {"key": "status", "value": {"stringValue": "error"}},
        {"key": "kind", "value": {"stringValue": "internal"}},
    ]
    assert matched["durationNanos"] == str(600_000_000)
    assert matched["spanID"] == span_id("1", 4)
    numbers = await traces.search(
        "{ span.gen_ai.usage.input_tokens > 0 } | select(span.temperature)"
    )
    assert numbers["traces"][0]["spanSet"]["spans"][0]["attributes"] == [
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1200"}},
        {"key": "temperature", "value": {"doubleValue": 0.2}},
    ]


async def test_summaries_say_when_the_root_has_not_arrived(traces: TraceStoreService) -> None:
    found = {t["traceID"].rjust(32, "0"): t for t in (await traces.search("{}"))["traces"]}
    assert found[T3]["rootServiceName"] == "<root span not yet received>"
    assert "rootTraceName" not in found[T3]
    assert found[T3]["serviceStats"] == {"agentops-runtime": {"spanCount": 4}}
    assert found[T1]["serviceStats"] == {"agentops-runtime": {"spanCount": 4, "errorCount": 1}}
    assert (found[T1]["durationMs"], found[T2]["durationMs"]) == (14_000, 30)
    assert found[T2]["startTimeUnixNano"] == str(START_NS + 60 * S)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"limit": "1"}, [T3]),
        ({"limit": "2"}, [T3, T2]),
        ({"end": str(START_NS // S + 30)}, [T1]),
        ({"start": str(START_NS // S + 100)}, [T3]),
        ({"start": str(START_NS // S + 50), "end": str(START_NS // S + 70)}, [T2]),
        ({"minDuration": "10s"}, [T1]),
        ({"maxDuration": "100ms"}, [T2]),
        ({"minDuration": "100ms", "maxDuration": "1s"}, [T3]),
        ({"q": "", "tags": "service.name=agentops-memory"}, [T2]),
        ({"q": "", "tags": "http.response.status_code=200"}, [T2, T1]),
        ({"q": "", "tags": 'name="GET /context"'}, [T2]),
        ({"q": "", "tags": "status.code=error"}, [T1]),
        ({"q": "", "tags": "error=true service.name=agentops-runtime"}, [T1]),
        ({"q": "", "tags": "agent.name=triage agent.mode=task"}, []),
    ],
)
async def test_search_parameters(
    traces: TraceStoreService, params: dict[str, str], expected: list[str]
) -> None:
    query = params.pop("q", "{}")
    assert await traces.found_ids(query, **params) == expected


async def test_spans_per_set_caps_the_spans_but_not_the_count(traces: TraceStoreService) -> None:
    found = await traces.search("{ kind != server }", spss=1)
    by_id = {t["traceID"].rjust(32, "0"): t["spanSet"] for t in found["traces"]}
    assert [(len(s["spans"]), s["matched"]) for s in (by_id[T1], by_id[T3])] == [(1, 3), (1, 4)]
    assert found["metrics"]["inspectedTraces"] == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ nonsense }", "line 1, col 3: unexpected 'nonsense', expected an attribute"),
        ('{ .a = "x" } > { .b = 1 }', "col 14: structural operator '>' is not supported"),
        ("{ .a = 1 } >> { .b = 1 }", "col 12: structural operator '>>' is not supported"),
        ("{ .a = 1 } ~ { .b = 1 }", "col 12: structural operator '~' is not supported"),
        ("{ .a = 1 } | count() > 2", "col 14: pipeline stage 'count' is not supported"),
        ("{ .a = 1 } | by(.b)", "col 14: pipeline stage 'by' is not supported"),
        ('{ status = "error" }', "col 12: status compares with one of unset, ok, error"),
        ("{ kind > client }", "col 8: kind takes only = and !="),
        ("{ duration > 100 }", "col 14: duration compares with a duration such as 100ms"),
        ("{ name = 3 }", "col 10: name compares with a string"),
        ("{ .a = error }", "col 8: error compares only with status"),
        ("{ span.x > 10ms }", "col 12: 10ms compares only with duration or traceDuration"),
        ("{ .a =~ 5 }", "col 9: =~ takes a string (a regular expression)"),
        ('{ .a =~ "(" }', "col 9: invalid regular expression: missing )"),
        ("{ .a > true }", "col 6: > does not apply to true"),
        ("{ duration > 5parsecs }", "col 14: invalid duration '5parsecs'"),
        ('{ event.name = "x" }', "col 3: the event. scope is not supported"),
        ('{ link.x = "x" }', "col 3: the link. scope is not supported"),
        ('{ span."quoted name" = 1 }', "col 8: quoted attribute names are not supported"),
        ("{ span:id = 1 }", "col 3: unknown intrinsic 'span:id'"),
        ("{ !(.a = 1) }", "col 3: negation (!) is not supported"),
        ("{ .a + 1 = 2 }", "col 6: arithmetic is not supported"),
        ('{ .a = "x }', "col 8: unterminated string"),
        ('{ .a = "\\q" }', "col 9: unknown escape \\q in string"),
        ("{ .a = 1", "col 9: unexpected end of query, expected '}', && or ||"),
        ("{ .a = 1 } &&", "col 14: unexpected end of query, expected '{'"),
        ("{ .a = 1 } { .b = 2 }", "col 12: unexpected '{', expected &&, || or | after a spanset"),
        (".a = 1", "col 1: unexpected '.a', expected '{'"),
        ("{ .a = 1 }\n| select(status, )", "line 2, col 18: unexpected ')', expected an attribute"),
        ("{ .a = }", "col 8: unexpected '}', expected a value"),
        ("{ .a @ 1 }", "col 6: unexpected character '@'"),
        ("(" * 40 + "{}" + ")" * 40, "nested deeper than 32 levels"),
        ("{ " + " && ".join([".a = 1"] * 200) + " }", "more than 128 conditions"),
        ('{ .a = "' + "x" * 9000 + '" }', "invalid TraceQL query: longer than 8192 characters"),
    ],
)
async def test_a_query_outside_the_subset_is_a_400_naming_the_place(
    traces: TraceStoreService, query: str, message: str
) -> None:
    response = await traces.http.get("/api/search", params={"q": query})
    assert response.status_code == 400
    assert response.text.startswith("invalid TraceQL query: ")
    assert message in response.text, response.text
    assert response.text.count("\n") == 1
