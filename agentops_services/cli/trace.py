"""`agentops trace`: a trace's waterfall, or the traces found, on stdout, without the console.

    agentops trace TRACE_ID [--width N] [--json]
    agentops trace --search [--agent A] [--errors] [--min-duration 1s] [--since 1h] [--json]

Tempo is reached at `--url`, else `TEMPO_URL` or the config file's `[services] tempo`, else
where the namespace's `agentops-platform` ConfigMap says (its `tempoURL`, or its
`tempoService`, perhaps in another namespace; without it the `tempo` Service of the
namespace), through the cluster as the console reaches it: a port-forward to the Service, or
the API server's service proxy. Exit 0; 1 when the trace is not in Tempo; 2 for
a usage or connection problem, always with one line on stderr, never a traceback, so scripts
and CI can tell the three apart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from agentops_services.cli.console import add_cluster_arguments, current_context

if TYPE_CHECKING:
    import httpx

    from agentops_tui.services.traces.client import TempoClient

PROG = "agentops trace"
DEFAULT_WIDTH = 120
"""Columns when stdout is not a terminal and COLUMNS is not set."""
_SEARCH_ONLY = ("agent", "errors", "min_duration", "traceql")


def _duration(text: str) -> timedelta:
    from agentops_tui.services.traces.traceql import parse_duration  # noqa: PLC0415

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not within {low} to {high}")
        return value

    return parse


def _width(text: str) -> int:
    from agentops_tui.services.traces.layout import MIN_WIDTH  # noqa: PLC0415

    return _bounded(MIN_WIDTH, 1000)(text)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "trace",
        help="print a trace's waterfall from Tempo, or search traces",
        description=(
            "Print a trace's spans as a waterfall (name, duration, time bar), or with --search "
            "list the traces agents made. Tempo: --url, else TEMPO_URL or the config file's "
            "[services] tempo, else where the namespace's agentops-platform ConfigMap says "
            "(tempoURL, tempoService), else the `tempo` Service of the namespace, through the "
            "cluster. "
            "Exit 1 when the trace is not found, 2 on a usage or connection problem."
        ),
    )
    parser.add_argument("trace_id", nargs="?", metavar="TRACE_ID", help="up to 32 hex digits")
    parser.add_argument("--search", action="store_true", help="list traces instead")
    parser.add_argument("--agent", help="with --search: only this Agent's traces")
    parser.add_argument("--errors", action="store_true", help="with --search: only failed ones")
    parser.add_argument(
        "--min-duration", type=_duration, metavar="DURATION", help="with --search: e.g. 1s, 500ms"
    )
    parser.add_argument(
        "--since",
        type=_duration,
        default=timedelta(hours=1),
        metavar="DURATION",
        help="with --search: how far back (default 1h; e.g. 15m, 24h, 3d)",
    )
    parser.add_argument(
        "--limit", type=_bounded(1, 1000), default=50, help="with --search: at most (default 50)"
    )
    parser.add_argument("--traceql", metavar="QUERY", help="with --search: a query of your own")
    parser.add_argument("--width", type=_width, help="columns (default: the terminal's, else 120)")
    parser.add_argument("--json", action="store_true", help="print JSON (the span tree)")
    parser.add_argument("--url", help="Tempo's base URL (default: TEMPO_URL, then the cluster)")
    add_cluster_arguments(parser)
    parser.set_defaults(run=run)


def _usage_problem(args: argparse.Namespace) -> str | None:
    if args.search == bool(args.trace_id):
        return "give a TRACE_ID, or --search"
    if args.trace_id and any(getattr(args, name) for name in _SEARCH_ONLY):
        return "--agent, --errors, --min-duration and --traceql go with --search"
    if args.traceql and (args.agent or args.errors or args.min_duration):
        return "--traceql replaces --agent, --errors and --min-duration; give one or the other"
    return None


def _fail(message: str, code: int = 2) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    problem = _usage_problem(args)
    if problem:
        return _fail(problem)
    try:
        return asyncio.run(_run(args))
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


async def _run(args: argparse.Namespace) -> int:
    from agentops_tui.services.traces.client import (  # noqa: PLC0415
        TempoClient,
        TraceNotFoundError,
    )

    try:
        async with _tempo(args) as http:
            client = TempoClient(http)
            return await (_search(client, args) if args.search else _show(client, args))
    except TraceNotFoundError as exc:
        return _fail(str(exc), 1)
    except BrokenPipeError:
        raise
    except Exception as exc:  # one line for any failure on the way to Tempo, never a traceback
        return _fail(next(iter(str(exc).strip().splitlines()), type(exc).__name__))


@contextlib.asynccontextmanager
async def _tempo(args: argparse.Namespace) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on Tempo: a URL given, else the console's route through the cluster."""
    import httpx  # noqa: PLC0415

    from agentops_tui.backends.base import ServiceRef  # noqa: PLC0415
    from agentops_tui.backends.service_access import override_url  # noqa: PLC0415
    from agentops_tui.config import default_config  # noqa: PLC0415

    config, problem = default_config()
    if problem:
        print(f"{PROG}: {problem} (ignored)", file=sys.stderr)
    ref = ServiceRef.tempo()
    url = args.url or override_url(ref, args.namespace or "", os.environ, config.services)
    if url:
        async with httpx.AsyncClient(base_url=url.rstrip("/")) as http:
            yield http
        return
    async with _cluster_route(args, config.services) as http:
        yield http


