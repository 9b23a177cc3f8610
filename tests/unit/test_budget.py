"""Token estimates, context windows and trimming (spec §6)."""

from __future__ import annotations

import pytest

from agentops_services.api.conversation import (
    Message,
    ToolCallPart,
    ToolOutput,
    ToolResultPart,
)
from agentops_services.runtime.budget import (
    ContextBudget,
    context_window,
    estimate_messages,
    estimate_tokens,
    trim_to_budget,
)


@pytest.mark.parametrize(
    ("model", "window"),
    [
        ("anthropic/claude-sonnet-4-5", 200_000),
        ("gpt-4o-mini-2024-07-18", 128_000),
        ("openai/gpt-4.1-nano", 1_047_576),
        ("moonshot-v1-8k", 8_000),
        ("kimi-k2-0711-preview", 128_000),
        ("kimi-k2-thinking-turbo", 256_000),
        ("something-new", 200_000),
    ],
)
def test_context_window_takes_the_longest_prefix(model: str, window: int) -> None:
    assert context_window(model) == window


def test_estimates_count_bytes_over_four_plus_four_per_message() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("é") == 1  # two bytes
    call = Message(
        role="assistant",
        content=[ToolCallPart(tool_call_id="c", tool_name="bash", input='{"c":"ls"}')],
    )
    assert estimate_messages([Message.user("abcdefgh"), call]) == (4 + 2) + (4 + 1 + 3)


def tool_exchange(n: int) -> list[Message]:
    return [
        Message(
            role="assistant",
            content=[ToolCallPart(tool_call_id=f"c{n}", tool_name="t", input="{}")],
        ),
        Message(
            role="tool",
            content=[
                ToolResultPart(tool_call_id=f"c{n}", output=ToolOutput(type="text", text="x" * 400))
            ],
        ),
    ]


def test_trimming_never_leaves_a_tool_result_without_its_call() -> None:
    messages = [Message.user("start")]
    for n in range(5):
        messages += tool_exchange(n)
    for budget in range(0, estimate_messages(messages) + 1, 37):
        kept = trim_to_budget(messages, budget)
        assert kept, "at least one message stays"
        assert kept[0].role != "tool"
        calls = {p.tool_call_id for m in kept for p in m.content if isinstance(p, ToolCallPart)}
        results = {p.tool_call_id for m in kept for p in m.content if isinstance(p, ToolResultPart)}
        assert results <= calls
        assert kept == messages[len(messages) - len(kept) :]


def test_budget_snapshot_reports_estimates_and_actuals() -> None:
    budget = ContextBudget("claude-sonnet-4-5", 0.5, system_prompt_tokens=100, tool_tokens=300)
    budget.prompt_tokens = 50
    assert budget.budget_tokens == 100_000
    assert budget.conversation_budget() == 100_000 - 450
    snapshot = budget.snapshot()
    assert snapshot.context_window == 200_000 and snapshot.tool_tokens == 300
