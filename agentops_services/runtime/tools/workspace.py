"""Where the file tools may act: relative paths start at the agent's workspace, and with
`toolHooks.allowedPaths` set every path must resolve inside one of them.

Paths are checked after resolving `..` and symlinks (upstream compared raw string prefixes, so
`/data/../etc/passwd` or a symlink out of `/data` passed). A path that does not exist yet is
checked through its nearest existing parent, so creating a file under a symlink that leads out
is refused too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

LANGUAGES = {
    ".go": "go", ".ts": "typescript", ".tsx": "typescript", ".js": "javascript",
    ".jsx": "javascript", ".py": "python", ".rs": "rust", ".rb": "ruby", ".java": "java",
    ".c": "c", ".h": "c", ".cpp": "cpp", ".hpp": "cpp", ".cs": "csharp", ".swift": "swift",
    ".kt": "kotlin", ".scala": "scala", ".sh": "bash", ".bash": "bash", ".yaml": "yaml",
    ".yml": "yaml", ".json": "json", ".toml": "toml", ".xml": "xml", ".html": "html",
    ".css": "css", ".scss": "scss", ".sql": "sql", ".md": "markdown", ".tf": "hcl",
    ".proto": "protobuf", ".graphql": "graphql", ".dockerfile": "dockerfile",
}  # fmt: skip

SECRET_SUFFIXES = (
    "_API_KEY", "_APIKEY", "_CLIENT_SECRET", "_CLIENT_ID", "_PASSWORD", "_TOKEN", "_SECRET",
    "_SECRET_KEY", "_ACCESS_KEY", "_PRIVATE_KEY",
)  # fmt: skip
"""Environment variables that hold credentials (provider keys, GIT_TOKEN, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, ...): tool subprocesses do not get them."""


def language_of(path: Path) -> str:
    """The language a console highlights the file as ("" when unknown)."""
    if path.name == "Dockerfile":
        return "dockerfile"
    return LANGUAGES.get(path.suffix.lower(), "")


class ConfinementError(ValueError):
    """A path outside the allowed places (the message is what the model reads)."""


@dataclass(frozen=True)
class Workspace:
    root: Path
    """The agent's working directory: relative paths start here."""
    allowed: tuple[Path, ...] = field(default=())
    """Resolved allowed roots; empty allows every path."""

    @classmethod
    def create(cls, root: Path, allowed_paths: Sequence[str] | None = None) -> Workspace:
        root = root.resolve()
        allowed = tuple(
            (Path(p) if Path(p).is_absolute() else root / p).resolve() for p in allowed_paths or ()
        )
        return cls(root, allowed)

    def resolve(self, raw: str) -> Path:
        """The real path `raw` names (raises ConfinementError when it is not allowed)."""
        if not raw or "\x00" in raw:
            raise ConfinementError(f"invalid path: {raw!r}")
        path = Path(raw)
        try:
            path = (path if path.is_absolute() else self.root / path).resolve()
        except RuntimeError:  # Python < 3.13 reports a symlink loop this way
            raise ConfinementError(f"cannot resolve {raw}: symlink loop") from None
        except (OSError, ValueError) as exc:
            raise ConfinementError(f"cannot resolve {raw}: {exc}") from None
        if self.allowed and not any(path == a or path.is_relative_to(a) for a in self.allowed):
            allowed = ", ".join(str(a) for a in self.allowed)
            raise ConfinementError(f"Path not in allowed list: {raw} (allowed: {allowed})")
        return path

    def display(self, path: Path) -> str:
        """`path` as the model should see it: relative to the workspace when inside it."""
        try:
            return str(path.relative_to(self.root)) or "."
        except ValueError:
            return str(path)

    def environment(self) -> dict[str, str]:
        """The environment of tool subprocesses: the runtime's, minus the credentials it holds
        for its providers (an agent has no business printing its own API keys)."""
        return {k: v for k, v in os.environ.items() if not k.upper().endswith(SECRET_SUFFIXES)}