@contextlib.asynccontextmanager
async def _cluster_route(
    args: argparse.Namespace, services: Mapping[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """Tempo where the namespace's `agentops-platform` ConfigMap says (its tempoURL, else its
    tempoService; without it the namespace's `tempo` Service), as the console reaches it
    (port-forward, else the API server's service proxy)."""
    from agentops_services.kube.client import api_client  # noqa: PLC0415
    from agentops_services.kube.rest import Kube  # noqa: PLC0415
    from agentops_tui.backends.platform_discovery import discover  # noqa: PLC0415
    from agentops_tui.backends.service_access import ServiceAccess  # noqa: PLC0415
    from agentops_tui.services.folder_problems import problem_line  # noqa: PLC0415

    api = await api_client(args.kubeconfig, args.context)
    try:
        namespace = args.namespace or current_context(args.kubeconfig, args.context)[1]
        kube = Kube(api)
        discovery = await discover(kube, namespace)
        for problem in discovery.problems:
            print(f"{PROG}: {problem_line(problem)}", file=sys.stderr)
        access = ServiceAccess(kube, namespace, env=os.environ, config=services)
        try:
            yield await access.client(discovery.services.tempo)
        finally:
            await access.close()
    finally:
        await api.close()


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _print_lines(lines: Iterable[str]) -> None:
    sys.stdout.writelines(line + "\n" for line in lines)
    sys.stdout.flush()


async def _show(client: TempoClient, args: argparse.Namespace) -> int:
    from agentops_tui.services.traces.layout import MIN_WIDTH  # noqa: PLC0415
    from agentops_tui.services.traces.text import tree_json, waterfall_lines  # noqa: PLC0415

    waterfall = await client.trace(args.trace_id)
    if args.json:
        _print_lines([json.dumps(tree_json(waterfall), indent=2, ensure_ascii=False)])
    else:
        width = args.width or shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
        _print_lines(waterfall_lines(waterfall, max(width, MIN_WIDTH), color=_color()))
    return 0


async def _search(client: TempoClient, args: argparse.Namespace) -> int:
    from agentops_tui.services.traces.text import search_json, search_lines  # noqa: PLC0415

    found = await client.search(
        agent=args.agent,
        since=args.since,
        min_duration=args.min_duration,
        errors_only=args.errors,
        traceql=args.traceql,
        limit=args.limit,
    )
    if args.json:
        _print_lines([json.dumps(search_json(found), indent=2)])
    elif found:
        _print_lines(search_lines(found, color=_color()))
    else:
        print(f"{PROG}: no traces found", file=sys.stderr)
    return 0
