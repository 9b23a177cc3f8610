"""`agentops` without a subcommand (or `agentops console`): the terminal console.

With a kubeconfig and a current context it runs in cluster mode (an unreachable cluster is an
error, not a reason to switch). `--embedded`, or no kubeconfig / no current context, is the
embedded platform: the one running on the data dir, else `agentops serve` started for as long
as the console runs (see local/launcher.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

CLUSTER_CHECK_TIMEOUT = 5.0


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """--kubeconfig, --context and --namespace, as every command that talks to a cluster
    takes them."""
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: KUBECONFIG)")
    parser.add_argument("--context", help="kubeconfig context")
    parser.add_argument("--namespace", "-n", help="namespace (default: the context's)")


def add_data_dir_arguments(parser: argparse.ArgumentParser, note: str = "") -> None:
    """--data-dir and --resources, as every command that runs or finds the embedded platform
    takes them (`note` starts their help)."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"{note}the platform's data dir (AGENTOPS_DATA_DIR; default $XDG_DATA_HOME/agentops)",
    )
    parser.add_argument(
        "--resources",
        type=Path,
        help=f"{note}the resource folder (default: resources/ in the data dir)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cluster_arguments(parser)
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="use the embedded platform on this machine (the default without a kubeconfig)",
    )
    add_data_dir_arguments(parser, "embedded: ")
    parser.add_argument("--readonly", action="store_true", help="hide every action that writes")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("console", help="the terminal console (the default command)")
    add_arguments(parser)
    parser.set_defaults(run=run)


def current_context(kubeconfig: str | None, context: str | None) -> tuple[str, str]:
    """The context's name and namespace from the kubeconfig."""
    from kubernetes_asyncio.config import list_kube_config_contexts  # noqa: PLC0415

    contexts, active = list_kube_config_contexts(kubeconfig)
    current = next((c for c in contexts if c["name"] == context), active) if context else active
    return current["name"], current["context"].get("namespace") or "default"


async def _reachable(args: argparse.Namespace) -> tuple[str, str]:
    """The context and namespace to show, once the API server has answered."""
    from agentops_services.kube.client import api_client  # noqa: PLC0415
    from agentops_services.kube.resources import NAMESPACE  # noqa: PLC0415
    from agentops_services.kube.rest import Kube  # noqa: PLC0415

    context, namespace = current_context(args.kubeconfig, args.context)
    async with await api_client(args.kubeconfig, args.context) as api:
        await asyncio.wait_for(Kube(api).list(NAMESPACE), CLUSTER_CHECK_TIMEOUT)
    return context, args.namespace or namespace


def _connector(
    args: argparse.Namespace, context: str, namespace: str, services: Mapping[str, str]
) -> Any:
    """Makes the cluster backend inside the console's own event loop: for the context the
    console started with (None), or another one `:ctx` picked (in that context's namespace)."""

    async def connect(other: str | None) -> Any:
        from agentops_services.kube.client import api_client  # noqa: PLC0415
        from agentops_services.kube.rest import Kube  # noqa: PLC0415
        from agentops_tui.backends.cluster import ClusterBackend  # noqa: PLC0415

        name, where = (
            (context, namespace) if other is None else current_context(args.kubeconfig, other)
        )
        api = await api_client(args.kubeconfig, name)
        return ClusterBackend(Kube(api), name, where, owns_client=True, services=services)

    return connect


def _contexts(args: argparse.Namespace) -> Any:
    def names() -> list[str]:
        from kubernetes_asyncio.config import list_kube_config_contexts  # noqa: PLC0415

        return [c["name"] for c in list_kube_config_contexts(args.kubeconfig)[0]]

    return names


LOG_BYTES = 1_000_000
LOG_BACKUPS = 2


def _log_to_file() -> Path:
    """Send log records to a bounded file under the XDG state dir: a warning written to the
    terminal would tear the console's screen apart."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    path = Path(state) / "agentops" / "console.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    return path


def run(args: argparse.Namespace) -> int:
    from agentops_tui.app import AgentOpsApp  # noqa: PLC0415
    from agentops_tui.config import default_config  # noqa: PLC0415

    if args.embedded or not has_cluster(args):
        return _run_embedded(args)
    try:
        context, namespace = asyncio.run(_reachable(args))
    except Exception as exc:
        print(f"agentops: no reachable cluster ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    _log_to_file()
    config, problem = default_config()
    app = AgentOpsApp(
        _connector(args, context, namespace, config.services),
        config,
        readonly=args.readonly,
        contexts=_contexts(args),
    )
    if problem:
        app.call_later(app.notify, problem, severity="warning")
    app.run()
    return 0


def has_cluster(args: argparse.Namespace) -> bool:
    """Whether a cluster is configured: a kubeconfig (or context) given, or a kubeconfig with
    a current context. Without one the console is the embedded platform's."""
    if args.kubeconfig or args.context:
        return True
    from kubernetes_asyncio.config import ConfigException  # noqa: PLC0415

    try:
        current_context(None, None)
    except (ConfigException, OSError, KeyError, TypeError):
        return False
    return True


def _embedded_connector(url: str, data: Any) -> Any:
    async def connect(other: str | None) -> Any:
        from agentops_services.local.client import PlatformClient  # noqa: PLC0415
        from agentops_tui.backends.base import BackendError  # noqa: PLC0415
        from agentops_tui.backends.local import LocalBackend  # noqa: PLC0415

        if other is not None:
            raise BackendError("the embedded platform has no contexts")
        return LocalBackend(PlatformClient(url), data, owns_client=True)

    return connect


def _run_embedded(args: argparse.Namespace) -> int:
    """The console on the embedded platform of the data dir; a platform it had to start is
    stopped when it exits."""
    from agentops_services.local.launcher import (  # noqa: PLC0415
        LaunchError,
        attach_or_start,
        first_run_summary,
    )
    from agentops_services.local.paths import DataDir  # noqa: PLC0415
    from agentops_tui.app import AgentOpsApp  # noqa: PLC0415
    from agentops_tui.config import default_config  # noqa: PLC0415

    data = DataDir.locate(args.data_dir, args.resources)
    print(f"agentops: connecting to the embedded platform ({data.root}) ...", file=sys.stderr)
    try:
        attached = asyncio.run(attach_or_start(data))
    except LaunchError as exc:
        print(f"agentops: {exc}", file=sys.stderr)
        return 2
    try:
        summary, demo = asyncio.run(first_run_summary(attached.url))
        _log_to_file()
        config, problem = default_config()
        app = AgentOpsApp(
            _embedded_connector(attached.url, data),
            config,
            readonly=args.readonly,
            where="the embedded platform",
        )
        if problem:
            app.call_later(app.notify, problem, severity="warning")
        if summary and (demo or attached.started):
            severity = "warning" if demo else "information"
            app.call_later(
                app.notify, summary, title="First run", severity=severity, timeout=30, markup=False
            )
        app.run()
    finally:
        attached.stop()
    return 0
