"""What the embedded platform refuses, shared by the store, the folder, the API and its client,
so a refusal keeps its meaning (and its HTTP status) from the place it is made to the console."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


class PlatformError(Exception):
    """A refusal the caller can act on; the message is for people."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(PlatformError):
    status = 404


class ConflictError(PlatformError):
    """The object changed since the caller read it (a stale resourceVersion), or the request
    clashes with what exists."""

    status = 409


class InvalidObjectError(PlatformError):
    """The object (or the status written to it) does not fit its schema."""

    status = 422


@dataclass(frozen=True)
class FileProblem:
    """A problem with a resource file: where it is (the file relative to the resource folder,
    1-based line, the field path at fault) and what it is, in the CRDs' words."""

    path: str
    line: int
    field: str
    message: str
    severity: Literal["error", "warning"] = "error"
    """`error` (the document is not applied) or `warning` (applied, but worth a look)."""


class InvalidManifestError(PlatformError):
    """YAML that does not validate: every problem, each with its line and field."""

    status = 422

    def __init__(self, problems: list[FileProblem]) -> None:
        first = problems[0] if problems else None
        message = (
            f"line {first.line}: {first.message}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            if first
            else "invalid resource"
        )
        super().__init__(message, first.field or None if first else None)
        self.problems = problems


class ResyncRequiredError(Exception):
    """A watcher fell behind (or asked for versions no longer kept): what it holds can no
    longer be brought up to date by events. List again, then watch from the list's version
    (the API server's 410 Gone)."""

    def __init__(self, resource_version: int) -> None:
        super().__init__(f"watch expired: list again (resourceVersion is {resource_version})")
        self.resource_version = resource_version


class UnreachableError(PlatformError):
    """The platform API did not answer (not running, or the connection broke)."""

    status = 503
