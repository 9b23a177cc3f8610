"""Provider credentials of the embedded platform: where they come from and which win (which an
Agent still lacks is said by its CredentialsFound condition, local/runtimes.py).

Precedence: **the environment wins over the secrets file**, as with docker compose's `.env`
and every dotenv loader. A one-off `ANTHROPIC_API_KEY=… agentops` then works without editing
the file, and the file is only the persistent default. A variable that is set but empty in the
environment does not hide the file's value: an empty key is no key (the runtime treats it as
missing too), and an `export X=` left in a shell profile should not silently disable the file.

Variable names are the ones the runtime reads (operator/builders/credentials.py):
`<PROVIDER>_API_KEY` for an API key, `<PROVIDER>_OAUTH_CLIENT_ID`/`_SECRET` for OAuth2, with
the Provider's name upper-cased and anything but letters and digits turned into `_`. In a
cluster the same variables are filled from the Secrets the Provider names, so the same
resources deploy unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from agentops_services.local.secrets_file import read_secrets_file


class Secrets:
    """Credential variables from the environment and the secrets file. Values are reached
    only through `get`; repr and str name variables, never values, so a Secrets in a log line
    or a traceback leaks nothing."""

    __slots__ = ("_environ", "_file", "path")

    def __init__(
        self, file_values: Mapping[str, str], environ: Mapping[str, str], path: Path
    ) -> None:
        self._file = dict(file_values)
        self._environ = dict(environ)
        self.path = path
        """The secrets file (it may not exist)."""

    @classmethod
    def load(cls, path: Path, environ: Mapping[str, str] | None = None) -> Secrets:
        """The secrets of `path` and the environment (this process's by default). Raises
        SecretsFileError when the file is readable by others or does not parse."""
        return cls(read_secrets_file(path), os.environ if environ is None else environ, path)

    def get(self, name: str) -> str | None:
        """The value of `name`: the environment's when set and not empty, else the file's."""
        return self._environ.get(name) or self._file.get(name) or None

    def file_names(self) -> list[str]:
        """The variables the secrets file sets, sorted."""
        return sorted(self._file)

    def __repr__(self) -> str:
        names = ", ".join(self.file_names()) or "none"
        return f"Secrets(file {self.path}: {names}; environment: {len(self._environ)} variables)"

    __str__ = __repr__
