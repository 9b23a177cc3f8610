"""`agentops crds generate|check`: keep crds/ and the chart's copy in step with the API models.

The chart carries the CRDs in its own `crds/` (Helm installs them before the templates and, by
Helm's rule, never upgrades or deletes them), so the same files are written to both places."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Any

DEFAULT_DIRS = (Path("crds"), Path("charts/agentops/crds"))
FILE_PATTERN = "agents.agentops.io_*.yaml"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("crds", help="generate or check the CustomResourceDefinitions")
    actions = parser.add_subparsers(dest="crds_action", metavar="ACTION", required=True)
    for name, run, text in (
        ("generate", _generate, "write crds/ from the API models"),
        ("check", _check, "exit 1 with a diff when crds/ is not what generate would write"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument(
            "--dir",
            dest="dirs",
            type=Path,
            action="append",
            help="directory of the CRD files, repeatable (default: crds and charts/agentops/crds)",
        )
        action.set_defaults(run=run)


def expected_files() -> dict[str, str]:
    """File name -> exact text of every CRD file."""
    from agentops_services.api.crd import all_crds, crd_yaml  # noqa: PLC0415 - keep startup fast

    return {name: crd_yaml(manifest) for name, manifest in all_crds().items()}


def _stale_files(directory: Path, expected: dict[str, str]) -> list[Path]:
    return [p for p in sorted(directory.glob(FILE_PATTERN)) if p.name not in expected]


def _directories(args: argparse.Namespace) -> list[Path]:
    return list(args.dirs or DEFAULT_DIRS)


def _generate(args: argparse.Namespace) -> int:
    expected = expected_files()
    for directory in _directories(args):
        _generate_into(directory, expected)
    return 0


def _generate_into(directory: Path, expected: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in _stale_files(directory, expected):
        stale.unlink()
        print(f"removed {stale}")
    for name, text in expected.items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path}")


def _check(args: argparse.Namespace) -> int:
    expected = expected_files()
    results = [_check_dir(directory, expected) for directory in _directories(args)]
    return max(results)


def _check_dir(directory: Path, expected: dict[str, str]) -> int:
    problems = 0
    for name, text in expected.items():
        path = directory / name
        current = path.read_text() if path.exists() else ""
        if current != text:
            problems += 1
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=str(path),
                    tofile=f"{path} (generated)",
                )
            )
    for stale in _stale_files(directory, expected):
        problems += 1
        print(f"{stale}: not generated from any model")
    if problems:
        print(
            f"{directory}/ is stale ({problems} file(s)): run `agentops crds generate`",
            file=sys.stderr,
        )
        return 1
    print(f"{directory}/ is up to date")
    return 0
