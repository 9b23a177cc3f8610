"""The console's user configuration: `$XDG_CONFIG_HOME/agentops/config.toml`.

    [keymap]            # binding id = keys (comma-separated alternatives), as Textual's keymap
    "resources.delete" = "ctrl+x"
    theme = "textual-light"

    [services]          # reach services directly instead of by port-forward (see service_access)
    tempo = "https://tempo.example.com"
    runtime = "http://{name}.{namespace}.example.com"

A file that cannot be read is reported (file and line) and the defaults are used.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_ROLES = ("runtime", "memory", "tempo")


class ConfigError(ValueError):
    """The config file is unusable; the message names the file and the problem."""


@dataclass(frozen=True)
class ConsoleConfig:
    keymap: Mapping[str, str] = field(default_factory=dict)
    theme: str | None = None
    services: Mapping[str, str] = field(default_factory=dict)
    """Role (runtime, memory, tempo) -> URL; the environment's overrides win."""


def config_path(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "agentops" / "config.toml"


def load_config(path: Path) -> ConsoleConfig:
    """The config at `path` (defaults when there is none), or ConfigError."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return ConsoleConfig()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    keymap = document.get("keymap", {})
    if not isinstance(keymap, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()
    ):
        raise ConfigError(f'{path}: [keymap] maps binding ids to key strings, e.g. "help" = "f1"')
    theme = document.get("theme")
    if theme is not None and not isinstance(theme, str):
        raise ConfigError(f"{path}: theme must be a string")
    services = document.get("services", {})
    if not isinstance(services, dict) or not all(
        key in SERVICE_ROLES and isinstance(url, str) for key, url in services.items()
    ):
        raise ConfigError(
            f"{path}: [services] maps {', '.join(SERVICE_ROLES)} to URLs, "
            'e.g. tempo = "http://127.0.0.1:3200"'
        )
    return ConsoleConfig(keymap=keymap, theme=theme, services=services)


def default_config() -> tuple[ConsoleConfig, str | None]:
    """The user's config and, when it is broken, why (the console still starts)."""
    try:
        return load_config(config_path(os.environ)), None
    except ConfigError as exc:
        return ConsoleConfig(), str(exc)
