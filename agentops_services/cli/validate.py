"""`agentops validate FILE...`: check resources offline exactly as the API server would."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

YAML_SUFFIXES = (".yaml", ".yml")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="validate YAML of AgentOps resources offline",
        description=(
            "Validate Agent, AgentRun, AgentTool, AgentResource, Channel and Provider YAML "
            "with the same rules the API server applies. Prints every error with its file, "
            "line and field; exits 1 if there is any. Other kinds in the files are skipped."
        ),
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="FILE",
        help="YAML files or directories (recursive); - reads stdin",
    )
    parser.set_defaults(run=run)


def _expand(paths: list[str]) -> Iterator[tuple[str, Path | None]]:
    for raw in paths:
        if raw == "-":
            yield "<stdin>", None
            continue
        path = Path(raw)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES):
                yield str(child), child
        else:
            yield raw, path


def run(args: argparse.Namespace) -> int:
    from agentops_services.api.manifests import check_manifests  # noqa: PLC0415 - fast startup

    valid = invalid = skipped = files = 0
    for label, path in _expand(args.paths):
        files += 1
        try:
            text = sys.stdin.read() if path is None else path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{label}: cannot read: {exc}")
            invalid += 1
            continue
        reports, problems = check_manifests(text)
        for problem in problems:
            print(f"{label}:{problem.line}: {problem.message}")
            invalid += 1
        for report in reports:
            if report.foreign:
                skipped += 1
                continue
            for warning in report.warnings:
                print(f"{label}:{warning.line}: warning: {report.label}: {warning.message}")
            for error in report.errors:
                print(f"{label}:{error.line}: {report.label}: {error.message}")
            if report.errors:
                invalid += 1
            else:
                valid += 1
    summary = f"{valid} valid, {invalid} invalid"
    if skipped:
        summary += f", {skipped} skipped (not AgentOps kinds)"
    print(f"{summary} in {files} file(s)", file=sys.stderr)
    return 1 if invalid else 0
