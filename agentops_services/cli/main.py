"""`agentops`: the entry point that dispatches to subcommands.

Each subcommand module registers its arguments cheaply and imports what it needs only when it
runs, so `agentops --version` is instant and no command pays for another's imports.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from agentops_services import __version__
from agentops_services.cli import (
    chat,
    console,
    crds,
    mcp_gateway,
    memory,
    operator,
    runtime,
    serve,
    testenv,
    trace,
    traces,
    validate,
)

Command = Callable[[argparse.Namespace], int]

_SUBCOMMANDS = (
    console,
    serve,
    chat,
    crds,
    validate,
    operator,
    runtime,
    memory,
    mcp_gateway,
    testenv,
    trace,
    traces,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentops",
        description="A Kubernetes-native platform for AI agents, driven from the terminal.",
    )
    parser.add_argument("--version", action="version", version=f"agentops {__version__}")
    console.add_arguments(parser)  # `agentops` alone opens the console
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Command = getattr(args, "run", console.run)
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
