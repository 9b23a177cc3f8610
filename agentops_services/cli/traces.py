"""`agentops traces`: the embedded trace store (OTLP/HTTP receiver and Tempo's query API)."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from agentops_services.cli.memory import duration

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}


def size(text: str) -> int:
    """`1073741824`, `512MiB`, `2GB`, `1.5G` -> bytes (KiB/MiB/GiB binary, KB/MB/GB decimal)."""
    match = _SIZE.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: use e.g. 512MiB, 2GB or bytes")
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    scale = 1024 ** "bkmgt".index(unit[0]) if "i" in unit else _UNITS[unit[:1]]
    value = int(number * scale)
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: must be at least 1 byte")
    return value


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "traces",
        help="run the embedded trace store (OTLP receiver and Tempo-compatible query API)",
        description=(
            "Keep traces in a SQLite file: receive OTLP/HTTP at /v1/traces (protobuf or JSON) "
            "and answer Tempo's query API (/api/search with TraceQL, /api/v2/traces/<id>) on "
            "--port; the receiver also listens on --otlp-port."
        ),
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=Path(os.environ.get("TRACES_DB_PATH", "/data/traces.db")),
        help="SQLite database file (TRACES_DB_PATH; default /data/traces.db)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3200, help="port (default 3200, Tempo's)")
    parser.add_argument(
        "--otlp-port",
        type=int,
        default=4318,
        help="another port for the same API, OTLP/HTTP's (default 4318; 0: --port only)",
    )
    retention = (
        ("--max-age", duration, "24h", "delete traces not written to for this long"),
        ("--max-spans", positive, "1000000", "delete the oldest traces beyond this many spans"),
        ("--max-bytes", size, "1GiB", "delete the oldest traces beyond this much stored"),
        ("--max-trace-bytes", size, "50MiB", "refuse spans of one trace beyond this (Tempo's)"),
    )
    for flag, kind, default, meaning in retention:  # argparse converts a text default too
        parser.add_argument(flag, type=kind, default=default, help=f"{meaning} (default {default})")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agentops_services.httpapi.serving import serve_forever  # noqa: PLC0415
    from agentops_services.logs import configure_logging  # noqa: PLC0415
    from agentops_services.traces.server import create_app  # noqa: PLC0415
    from agentops_services.traces.store import Retention  # noqa: PLC0415

    configure_logging("agentops-traces")
    retention = Retention(
        max_age=args.max_age,
        max_spans=args.max_spans,
        max_bytes=args.max_bytes,
        max_trace_bytes=args.max_trace_bytes,
    )
    app = create_app(args.db, retention=retention)
    extra = (args.otlp_port,) if args.otlp_port else ()
    serve_forever(app, args.host, args.port, also_on=extra)
    return 0
