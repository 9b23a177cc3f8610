"""The trace store application: the OTLP/HTTP receiver and Tempo's query API on one port.

Tempo's monolithic port is 3200 and OTLP/HTTP's is 4318; `agentops traces` serves this one
app on both, so the services' exporters and the console each find it where they look.
The store does not trace itself: its spans would be exported to itself, for ever.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette

from agentops_services.traces.http import (
    MAX_PENDING_EXPORTS,
    MAX_REQUEST_BYTES,
    SEARCH_TIMEOUT,
    TraceApi,
)
from agentops_services.traces.store import Retention, TraceStore

DEFAULT_PORT = 3200
OTLP_PORT = 4318


def create_app(
    db_path: Path,
    *,
    retention: Retention | None = None,
    store: TraceStore | None = None,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    max_pending_exports: int = MAX_PENDING_EXPORTS,
    search_timeout: float = SEARCH_TIMEOUT,
) -> Starlette:
    """The ASGI app; the store opens and closes with the app's lifespan."""
    store = store or TraceStore(db_path, retention=retention)
    api = TraceApi(
        store,
        max_request_bytes=max_request_bytes,
        max_pending_exports=max_pending_exports,
        search_timeout=search_timeout,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await store.open()
        try:
            yield
        finally:
            await store.close()

    return Starlette(routes=api.routes(), lifespan=lifespan)
