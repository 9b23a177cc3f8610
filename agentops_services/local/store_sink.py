"""The object store as the place local runtimes report to (`status.StatusSink`).

What the operator does with the API server, done with the store: a status is written whole (the
runtimes' `StatusBook` already merged it); a run a schedule fired is created with the store as
its only home, like a console's run, and left alone when it exists (its name stands for the
fire time). A status for an object deleted meanwhile is dropped, as the API server's 404 is
by the operator; one that does not fit the schema is logged, never raised into the runtime's
loop.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from agentops_services.local.errors import ConflictError, InvalidObjectError, NotFoundError
from agentops_services.local.objects import API_SOURCE, ObjectStore

LOG = logging.getLogger(__name__)


class StoreStatusSink:
    """A `StatusSink` over one object store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    async def agent_status(self, name: str, status: Mapping[str, Any]) -> None:
        await self._write("Agent", name, status)

    async def run_status(self, name: str, status: Mapping[str, Any]) -> None:
        await self._write("AgentRun", name, status)

    async def create_run(self, manifest: Mapping[str, Any]) -> None:
        with contextlib.suppress(ConflictError):  # made at an earlier fire of the same time
            await self.store.create(manifest, source=API_SOURCE)

    async def _write(self, kind: str, name: str, status: Mapping[str, Any]) -> None:
        try:
            await self.store.replace_status(kind, name, status)
        except NotFoundError:
            LOG.debug("%s %s is gone: its status is dropped", kind, name)
        except InvalidObjectError as exc:
            LOG.error("the status of %s %s was refused: %s", kind, name, exc.message)
