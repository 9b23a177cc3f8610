"""`agentops serve`: the embedded platform without the console (for scripts, and for consoles
to attach to: `agentops console --embedded`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TYPE_CHECKING, Any

from agentops_services.cli.console import add_data_dir_arguments

if TYPE_CHECKING:
    from agentops_services.local.paths import DataDir

EXIT_PROBLEM = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the embedded platform (agents, memory, traces) on this machine",
        description=(
            "Run agents from a folder of resource YAML as local processes, with the memory "
            "service and the trace store on loopback, and the platform API consoles attach to. "
            "The first run writes sample resources for the model found on this machine (or an "
            "offline demo). Stops on Ctrl-C or SIGTERM."
        ),
    )
    add_data_dir_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=7400, help="the platform API's port (default 7400; 0: any)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agentops_services.local.paths import DataDir  # noqa: PLC0415
    from agentops_services.logs import configure_logging  # noqa: PLC0415

    configure_logging("agentops-platform")
    data = DataDir.locate(args.data_dir, args.resources)
    try:
        return asyncio.run(_serve(data, args.host, args.port))
    except KeyboardInterrupt:
        return 0


async def _serve(data: DataDir, host: str, port: int) -> int:
    from agentops_services.local.first_run import FirstRunReport  # noqa: PLC0415
    from agentops_services.local.object_db import StoreFileError  # noqa: PLC0415
    from agentops_services.local.platform import serve  # noqa: PLC0415
    from agentops_services.local.platform_record import running_platform  # noqa: PLC0415
    from agentops_services.local.secrets_file import SecretsFileError  # noqa: PLC0415

    running = await running_platform(data.platform_file)
    if running is not None:
        print(f"A platform is already running at {running.url} (pid {running.pid}).")
        return EXIT_PROBLEM

    def started(url: str, report: FirstRunReport) -> None:
        print(f"AgentOps platform at {url}  (data: {data.root}, resources: {data.resources})")
        print(report.summary(), flush=True)

    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await serve(data, host=host, port=port, started=started)
    except (SecretsFileError, StoreFileError, OSError) as exc:  # also: the port is taken
        print(f"agentops serve: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    except asyncio.CancelledError:
        with contextlib.suppress(ValueError):
            loop.remove_signal_handler(signal.SIGINT)
        return 0
    return 0
