"""The composer's rules: slash commands and the prompt history."""

from __future__ import annotations

import pytest

from agentops_tui.services.composer import (
    CommandError,
    PromptHistory,
    SlashCommand,
    parse_command,
    prompt_text,
    turn_number,
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


def test_trace_takes_an_optional_turn_number_within_the_chat() -> None:
    assert parse_command("/trace") == SlashCommand("trace")
    assert turn_number(SlashCommand("trace"), 3) == 1
    assert turn_number(SlashCommand("trace", "3"), 3) == 3


@pytest.mark.parametrize(
    ("text", "turns", "message"),
    [
        ("4", 3, r"^/trace 4: this chat has 3 traced turns; /trace N takes 1 \(the latest\) to 3$"),
        ("0", 1, r"^/trace 0: this chat has 1 traced turn; /trace N takes 1 \(the latest\)$"),
        ("last", 2, r"^/trace last: not a turn number; /trace N takes 1 \(the latest\) to 2$"),
        ("-1", 2, r"not a turn number"),
        ("²", 2, r"not a turn number"),
    ],
)
def test_a_bad_turn_number_names_the_command_and_the_range(
    text: str, turns: int, message: str
) -> None:
    command = parse_command(f"/trace {text}")
    assert command is not None
    with pytest.raises(CommandError, match=message):
        turn_number(command, turns)
