"""`agentops chat AGENT PROMPT`: one turn with a daemon agent, streamed to stdout.

The runtime is reached at `--url`, else the way the console reaches it: with no cluster
configured, on the embedded platform running on this machine (its data dir's platform.json);
else through the cluster (a configured URL, a port-forward to its pod, or the API server's
service proxy: agentops_tui's ServiceAccess), with no informers started: one command, one
agent. The printing and the answers to the agent's
questions are agentops_tui.services.chat.headless's. Exit status: 0 the turn finished, 1 it
failed, 2 a usage or connection error, each said in one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from agentops_services.cli.console import add_cluster_arguments, current_context

if TYPE_CHECKING:
    import httpx

EXIT_USAGE = 2


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"{value!r} is not an http:// or https:// URL")
    return value.rstrip("/")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="send one prompt to a daemon agent and stream the turn",
        description=(
            "Send one prompt to a daemon Agent and print the turn as it streams: the answer, "
            "and each tool call as one line (--json: every FEP event as one JSON line). A "
            "permission request or question is asked on the terminal; without one (stdin not "
            "a TTY) the permission is denied and the question left unanswered. Exits 0 when "
            "the turn finished, 1 when it failed, 2 on a usage or connection error."
        ),
    )
    parser.add_argument("agent", help="the daemon Agent's name")
    parser.add_argument("prompt", help="what to say")
    parser.add_argument("--json", action="store_true", help="print one FEP event per line")
    parser.add_argument(
        "--url", type=_url, help="the runtime's URL (then no cluster is asked for the way to it)"
    )
    add_cluster_arguments(parser)
    parser.set_defaults(run=run)


@contextlib.asynccontextmanager
async def _runtime(args: argparse.Namespace) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the agent's runtime: `--url`, or through the cluster."""
    import httpx  # noqa: PLC0415

    from agentops_tui.services.chat.client import REQUEST_TIMEOUT  # noqa: PLC0415

    if args.url:
        async with httpx.AsyncClient(base_url=args.url, timeout=REQUEST_TIMEOUT) as http:
            yield http
        return
    from agentops_services.cli.console import has_cluster  # noqa: PLC0415

    if not has_cluster(args):
        async with _embedded_runtime(args.agent) as http:
            yield http
        return
    from agentops_services.kube.client import api_client  # noqa: PLC0415
    from agentops_services.kube.resources import AGENT  # noqa: PLC0415
    from agentops_services.kube.rest import Kube  # noqa: PLC0415
    from agentops_tui.backends.base import ServiceRef  # noqa: PLC0415
    from agentops_tui.backends.service_access import ServiceAccess  # noqa: PLC0415
    from agentops_tui.config import default_config  # noqa: PLC0415
    from agentops_tui.services.chat.client import ChatError  # noqa: PLC0415

    namespace = args.namespace or current_context(args.kubeconfig, args.context)[1]
    async with await api_client(args.kubeconfig, args.context) as api:
        kube = Kube(api)
        agent = await kube.get(AGENT, namespace, args.agent)
        if agent is None:
            raise ChatError(f"no Agent {args.agent} in namespace {namespace}")
        if (agent.get("spec") or {}).get("mode") == "task":
            raise ChatError(
                f"Agent {args.agent} is a task agent: it runs as AgentRuns and has no runtime "
                "to chat with"
            )
        access = ServiceAccess(kube, namespace, env=os.environ, config=default_config()[0].services)
        try:
            yield await access.client(ServiceRef.runtime(args.agent))
        finally:
            await access.close()


@contextlib.asynccontextmanager
async def _embedded_runtime(agent: str) -> AsyncIterator[httpx.AsyncClient]:
    """The agent's runtime on the embedded platform running on this machine's data dir (as
    the console reaches it); a clear error when none runs or the agent has no runtime."""
    from agentops_services.local.client import PlatformClient  # noqa: PLC0415
    from agentops_services.local.errors import NotFoundError, PlatformError  # noqa: PLC0415
    from agentops_services.local.paths import DataDir  # noqa: PLC0415
    from agentops_services.local.platform_record import running_platform  # noqa: PLC0415
    from agentops_tui.backends.base import BackendError, ServiceRef  # noqa: PLC0415
    from agentops_tui.backends.local_services import LoopbackServices  # noqa: PLC0415
    from agentops_tui.services.chat.client import ChatError  # noqa: PLC0415

    data = DataDir.locate()
    running = await running_platform(data.platform_file)
    if running is None:
        raise ChatError(
            f"no cluster is configured and no embedded platform runs on {data.root}: start one "
            "with `agentops serve` (or give --url)"
        )
    async with PlatformClient(running.url) as platform:
        try:
            found = await platform.get("Agent", agent)
        except NotFoundError:
            raise ChatError(f"no Agent {agent} on the embedded platform") from None
        except PlatformError as exc:
            raise ChatError(exc.message) from None
    if (found.get("spec") or {}).get("mode") == "task":
        raise ChatError(
            f"Agent {agent} is a task agent: it runs as AgentRuns and has no runtime to chat with"
        )
    services = LoopbackServices(running.url)
    try:
        yield await services.client(ServiceRef.runtime(agent))
    except BackendError as exc:
        raise ChatError(str(exc)) from None
    finally:
        await services.close()


async def _chat(args: argparse.Namespace) -> int:
    from agentops_tui.services.chat.client import ChatClient, ChatError  # noqa: PLC0415
    from agentops_tui.services.chat.headless import (  # noqa: PLC0415
        link_reporter,
        nobody,
        run_turn,
        terminal_asker,
    )

    ask = terminal_asker(sys.stdin, sys.stderr) if sys.stdin.isatty() else nobody
    async with _runtime(args) as http:
        client = ChatClient(http, on_link=link_reporter(sys.stderr))
        try:
            return await run_turn(
                client, args.prompt, as_json=args.json, ask=ask, out=sys.stdout, err=sys.stderr
            )
        except asyncio.CancelledError:
            # Ctrl-C: the turn runs detached from this stream, so it must be aborted for real.
            with contextlib.suppress(ChatError):
                await client.abort()
            print("\nagentops chat: interrupted; the turn was aborted", file=sys.stderr)
            raise


def run(args: argparse.Namespace) -> int:
    import aiohttp  # noqa: PLC0415
    from kubernetes_asyncio.config import ConfigException  # noqa: PLC0415

    from agentops_services.kube.client import KubeconfigError  # noqa: PLC0415
    from agentops_services.kube.rest import KubeError  # noqa: PLC0415
    from agentops_tui.services.chat.client import ChatError  # noqa: PLC0415

    try:
        return asyncio.run(_chat(args))
    except (ChatError, KubeconfigError, ConfigException) as exc:
        problem = str(exc)
    except KubeError as exc:
        problem = f"the API server refused: {exc.message}"
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        problem = f"cannot reach the cluster: {exc or type(exc).__name__}"
    print(f"agentops chat: {problem}", file=sys.stderr)
    return EXIT_USAGE
