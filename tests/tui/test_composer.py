"""The chat composer in Pilot: enter sends, ctrl+j breaks the line, up/down walk the history
at the text's edges, ctrl+s steers."""

from __future__ import annotations

from textual.app import App, ComposeResult

from agentops_tui.widgets.composer import Composer


class ComposerApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, bool]] = []

    def compose(self) -> ComposeResult:
        yield Composer(id="composer")

    def on_composer_submitted(self, event: Composer.Submitted) -> None:
        self.sent.append((event.text, event.steer))

    def on_composer_external_requested(self) -> None:
        self.sent.append(("$EDITOR", False))


async def test_enter_sends_and_ctrl_j_breaks_the_line() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        composer = app.query_one(Composer)
        await pilot.press(*"first line", "ctrl+j", *"second", "enter")
        assert app.sent == [("first line\nsecond", False)]
        assert composer.text == ""
        await pilot.press("enter")
        assert len(app.sent) == 1, "an empty composer sends nothing"


async def test_history_on_up_and_down_keeps_the_draft() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        composer = app.query_one(Composer)
        await pilot.press(*"one", "enter", *"two", "ctrl+j", *"lines", "enter")
        await pilot.press(*"draft", "up")
        assert composer.text == "two\nlines"
        await pilot.press("up")  # the cursor is on the last line: up moves inside the text
        assert composer.text == "two\nlines"
        await pilot.press("up")
        assert composer.text == "one"
        await pilot.press("down", "down")
        assert composer.text == "draft"


async def test_ctrl_s_steers_the_running_turn() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        await pilot.press("ctrl+s", *"check the logs", "enter")
        assert app.sent == [("check the logs", True)]
        assert app.query_one(Composer).has_class("-steer")


async def test_ctrl_e_asks_for_the_external_editor_not_the_line_end() -> None:
    app = ComposerApp()
    async with app.run_test() as pilot:
        await pilot.press(*"draft", "home", "ctrl+e")
        assert app.sent == [("$EDITOR", False)]
        assert app.query_one(Composer).cursor_location == (0, 0)
