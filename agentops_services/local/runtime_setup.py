"""What every local runtime process is given by the platform, daemon or task: its config and
files (runtime_config.py) and its environment (runtime_env.py), from the same settings; and
where it runs (`RuntimeHost`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentops_services.api.v1alpha1 import Agent
from agentops_services.local.catalog import References
from agentops_services.local.paths import DataDir, RuntimeDir
from agentops_services.local.processes import ProcessSupervisor
from agentops_services.local.runtime_config import (
    ConfigMaps,
    LocalRuntimeConfig,
    runtime_config_for,
)
from agentops_services.local.runtime_env import LocalEnvironment, SecretSource, local_environment
from agentops_services.local.status import Clock, utc_now

RUNTIME_COMMAND = (sys.executable, "-m", "agentops_services.cli.main", "runtime")


@dataclass(frozen=True)
class PreparedRuntime:
    local: LocalRuntimeConfig
    environment: LocalEnvironment


@dataclass(frozen=True)
class RuntimeSetup:
    memory_url: str | None = None
    """The embedded memory service (every Agent with memory uses it)."""
    trace_url: str | None = None
    """The embedded trace store's OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)."""
    base_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    """The environment runtimes inherit from (see runtime_env.inherited)."""
    config_maps: ConfigMaps | None = None
    secrets_file: Path | None = None
    """Where provider keys go, named in the offline demo model's advice."""
    command: tuple[str, ...] = RUNTIME_COMMAND
    """`agentops runtime`, as this Python runs it."""

    def prepare(
        self,
        agent: Agent,
        references: References,
        directory: RuntimeDir,
        secrets: SecretSource,
        extra_env: Sequence[Mapping[str, Any]] = (),
    ) -> PreparedRuntime:
        """The config, files and environment of `agent`'s runtime in `directory`."""
        local = runtime_config_for(
            agent,
            references.providers,
            references.tools,
            references.resources,
            root=directory.root,
            memory_url=self.memory_url,
            config_maps=self.config_maps,
            secrets_file=self.secrets_file,
        )
        environment = local_environment(
            agent,
            references.providers,
            secrets=secrets,
            base_env=self.base_env,
            workspace=directory.workspace,
            trace_url=self.trace_url,
            extra=extra_env,
        )
        return PreparedRuntime(local, environment)


@dataclass(frozen=True)
class RuntimeHost:
    """Where local runtimes run: one supervisor for all their processes, the data dir their
    directories are in, what they are given, and the clock their statuses are stamped with."""

    supervisor: ProcessSupervisor
    data: DataDir
    setup: RuntimeSetup = field(default_factory=RuntimeSetup)
    clock: Clock = utc_now
