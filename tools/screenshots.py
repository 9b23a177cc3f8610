"""Screenshots of the console for the README: the real app, headless at 120x40 on the cluster
backend, against a real control plane holding the snapshot tests' sample namespace
(tests/tui/sample_console.py); an SVG and a PNG of each main view in screenshots/.

    make screenshots      # or, from the repository root: .venv/bin/python -m tools.screenshots

Each view gets a console of its own (as in the snapshot tests) and is reached from the Agents
list with the keys a person would press; the picture is taken once the view shows what it
should, so a key that stopped working fails the run, naming the view, instead of saving the
wrong picture. The PNGs are drawn by resvg (a wheel: no browser, no system library) in Fira Code,
the font the SVGs name, from its own wheel, so they come out the same on every machine.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import resvg_py
from textual.app import App
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static, TextArea

from agentops_services.testing.controlplane import ControlPlane, ControlPlaneError
from agentops_tui.screens.detail import DetailScreen
from agentops_tui.screens.editor import EditorScreen
from agentops_tui.screens.help import HelpScreen
from agentops_tui.screens.resource_list import ResourceListScreen
from agentops_tui.screens.yaml_view import YamlScreen
from tests.conftest import eventually, install_crds
from tests.tui.sample_console import console, keys, populate, steady

OUT = Path(__file__).resolve().parent.parent / "screenshots"
SIZE = (120, 40)
CONTEXT = "testenv"
NAMESPACE = "demo"
TITLE_FONT = "text.terminal-title { font-family: Fira Code }"
"""The SVGs title the window in Arial, which resvg finds on few machines; Fira Code it has."""

Check = Callable[[App[Any]], None]
"""Raises AssertionError, saying what is on screen, until the view is there."""


@dataclass(frozen=True)
class View:
    name: str
    """The files' name in screenshots/."""
    keys: tuple[str, ...]
    """Pressed in the Agents list, whose cursor is on the first Agent (nightly-audit)."""
    shows: Check
    then: Callable[[Pilot[Any]], Awaitable[None]] | None = None
    """What a person would do next that keys cannot say whatever the layout."""


def listing(kind: str) -> Check:
    """The list of `kind` with every object the backend holds in its rows."""

    def shows(app: App[Any]) -> None:
        screen = app.screen
        assert isinstance(screen, ResourceListScreen), f"{screen} is not a list"
        assert screen.kind.kind == kind, f"the {screen.kind.kind} list is open, not {kind}"
        held = len(screen.backend.items(kind))
        assert screen.table.row_count == held > 0, f"{screen.table.row_count} of {held} rows"

    return shows


def on(screen_type: type[Screen[Any]]) -> Check:
    def shows(app: App[Any]) -> None:
        assert isinstance(app.screen, screen_type), f"{app.screen} is open"

    return shows


def palette_finds(text: str) -> Check:
    """The command palette, its first hit for what was typed listed (hits come from a worker)."""

    def shows(app: App[Any]) -> None:
        assert isinstance(app.screen, CommandPalette), f"{app.screen} is open"
        hits = app.screen.query_one(CommandList)
        assert hits.option_count > 0, "no hits yet"
        first = str(hits.get_option_at_index(0).prompt)
        assert text in first, f"the first hit is {first!r}"

    return shows


async def help_for_model(pilot: Pilot[Any]) -> None:
    """Put the editor's cursor on spec.model, as a click there would: the help pane explains
    the field."""
    editor = pilot.app.screen.query_one("#editor", TextArea)
    lines = editor.text.splitlines()
    editor.cursor_location = (next(i for i, ln in enumerate(lines) if ln.startswith("  model:")), 2)
    help_pane = pilot.app.screen.query_one("#field-help", Static)

    def explained(_: App[Any]) -> None:
        assert "spec.model" in str(help_pane.render()), "no help for spec.model"

    await until(explained, pilot.app)


def command(text: str) -> tuple[str, ...]:
    """The keys of a `:` command."""
    return ("colon", *text, "enter")


VIEWS = (
    View("agents", (), listing("Agent")),
    View("agentruns", command("ar"), listing("AgentRun")),
    View("agenttools", command("agtool"), listing("AgentTool")),
    View("providers", command("prov"), listing("Provider")),
    View("agent-detail", ("enter",), on(DetailScreen)),
    View("agent-yaml", ("y",), on(YamlScreen)),
    View("agent-editor", ("e",), on(EditorScreen), then=help_for_model),
    View("help", ("question_mark",), on(HelpScreen)),
    View("command-palette", ("ctrl+p", *"audit"), palette_finds("audit")),
)


class NotShownError(Exception):
    """A view did not appear: the keys no longer lead there, or it stays empty."""


async def until(shows: Check, app: App[Any]) -> None:
    async def attempt() -> None:
        shows(app)

    await eventually(attempt)


async def photograph(kubeconfig: Path, now: datetime, view: View) -> str:
    """The SVG of `view` in a console of its own."""

    async def reach(pilot: Pilot[Any]) -> None:
        await until(listing("Agent"), pilot.app)
        await keys(*view.keys)(pilot)
        await until(view.shows, pilot.app)
        if view.then is not None:
            await view.then(pilot)

    app = console(kubeconfig, CONTEXT, NAMESPACE, now)
    async with app.run_test(size=SIZE) as pilot:
        try:
            await steady(reach)(pilot)
        except AssertionError as exc:
            raise NotShownError(f"{view.name} after pressing {' '.join(view.keys)}: {exc}") from exc
        return app.export_screenshot()


def png(svg: str) -> bytes:
    fonts = files("fontpkg_fira_code") / "files"
    return resvg_py.svg_to_bytes(svg_string=svg, font_dirs=[str(fonts)], style_sheet=TITLE_FONT)


async def capture(kubeconfig: Path) -> dict[str, str]:
    """The SVG of every view, by name."""
    await install_crds(kubeconfig)
    now = await populate(kubeconfig, NAMESPACE)
    return {view.name: await photograph(kubeconfig, now, view) for view in VIEWS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"directory (default {OUT})")
    args = parser.parse_args()
    started = time.monotonic()
    try:
        with ControlPlane() as plane:
            svgs = asyncio.run(capture(plane.kubeconfig))
    except (ControlPlaneError, NotShownError) as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 1
    args.out.mkdir(exist_ok=True)
    for name, svg in svgs.items():
        (args.out / f"{name}.svg").write_text(svg)
        (args.out / f"{name}.png").write_bytes(png(svg))
    elapsed = time.monotonic() - started
    print(f"screenshots: {len(VIEWS)} views (SVG and PNG) in {args.out}, {elapsed:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
