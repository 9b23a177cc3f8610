"""YAML text of resources -> validated objects and problems that name their line.

Shared by `agentops validate`, the embedded platform's resource folder and the console's
editor, so a mistake reads the same wherever it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentops_services.api.v1alpha1 import Resource
from agentops_services.api.validation import FieldError, is_our_group, validate_resource
from agentops_services.api.yaml_source import YamlSyntaxError, load_documents


@dataclass(frozen=True)
class Problem:
    """An error or warning about one place in a YAML text."""

    line: int
    message: str
    field: str = ""
    """The field path at fault (`spec.storage`), empty when the problem is not one field's."""


@dataclass
class ManifestReport:
    """What one document of the text turned out to be."""

    line: int
    kind: str
    name: str
    resource: Resource | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    foreign: bool = False
    """Not one of our kinds (a Secret next to an Agent, say): left alone."""
    data: Any = None
    """The document as parsed, keys in the order they were written."""

    @property
    def label(self) -> str:
        return f"{self.kind or '?'}/{self.name or '?'}"


StoredObject = Callable[[str, str], Mapping[str, Any] | None]
"""(kind, name) -> the object as stored now, defaults applied; None when there is none."""


def check_manifests(
    text: str, stored: StoredObject | None = None
) -> tuple[list[ManifestReport], list[Problem]]:
    """Validate every document of `text`.

    With `stored`, a document that updates an existing object is also checked against the
    CEL transition rules (an AgentRun's spec is immutable), as the API server does on update.
    Returns the per-document reports and the problems that belong to no document (a YAML
    syntax error, which stops parsing).
    """
    try:
        documents = load_documents(text)
    except YamlSyntaxError as exc:
        return [], [Problem(exc.line, f"YAML syntax error (column {exc.column}): {exc}")]
    reports = []
    for doc in documents:
        data: Any = doc.data
        meta = data.get("metadata") if isinstance(data, dict) else None
        report = ManifestReport(
            line=doc.line,
            kind=str(data.get("kind", "")) if isinstance(data, dict) else "",
            name=str(meta.get("name", "")) if isinstance(meta, dict) else "",
            data=data,
        )
        if isinstance(data, dict) and "apiVersion" in data and not is_our_group(data["apiVersion"]):
            report.foreign = True
            reports.append(report)
            continue
        for path, line in doc.duplicate_keys:
            report.errors.append(
                Problem(line, f"{_dotted(path)}: Duplicate value: key appears twice", _dotted(path))
            )
        old = stored(report.kind, report.name) if stored and report.name else None
        result = validate_resource(data, old=old)
        report.resource = result.resource if not report.errors else None
        report.errors.extend(_problem(doc.line_of(e.path), e) for e in result.errors)
        report.warnings.extend(Problem(doc.line, w) for w in result.warnings)
        reports.append(report)
    return reports, []


def _problem(line: int, error: FieldError) -> Problem:
    return Problem(line, str(error), error.field)


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)
