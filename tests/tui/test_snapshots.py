"""SVG snapshots of the console's views at 120x40 and 80x24, against a real control plane.

The namespace has a fixed name and its objects (tests/tui/sample_console.py) fixed names, specs
and statuses, and the console's clock stands 90 s after the first was created (every age reads
"1m"), so the pictures do not depend on when the test runs. Update with
`pytest --snapshot-update` and review the SVGs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from textual.pilot import Pilot

from agentops_services.testing.controlplane import ControlPlane
from tests.tui.sample_console import cleanup, console, keys, populate, steady

pytestmark = pytest.mark.kube
NAMESPACE = "console-snapshots"
SIZES = [(120, 40), (80, 24)]


@pytest.fixture(scope="module")
def frozen_now(control_plane: ControlPlane) -> Iterator[datetime]:
    yield asyncio.run(populate(control_plane.kubeconfig, NAMESPACE))
    asyncio.run(cleanup(control_plane.kubeconfig, NAMESPACE))


VIEWS: dict[str, Callable[[Pilot[Any]], Awaitable[None]] | None] = {
    "agents": None,
    "agentruns": keys("colon", "a", "r", "enter"),
    "filter": keys("slash", "r", "e", "v"),
    "command-line": keys("colon", "p", "r"),
    "help": keys("question_mark"),
    "confirm-delete": keys("ctrl+d"),
}


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("view", list(VIEWS))
def test_view(
    view: str,
    size: tuple[int, int],
    snap_compare: Any,
    control_plane: ControlPlane,
    frozen_now: datetime,
) -> None:
    app = console(control_plane.kubeconfig, "snapshot-context", NAMESPACE, frozen_now)
    assert snap_compare(app, terminal_size=size, run_before=steady(VIEWS[view]))
