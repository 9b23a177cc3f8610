"""`agentops testenv`: the real control plane the tests use, started by hand."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "testenv",
        help="run a real Kubernetes control plane on loopback (etcd, kube-apiserver, controllers)",
        description=(
            "Start the control plane the tests use, print KUBECONFIG=... once it is ready and "
            "run until interrupted; then stop every component and remove its files. Builds the "
            "binaries from Go modules first if they are missing."
        ),
    )
    parser.add_argument("--kubeconfig", type=Path, help="also write the admin kubeconfig here")
    parser.add_argument("--crds", action="store_true", help="install crds/ and wait until served")
    parser.add_argument(
        "--build-only", action="store_true", help="build the binaries if missing, then exit"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agentops_services.testing.binaries import build, find_binaries  # noqa: PLC0415
    from agentops_services.testing.controlplane import (  # noqa: PLC0415
        ControlPlane,
        ControlPlaneError,
    )

    try:
        binaries = find_binaries() or build()
    except (RuntimeError, OSError) as exc:
        print(f"agentops testenv: {exc}", file=sys.stderr)
        return 1
    if args.build_only:
        return 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        with ControlPlane(binaries) as plane:
            if args.crds:
                asyncio.run(_install_crds(plane.kubeconfig))
            kubeconfig = plane.kubeconfig
            if args.kubeconfig:
                shutil.copyfile(plane.kubeconfig, args.kubeconfig)
                args.kubeconfig.chmod(0o600)
                kubeconfig = args.kubeconfig
            print(f"KUBECONFIG={kubeconfig}", flush=True)
            stop.wait()
            print("agentops testenv: stopping", file=sys.stderr)
    except ControlPlaneError as exc:
        print(f"agentops testenv: {exc}", file=sys.stderr)
        return 1
    return 0


async def _install_crds(kubeconfig: Path) -> None:
    from agentops_services.api.crd import all_crds  # noqa: PLC0415
    from agentops_services.kube.client import api_client  # noqa: PLC0415
    from agentops_services.kube.crds import apply_crds  # noqa: PLC0415

    async with await api_client(kubeconfig) as api:
        await apply_crds(api, all_crds().values())
