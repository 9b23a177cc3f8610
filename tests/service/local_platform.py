"""The embedded platform's resource side under test: a real SQLite store in tmp_path, a
resource folder polled fast, the platform API on a loopback port and its client."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentops_services.httpapi.serving import serve_in_background
from agentops_services.local.api import create_app
from agentops_services.local.client import PlatformClient
from agentops_services.local.folder import ResourceFolder
from agentops_services.local.objects import ObjectStore
from tests.conftest import INVALID_SAMPLES, SAMPLES

POLL = 0.02
"""The folder's polling interval in tests: changes show within a few hundredths."""

AGENT_YAML = """\
apiVersion: agents.agentops.io/v1alpha1
kind: Agent
metadata:
  name: {name}
spec:
  mode: daemon
  model: {model}
  providerRefs:
    - name: anthropic
  builtinTools: [read]
"""


def agent_yaml(name: str = "helper", model: str = "anthropic/claude-sonnet-4-5") -> str:
    return AGENT_YAML.format(name=name, model=model)


def copy_samples(folder: Path) -> list[Path]:
    """Every valid sample into `folder`; the copies."""
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(sample, folder)) for sample in sorted(SAMPLES.glob("*.yaml"))]


def copy_invalid(folder: Path, name: str) -> Path:
    return Path(shutil.copy(INVALID_SAMPLES / name, folder))


@dataclass
class Platform:
    store: ObjectStore
    folder: ResourceFolder
    url: str
    client: PlatformClient

    @property
    def resources(self) -> Path:
        return self.folder.path


@contextlib.asynccontextmanager
async def running_platform(
    tmp_path: Path, *, heartbeat: float = 15.0, **store_options: Any
) -> AsyncIterator[Platform]:
    """Store, folder (under tmp_path/resources, loaded before this yields) and API."""
    async with ObjectStore(tmp_path / "state" / "objects.db", **store_options) as store:
        folder = ResourceFolder(tmp_path / "resources", store, interval=POLL)
        await folder.start()
        try:
            app = create_app(store, folder, heartbeat=heartbeat)
            async with (
                serve_in_background(app) as server,
                PlatformClient(server.url, watch_read_timeout=5.0) as client,
            ):
                yield Platform(store, folder, server.url, client)
        finally:
            await folder.stop()
