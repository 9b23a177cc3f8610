"""Provider credentials of the embedded platform: where they come from, which win, and which a
Provider still lacks.

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from agentops_services.api.v1alpha1.provider import Provider
from agentops_services.local.secrets_file import read_secrets_file, shell_path
from agentops_services.operator.builders.credentials import api_key_env, oauth2_env

ENVIRONMENT = "environment"


class Secrets:
    """Credential variables from the environment and the secrets file. Values are reached
    only through `get` and `process_environment`; repr and str name variables, never values,
    so a Secrets in a log line or a traceback leaks nothing."""

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

    def origin(self, name: str) -> str | None:
        """Where `name`'s value comes from: "environment" or the file's path; None if unset."""
        if self._environ.get(name):
            return ENVIRONMENT
        return str(self.path) if self._file.get(name) else None

    def file_names(self) -> list[str]:
        """The variables the secrets file sets, sorted."""
        return sorted(self._file)

    def process_environment(self) -> dict[str, str]:
        """The environment for a runtime process: this environment with the file's variables
        added, by the same precedence as `get`."""
        merged = dict(self._file)
        merged.update((k, v) for k, v in self._environ.items() if v or k not in self._file)
        return merged

    def __repr__(self) -> str:
        names = ", ".join(self.file_names()) or "none"
        return f"Secrets(file {self.path}: {names}; environment: {len(self._environ)} variables)"

    __str__ = __repr__


def required_variables(provider: Provider) -> tuple[str, ...]:
    """The variables a runtime needs for `provider`: its API key when the Provider names an
    apiKeySecret, its OAuth2 client id and secret when it uses client credentials. Keyless
    providers (a local openaicompat server, Vertex, Bedrock) need none."""
    spec = provider.spec
    needed: list[str] = []
    if spec.api_key_secret is not None:
        needed.append(api_key_env(provider.name))
    if spec.endpoint is not None and spec.endpoint.oauth2_client_credentials is not None:
        needed.extend(oauth2_env(provider.name))
    return tuple(needed)


@dataclass(frozen=True)
class MissingVariable:
    """A variable a Provider needs that neither the environment nor the file sets."""

    provider: str
    variable: str

    def message(self, secrets_file: Path) -> str:
        """What to tell the person, with where to put the variable."""
        return (
            f"Provider {self.provider} needs {self.variable}: put it in "
            f"{shell_path(secrets_file)} or the environment"
        )


def missing_variables(providers: Iterable[Provider], secrets: Secrets) -> list[MissingVariable]:
    """For each Provider, the variables it needs that are not set, in Provider order."""
    return [
        MissingVariable(provider.name, variable)
        for provider in providers
        for variable in required_variables(provider)
        if secrets.get(variable) is None
    ]
