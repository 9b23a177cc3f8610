"""The trace explorer in Pilot, through the console's backend to a Tempo that answers with
recorded responses: the search list, a waterfall with its span filters, zoom and detail, a
partial trace said to be partial, and a failure shown rather than raised."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kubernetes_asyncio import client
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from textual.widgets import DataTable, Static

from agentops_services.kube.rest import Kube
from agentops_tui.app import AgentOpsApp
from agentops_tui.backends.cluster import ClusterBackend
from agentops_tui.screens.resource_list import ResourceListScreen
from agentops_tui.screens.traces import TraceScreen, TracesScreen
from agentops_tui.widgets.waterfall import WaterfallView
from tests.conftest import eventually
from tests.fakes.tempo import FakeTempo, serving
from tests.service.trace_store_support import run_agent_turn, running_trace_store
from tests.tui.test_console_views import SIZE
from tests.tui.test_service_access import plain

pytestmark = pytest.mark.kube


@pytest.fixture
async def tempo() -> AsyncIterator[tuple[FakeTempo, str]]:
    fake = FakeTempo()
    async with serving(fake) as url:
        yield fake, url


async def home(app: AgentOpsApp) -> None:
    assert isinstance(app.screen, ResourceListScreen)


async def drawn(app: AgentOpsApp) -> TraceScreen:
    """The trace screen once its waterfall is loaded."""
    screen = app.screen
    assert isinstance(screen, TraceScreen) and screen.waterfall is not None
    return screen


def console(kube: client.ApiClient, namespace: str, tempo_url: str) -> AgentOpsApp:
    backend = ClusterBackend(Kube(kube), "test-context", namespace, services={"tempo": tempo_url})

    async def connect(_context: str | None = None) -> ClusterBackend:
        return backend

    return AgentOpsApp(connect)


async def test_search_then_a_waterfall_with_filters_zoom_and_span_detail(
    kube: client.ApiClient, namespace: str, tempo: tuple[FakeTempo, str]
) -> None:
    fake, url = tempo
    whole = fake.add("trace_v2.json")
    app = console(kube, namespace, url)
    async with app.run_test(size=SIZE) as pilot:
        await eventually(lambda: home(app))
        await pilot.press("colon", *"traces reviewer", "enter")

        async def found() -> TracesScreen:
            screen = app.screen
            assert isinstance(screen, TracesScreen)
            assert screen.query_one("#found", DataTable).row_count == 3
            return screen

        search = await eventually(found)
        path, params = fake.asked[-1]
        assert path == "/api/search" and 'resource.agent.name = "reviewer"' in params["q"]
        table = search.query_one("#found", DataTable)
        table.move_cursor(row=table.get_row_index(whole))
        table.focus()
        await pilot.press("enter")

        trace = await eventually(lambda: drawn(app))
        view = trace.query_one(WaterfallView)
        spans = len(view.shown)
        assert spans == len(trace.waterfall.spans if trace.waterfall else []) > 1
        assert "spans" in plain(trace.query_one("#summary", Static))
        await pilot.press("t")
        assert all(s.node.category == "tool" or not s.matched for s in view.shown)
        assert len(view.shown) < spans
        await pilot.press("a", "j", "enter")
        detail = plain(trace.query_one("#span-text", Static))
        assert view.highlighted is not None and view.highlighted.node.name in detail
        whole_window = view.viewport
        await pilot.press("plus")
        assert view.viewport.width_ns < whole_window.width_ns
        await pilot.press("0")
        assert view.viewport == whole_window


async def test_a_partial_trace_says_why_and_a_missing_one_says_so(
    kube: client.ApiClient, namespace: str, tempo: tuple[FakeTempo, str]
) -> None:
    fake, url = tempo
    partial = fake.add("trace_v2_partial.json")
    app = console(kube, namespace, url)
    async with app.run_test(size=SIZE) as pilot:
        await eventually(lambda: home(app))
        app.open_trace(partial)

        async def banner() -> None:
            await pilot.pause()
            assert "PARTIAL:" in plain(app.screen.query_one("#summary", Static))

        await eventually(banner)
        await pilot.press("escape")
        app.open_trace("0" * 31 + "1")

        async def missing() -> None:
            await pilot.pause()
            assert "not in Tempo" in plain(app.screen.query_one("#summary", Static))

        await eventually(missing)


async def test_the_explorer_reads_the_embedded_trace_store(
    kube: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    """The store the platform runs on one machine, fed by the OpenTelemetry SDK's own exporter:
    the console finds the turn by agent and draws it, its failed tool call among the errors."""
    async with running_trace_store(tmp_path / "traces.db", lambda: datetime.now(UTC)) as store:
        wanted = await asyncio.to_thread(
            run_agent_turn, store.url, SimpleSpanProcessor, Compression.Gzip
        )
        app = console(kube, namespace, store.url)
        async with app.run_test(size=SIZE) as pilot:
            await eventually(lambda: home(app))
            await pilot.press("colon", *"traces triage", "enter")

            async def found() -> DataTable[object]:
                screen = app.screen
                assert isinstance(screen, TracesScreen)
                table = screen.query_one("#found", DataTable)
                assert [str(row.value) for row in table.rows] == [wanted]
                return table

            table = await eventually(found)
            table.focus()
            await pilot.press("enter")

            trace = await eventually(lambda: drawn(app))
            assert trace.trace_id == wanted
            view = trace.query_one(WaterfallView)
            assert [(s.node.depth, s.node.name) for s in view.shown][:4] == [
                (0, "agent.prompt"),
                (1, "agent.step"),
                (2, "chat claude-sonnet-4-5"),
                (2, "tool.execute: kubectl"),
            ]
            await pilot.press("e")
            failed = [s.node for s in view.shown if s.matched]
            assert [(n.name, n.status_message) for n in failed] == [
                ("tool.execute: kubectl", "exit status 1")
            ]
