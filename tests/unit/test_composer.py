"""The composer's rules: slash commands and the prompt history."""

from __future__ import annotations

import pytest

from agentops_tui.services.composer import (
    CommandError,
    PromptHistory,
    SlashCommand,
    parse_command,
    prompt_text,
)


def test_slash_commands_and_plain_prompts() -> None:
    assert parse_command("why is the build red?") is None
    assert parse_command("/steer look at the tests first") == SlashCommand(
        "steer", "look at the tests first"
    )
    assert parse_command("/abort") == SlashCommand("abort")
    assert parse_command("//etc/hosts is odd") is None
    assert prompt_text("//etc/hosts is odd") == "/etc/hosts is odd"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/stear now", r"unknown command /stear: try /steer, /abort"),
        ("/remember", r"/remember needs text"),
        ("/abort now", r"/abort takes no text"),
    ],
)
def test_a_bad_command_says_what_would_work(line: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_command(line)


def test_history_walks_like_a_shell_and_keeps_the_draft() -> None:
    history = PromptHistory(size=3)
    for text in ("one", "two", "two", "three", "four"):
        history.add(text)
    assert history.entries == ["two", "three", "four"], "bounded, no repeats in a row"
    assert history.older("half-written") == "four"
    assert history.older("four") == "three"
    assert history.older("three") == "two"
    assert history.older("two") is None
    assert history.newer() == "three"
    assert history.newer() == "four"
    assert history.newer() == "half-written"
    assert history.newer() is None
