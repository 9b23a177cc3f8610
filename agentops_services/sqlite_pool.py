"""SQLite connections that each run on a thread of their own, for services' stores.

A store's operations are units of plain sqlite3 code (`unit(connection, *args)`), each run on
a connection's thread in one hop: aiosqlite's own methods hop once per statement, about 150 µs
each, while a statement takes a few µs, and a scan holds no event loop. A pool hands each unit
a free connection (waiting for one when all are busy), so readers proceed in parallel under
WAL; a pool of one is a store's single writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")


async def on_thread(connection: aiosqlite.Connection, unit: Callable[..., T], *args: Any) -> T:
    """`unit(sqlite3_connection, *args)` on the connection's thread, in one hop (`_execute` is
    the primitive aiosqlite's methods share)."""
    result: T = await connection._execute(unit, connection._conn, *args)  # type: ignore[no-untyped-call]
    return result


class ConnectionPool:
    """`size` connections to one database file, each set up by `configure` on its thread."""

    def __init__(
        self, path: Path, size: int, configure: Callable[[sqlite3.Connection], None]
    ) -> None:
        self.path = path
        self.size = size
        self.configure = configure
        self._free: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all: list[aiosqlite.Connection] = []

    async def open(self) -> None:
        for _ in range(self.size):
            connection = await aiosqlite.connect(self.path, isolation_level=None)
            self._all.append(connection)
            await on_thread(connection, self.configure)
            self._free.put_nowait(connection)

    async def close(self) -> None:
        for connection in self._all:
            await connection.close()
        self._all.clear()
        self._free = asyncio.Queue()

    async def run(self, unit: Callable[..., T], *args: Any) -> T:
        """`unit` on the next free connection; RuntimeError when the pool is not open."""
        if not self._all:
            raise RuntimeError(f"{self.path.name} is not open")
        connection = await self._free.get()
        try:
            return await on_thread(connection, unit, *args)
        finally:
            self._free.put_nowait(connection)
