"""`agentops runtime`: one agent's runtime, as a daemon (HTTP API on 4096) or a task."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from agentops_services.api.runtime_config import DEFAULT_CONFIG_PATH

EXIT_CONFIG = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "runtime",
        help="run an agent (daemon with the HTTP API, or one task)",
        description=(
            "Run one agent from its config.json. As a daemon it serves the runtime API and the "
            "FEP event stream; with --task (or AGENT_PROMPT) it runs one prompt, prints the "
            "result JSON and exits 0 on success, 1 on failure, 2 on a bad config."
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("AGENT_CONFIG", DEFAULT_CONFIG_PATH)),
        help=f"config.json (AGENT_CONFIG; default {DEFAULT_CONFIG_PATH})",
    )
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--port", type=int, default=4096, help="port (default 4096)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("AGENT_STATE_DIR", "/data/sessions")),
        help="where the conversation checkpoint is kept (AGENT_STATE_DIR; default /data/sessions)",
    )
    parser.add_argument("--task", metavar="PROMPT", help="run this prompt once (task mode)")
    parser.add_argument(
        "--termination-log",
        type=Path,
        help="task result file (AGENT_TERMINATION_LOG; default /dev/termination-log)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agentops_services.logs import configure_logging  # noqa: PLC0415
    from agentops_services.runtime.providers.registry import ConfigError  # noqa: PLC0415
    from agentops_services.runtime.settings import RuntimeSettings, load_config  # noqa: PLC0415
    from agentops_services.runtime.task import failure, write_result  # noqa: PLC0415

    configure_logging("agentops-runtime")
    settings = RuntimeSettings.from_env(
        os.environ,
        config_path=args.config,
        host=args.host,
        port=args.port,
        state_dir=args.state_dir,
        prompt=args.task,
        termination_log=args.termination_log,
    )
    try:
        config = load_config(settings.config_path)
        if settings.prompt is not None:
            return asyncio.run(_task(config, settings))
        _daemon(config, settings)
    except ConfigError as exc:
        logging.getLogger("agentops.runtime").error("bad config: %s", exc)
        print(f"agentops runtime: {exc}", file=sys.stderr)
        if settings.prompt is not None:
            write_result(failure(f"bad config: {exc}"), settings.termination_log)
        return EXIT_CONFIG
    return 0


def _tracing(settings: Any) -> Any:
    from agentops_services.telemetry import setup_tracing  # noqa: PLC0415

    return setup_tracing(
        "agentops-runtime",
        attributes={
            "agent.name": settings.agent_name,
            "agent.namespace": settings.namespace,
            "agent.mode": "task" if settings.prompt else "daemon",
        },
    )


async def _task(config: Any, settings: Any) -> int:
    from agentops_services.runtime.task import run_task, write_result  # noqa: PLC0415
    from agentops_services.runtime.wiring import build_agent  # noqa: PLC0415

    tracing = _tracing(settings)
    agent, providers = build_agent(config, settings, os.environ)
    try:
        result = await run_task(agent, settings.prompt, settings.traceparent)
    finally:
        await providers.aclose()
        tracing.shutdown()
    write_result(result, settings.termination_log)
    return 0 if result.success else 1


def _daemon(config: Any, settings: Any) -> None:
    from agentops_services.httpapi.serving import serve_forever  # noqa: PLC0415
    from agentops_services.runtime.server import create_app  # noqa: PLC0415
    from agentops_services.runtime.wiring import build_agent  # noqa: PLC0415

    _tracing(settings)
    agent, providers = build_agent(config, settings, os.environ)
    app = create_app(agent, on_close=providers.aclose)
    # On SIGTERM the running turn is aborted first, so open streams end with its end events
    # instead of holding the server's drain until its timeout.
    serve_forever(app, settings.host, settings.port, on_exit=agent.close)
