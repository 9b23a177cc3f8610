"""Where the embedded platform keeps everything, so every part (the platform, its runtimes,
the consoles that attach to it) agrees on one layout.

    <data dir>/                $AGENTOPS_DATA_DIR, else $XDG_DATA_HOME/agentops, else
                               ~/.local/share/agentops (or the --data-dir flag)
      resources/               the YAML folder people edit (--resources may point elsewhere)
      state.db                 object store: status, runs made from the console
      memory.db                the memory service's database
      traces.db                the trace store's database
      agents/<name>/           one daemon agent's runtime (see RuntimeDir)
      runs/<name>/             one task run's runtime (see RuntimeDir)
      logs/                    output of the platform (platform.log) and of its services
      secrets.env              provider keys, 0600 (see secrets.py)
      platform.json            URL and pid of the running platform (see platform_record.py)
      first-run.json           which samples first_run.py wrote, so it never touches others

Conversations, memories, traces and keys are private: directories are created 0700.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agentops_services.local.atomic import PRIVATE_DIR

DATA_DIR_VARIABLE = "AGENTOPS_DATA_DIR"


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """`$AGENTOPS_DATA_DIR`, else `$XDG_DATA_HOME/agentops`, else `~/.local/share/agentops`.
    A relative XDG_DATA_HOME is ignored, as the XDG specification says."""
    explicit = environ.get(DATA_DIR_VARIABLE)
    if explicit:
        return Path(explicit).expanduser().absolute()
    xdg = environ.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "agentops"
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".local" / "share" / "agentops"


def _component(name: str) -> str:
    """`name` as one path component: resource names are validated elsewhere, but a path is
    never built from a name that could climb out of its directory."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"{name!r} cannot name a directory")
    return name


def make_private_dir(path: Path) -> Path:
    """Create `path` (and its parents) as 0700; an existing directory is left as it is."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class RuntimeDir:
    """The directory of one runtime process: a daemon agent or a task run."""

    root: Path

    @property
    def config(self) -> Path:
        """The runtime's config.json (the same model the operator writes into a ConfigMap)."""
        return self.root / "config.json"

    @property
    def state(self) -> Path:
        """Checkpoints and working memory, kept across restarts."""
        return self.root / "state"

    @property
    def workspace(self) -> Path:
        """The files the agent's tools work on (a pod's /data)."""
        return self.root / "workspace"

    @property
    def log(self) -> Path:
        """The runtime's stdout and stderr."""
        return self.root / "runtime.log"

    @property
    def result(self) -> Path:
        """A task run's result (a pod's termination message)."""
        return self.root / "result.json"

    def create(self) -> RuntimeDir:
        for directory in (self.root, self.state, self.workspace):
            make_private_dir(directory)
        return self


@dataclass(frozen=True)
class DataDir:
    """The embedded platform's data directory; `resources` is the YAML folder."""

    root: Path
    resources: Path

    @classmethod
    def locate(
        cls,
        data_dir: Path | None = None,
        resources: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> DataDir:
        """The data dir of the `--data-dir` and `--resources` flags (None: not given), else
        of the environment (see `default_data_dir`)."""
        env = os.environ if environ is None else environ
        root = data_dir.expanduser().absolute() if data_dir else default_data_dir(env)
        folder = resources.expanduser().absolute() if resources else root / "resources"
        return cls(root, folder)

    def create(self) -> DataDir:
        """Make the directories the platform writes to (0700 when new)."""
        for directory in (
            self.root,
            self.resources,
            self.agents_dir,
            self.runs_dir,
            self.logs_dir,
        ):
            make_private_dir(directory)
        return self

    @property
    def state_db(self) -> Path:
        return self.root / "state.db"

    @property
    def memory_db(self) -> Path:
        return self.root / "memory.db"

    @property
    def traces_db(self) -> Path:
        return self.root / "traces.db"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.env"

    @property
    def platform_file(self) -> Path:
        return self.root / "platform.json"

    @property
    def first_run_file(self) -> Path:
        return self.root / "first-run.json"

    @property
    def agents_dir(self) -> Path:
        return self.root / "agents"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def agent(self, name: str) -> RuntimeDir:
        """The runtime directory of daemon agent `name` (not created)."""
        return RuntimeDir(self.agents_dir / _component(name))

    def run(self, name: str) -> RuntimeDir:
        """The runtime directory of task run `name` (not created)."""
        return RuntimeDir(self.runs_dir / _component(name))
