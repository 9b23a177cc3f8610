"""The embedded resource folder's problems as the console tells them: one line each (file,
line, field, message), and which are new since the last look, so a person is told once when a
file becomes invalid, not at every poll."""

from __future__ import annotations

from collections.abc import Sequence

from agentops_services.local.errors import FileProblem


def problem_line(problem: FileProblem) -> str:
    """`path:line field: message`; a problem without a line (0: a cluster's ConfigMap, not a
    file) says `path field: message`, or `path: message` without a field."""
    if not problem.line:
        field = f" {problem.field}" if problem.field else ""
        return f"{problem.path}{field}: {problem.message}"
    return f"{problem.path}:{problem.line} {problem.field or 'document'}: {problem.message}"


def new_problems(before: Sequence[FileProblem], after: Sequence[FileProblem]) -> list[FileProblem]:
    """The problems of `after` that `before` did not have."""
    known = set(before)
    return [p for p in after if p not in known]


def marker(count: int) -> str:
    """What the header says while problems remain ("" when there are none)."""
    if count == 0:
        return ""
    return f"⚠ {count} resource problem{'s' if count > 1 else ''} (:problems)"
