"""Golden files for builders: the expected manifests as YAML under tests/unit/golden/.

`UPDATE_GOLDEN=1 pytest ...` rewrites them; review the diff before committing it. Otherwise a
mismatch fails with a unified diff of the YAML, which reads like a `kubectl diff`.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml

GOLDEN = Path(__file__).resolve().parent / "unit" / "golden"


def dump(documents: Any) -> str:
    """Stable YAML for a manifest or a list of them (keys in the builder's order)."""
    if isinstance(documents, list):
        return yaml.safe_dump_all(documents, sort_keys=False, width=100)
    return yaml.safe_dump(documents, sort_keys=False, width=100)


def assert_golden(name: str, documents: Any) -> None:
    """Compare `documents` with tests/unit/golden/<name>.yaml (or write it under UPDATE_GOLDEN)."""
    path = GOLDEN / f"{name}.yaml"
    actual = dump(documents)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(actual)
        return
    if not path.exists():
        raise AssertionError(f"{path} does not exist: run with UPDATE_GOLDEN=1 to create it")
    expected = path.read_text()
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"{path.name} (golden)",
                f"{path.name} (built)",
            )
        )
        raise AssertionError(f"{name} differs from its golden file:\n{diff}")
