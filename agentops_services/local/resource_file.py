"""What one resource file holds: its valid objects and its problems, in the CRDs' words.

An invalid document never takes an object away: when a file has errors, the objects it last
defined validly stay in effect (and its problems say so) until it is fixed, the way a failed
`kubectl apply` leaves the cluster as it was. Only a file without errors can remove an
object, by no longer defining it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from agentops_services.api.manifests import ManifestReport, StoredObject, check_manifests
from agentops_services.local.errors import FileProblem
from agentops_services.local.kinds import NAMESPACE, Key, Object

SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields")
"""Metadata the store sets; never written to a file."""


@dataclass
class ResourceFile:
    digest: str = ""
    objects: dict[Key, Object] = field(default_factory=dict)
    """The objects in effect from this file, as written in it (wire form)."""
    lines: dict[Key, int] = field(default_factory=dict)
    """Line where each object's document starts."""
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def parse_resource_file(
    rel: str, text: str, previous: Mapping[Key, Object], stored: StoredObject | None = None
) -> ResourceFile:
    """The file's objects and problems; `previous` are the objects it defined before."""
    reports, syntax = check_manifests(text, stored)
    parsed = ResourceFile()
    for problem in syntax:
        parsed.problems.append(FileProblem(rel, problem.line, problem.field, problem.message))
    for report in reports:
        _take(rel, report, parsed, previous)
    if not parsed.valid:
        kept = {key: obj for key, obj in previous.items() if key not in parsed.objects}
        parsed.objects.update(kept)
        if syntax and kept:
            first = parsed.problems[0]
            parsed.problems[0] = FileProblem(
                rel, first.line, first.field, first.message + _kept_note(kept, " until it is fixed")
            )
    return parsed


def _kept_note(objects: Iterable[Key], until: str = "") -> str:
    """What a problem adds when the file's last valid objects stay in effect ("" for none)."""
    labels = ", ".join(f"{kind}/{name}" for kind, name in sorted(objects))
    return f" (the last valid {labels} stay in effect{until})" if labels else ""


def unloadable_file(rel: str, digest: str, previous: ResourceFile, reason: str) -> ResourceFile:
    """A file that cannot be parsed at all: its last valid objects stay, with one problem
    saying why."""
    problem = FileProblem(rel, 1, "", reason + _kept_note(previous.objects))
    return ResourceFile(digest, dict(previous.objects), dict(previous.lines), [problem])


def _take(
    rel: str, report: ManifestReport, parsed: ResourceFile, previous: Mapping[Key, Object]
) -> None:
    key = (report.kind, report.name)
    for warning in report.warnings:
        parsed.problems.append(
            FileProblem(rel, warning.line, warning.field, warning.message, "warning")
        )
    if report.foreign:
        parsed.problems.append(
            FileProblem(
                rel,
                report.line,
                "apiVersion",
                f"{report.label} is not an AgentOps resource: ignored",
                "warning",
            )
        )
        return
    if report.errors or report.resource is None:
        kept = " (its last valid version stays in effect)" if key in previous else ""
        for error in report.errors:
            parsed.problems.append(
                FileProblem(rel, error.line, error.field, f"{report.label}: {error.message}{kept}")
            )
        return
    if key in parsed.objects:
        parsed.problems.append(
            FileProblem(
                rel,
                report.line,
                "metadata.name",
                f"{report.label} is defined twice in this file (line {parsed.lines[key]} and "
                f"line {report.line}): the second is ignored",
            )
        )
        return
    parsed.objects[key] = report.data  # as written: keys keep the author's order
    parsed.lines[key] = report.line


def file_form(obj: Mapping[str, object], namespace: str | None) -> Object:
    """The object as a resource file holds it: apiVersion, kind, metadata without what the
    store sets, spec; no status. `namespace` is the one the file gave it, if any (kept for
    the day the file is applied to a cluster)."""
    metadata = dict(obj.get("metadata") or {})  # type: ignore[call-overload]
    for name in (*SERVER_FIELDS, "namespace"):
        metadata.pop(name, None)
    if namespace and namespace != NAMESPACE:
        metadata = {"name": metadata.pop("name"), "namespace": namespace, **metadata}
    out: Object = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": metadata,
    }
    if obj.get("spec") is not None:
        out["spec"] = obj["spec"]
    return out
