"""`agentops memory`: the memory service (REST API on 7437, MCP at /mcp)."""

from __future__ import annotations

import argparse
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def duration(text: str) -> timedelta:
    """`15m`, `1h30m`, `90s` -> timedelta (the Go duration subset people write)."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: use e.g. 15m, 1h or 90s")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "memory",
        help="run the memory service (REST API and MCP endpoint)",
        description="Serve agent memory over HTTP: the REST API, /openapi.json and MCP at /mcp.",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=Path(os.environ.get("MEMORY_DB_PATH", "/data/memory.db")),
        help="SQLite database file (MEMORY_DB_PATH; default /data/memory.db)",
    )
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=7437, help="port (default 7437)")
    parser.add_argument(
        "--dedup-window",
        type=duration,
        default=duration(os.environ.get("MEMORY_DEDUPE_WINDOW", "15m")),
        help="identical observations within this window are counted, not stored (default 15m)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agentops_services.httpapi.serving import serve_forever  # noqa: PLC0415
    from agentops_services.logs import configure_logging  # noqa: PLC0415
    from agentops_services.memory.server import create_app  # noqa: PLC0415
    from agentops_services.telemetry import setup_tracing  # noqa: PLC0415

    configure_logging("agentops-memory")
    setup_tracing("agentops-memory")
    app = create_app(args.db, host=args.host, dedup_window=args.dedup_window)
    serve_forever(app, args.host, args.port)
    return 0
