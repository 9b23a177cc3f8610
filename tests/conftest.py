"""Shared test helpers: where the repository's files are."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
INVALID_SAMPLES = SAMPLES / "invalid"


@pytest.fixture
def repo() -> Path:
    return REPO
