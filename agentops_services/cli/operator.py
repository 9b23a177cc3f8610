"""`agentops operator`: reconcile the six kinds into workloads (health on :8081)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Any


def _namespaces(text: str) -> list[str] | None:
    names = [n.strip() for n in text.split(",") if n.strip()]
    return names or None


def _address(text: str) -> tuple[str, int]:
    """`:8081`, `0.0.0.0:8081` or `127.0.0.1:8081`."""
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise argparse.ArgumentTypeError(f"invalid address {text!r}: use e.g. :8081")
    return host or "0.0.0.0", int(port)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "operator",
        help="run the operator (reconciles Agents, AgentRuns, tools, channels, providers)",
        description=(
            "Watch the six AgentOps kinds and keep their Deployments, Jobs, Services, ConfigMaps "
            "and RBAC as they say. /healthz, /readyz and /metrics are served on the health "
            "address."
        ),
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: KUBECONFIG, in-cluster)")
    parser.add_argument("--context", help="kubeconfig context")
    parser.add_argument(
        "--health-probe-bind-address",
        type=_address,
        default=_address(":8081"),
        help="where /healthz, /readyz and /metrics are served (default :8081)",
    )
    parser.add_argument(
        "--leader-elect",
        action="store_true",
        help="hold a coordination.k8s.io Lease so only one replica acts",
    )
    parser.add_argument(
        "--leader-election-namespace",
        default=os.environ.get("POD_NAMESPACE", "default"),
        help="namespace of the Lease (POD_NAMESPACE; default default)",
    )
    parser.add_argument(
        "--watch-namespaces",
        type=_namespaces,
        default=_namespaces(os.environ.get("WATCH_NAMESPACES", "")),
        help="comma-separated namespaces to watch (WATCH_NAMESPACES; default all)",
    )
    parser.add_argument(
        "--otel-endpoint",
        default=os.environ.get("AGENTOPS_AGENT_OTLP_ENDPOINT"),
        help="OTLP endpoint given to agent pods (AGENTOPS_AGENT_OTLP_ENDPOINT)",
    )
    parser.add_argument("--workers", type=int, default=8, help="workers per controller")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agentops_services.logs import configure_logging  # noqa: PLC0415
    from agentops_services.telemetry import setup_tracing  # noqa: PLC0415

    configure_logging("agentops-operator")
    setup_tracing("agentops-operator")
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    from agentops_services.httpapi.serving import serve_in_background  # noqa: PLC0415
    from agentops_services.kube.client import KubeconfigError, api_client  # noqa: PLC0415
    from agentops_services.kube.rest import Kube  # noqa: PLC0415
    from agentops_services.operator.builders.settings import (  # noqa: PLC0415
        BuilderSettings,
        OperatorImages,
    )
    from agentops_services.operator.manager import Operator, OperatorSettings  # noqa: PLC0415

    images = OperatorImages()
    images = OperatorImages(
        runtime=os.environ.get("AGENTOPS_RUNTIME_IMAGE", images.runtime),
        gateway=os.environ.get("AGENTOPS_IMAGE", images.gateway),
        crane=os.environ.get("AGENTOPS_CRANE_IMAGE", images.crane),
    )
    settings = OperatorSettings(
        namespaces=args.watch_namespaces,
        leader_elect=args.leader_elect,
        lease_namespace=args.leader_election_namespace,
        workers=args.workers,
        builders=BuilderSettings(images=images, otel_endpoint=args.otel_endpoint),
    )
    try:
        api = await api_client(args.kubeconfig, args.context)
    except KubeconfigError as exc:
        print(f"agentops operator: {exc}", file=sys.stderr)
        return 2
    operator = Operator(Kube(api), settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host, port = args.health_probe_bind_address
    log = logging.getLogger("agentops.operator")
    try:
        async with serve_in_background(operator.app(), host, port):
            await operator.start()
            log.info(
                "operator started",
                extra={
                    "namespaces": settings.namespaces or "all",
                    "leader_elect": args.leader_elect,
                },
            )
            done = asyncio.ensure_future(stop.wait())
            lost = asyncio.ensure_future(operator.stopped.wait())
            await asyncio.wait({done, lost}, return_when=asyncio.FIRST_COMPLETED)
            done.cancel()
            lost.cancel()
            await operator.stop()
    finally:
        await api.close()
    return 1 if operator.stopped.is_set() else 0
