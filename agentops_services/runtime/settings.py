"""What the runtime process is told: its environment (set by the operator or the embedded
supervisor), its command line, and config.json.

A config that cannot be used stops the process with exit code 2 and one line naming the file and
the field at fault, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from agentops_services.api.model import field_errors
from agentops_services.api.runtime_config import DEFAULT_CONFIG_PATH, RuntimeConfig
from agentops_services.runtime.providers.registry import ConfigError

DEFAULT_PORT = 4096
DEFAULT_STATE_DIR = Path("/data/sessions")
DEFAULT_TERMINATION_LOG = Path("/dev/termination-log")


@dataclass(frozen=True)
class RuntimeSettings:
    config_path: Path = Path(DEFAULT_CONFIG_PATH)
    agent_name: str = "default"
    namespace: str = "default"
    state_dir: Path | None = DEFAULT_STATE_DIR
    """Where the conversation checkpoint lives; None keeps no checkpoint."""
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    prompt: str | None = None
    """Task mode when set: run this prompt once and exit."""
    run_name: str | None = None
    traceparent: str | None = None
    termination_log: Path = DEFAULT_TERMINATION_LOG
    workspace: Path = field(default_factory=Path.cwd)
    """The agent's working directory (WORKSPACE): relative tool paths start here."""
    allow_private_fetch: bool = False
    """Let the fetch tool reach loopback and private addresses (AGENT_FETCH_ALLOW_PRIVATE)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: object) -> RuntimeSettings:
        values: dict[str, object] = {
            "agent_name": env.get("AGENT_NAME") or "default",
            "namespace": env.get("AGENT_NAMESPACE") or "default",
            "prompt": env.get("AGENT_PROMPT") or None,
            "run_name": env.get("AGENT_RUN_NAME") or None,
            "traceparent": env.get("TRACEPARENT") or None,
        }
        if env.get("WORKSPACE"):
            values["workspace"] = Path(env["WORKSPACE"])
        values["allow_private_fetch"] = env.get("AGENT_FETCH_ALLOW_PRIVATE", "").lower() in (
            "1",
            "true",
        )
        if env.get("AGENT_TERMINATION_LOG"):
            values["termination_log"] = Path(env["AGENT_TERMINATION_LOG"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def load_config(path: Path) -> RuntimeConfig:
    """config.json, or ConfigError naming the file and the field (or line) at fault."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the config: {exc.strerror or exc}") from None
    try:
        json.loads(text)
    except ValueError as exc:
        raise ConfigError(str(path), f"not valid JSON: {exc}") from None
    try:
        return RuntimeConfig.from_json(text)
    except ValidationError as exc:
        where, message = field_errors(exc)[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {where or '(top level)'}", f"{message}{more}") from None
