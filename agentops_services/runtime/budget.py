"""The context-window budget: how many tokens each part of a call takes, and trimming the
conversation so the call fits.

Estimates are upstream's (a token per 4 bytes, 4 per message) so budgets compare across
runtimes; after each step the provider's real counts replace them in the snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agentops_services.api.conversation import Message, TextPart, ToolCallPart, ToolResultPart
from agentops_services.api.fep import ContextBudgetSnapshot, Usage

DEFAULT_CONTEXT_WINDOW = 200_000
TOKENS_PER_TOOL = 150
TOKENS_PER_MESSAGE = 4

CONTEXT_WINDOWS: dict[str, int] = {
    "claude-opus-4": 200_000,
    "claude-sonnet-4": 200_000,
    "claude-haiku-4": 200_000,
    "claude-3-5": 200_000,
    "claude-3-7": 200_000,
    "claude-haiku-3.5": 200_000,
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-5": 400_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "gemini-2.5": 1_048_576,
    "gemini-3": 1_048_576,
    "kimi-k2.5": 256_000,
    "kimi-k2-0905-preview": 256_000,
    "kimi-k2-turbo-preview": 256_000,
    "kimi-k2-thinking": 256_000,
    "kimi-k2-0711-preview": 128_000,
    "moonshot-v1-128k": 128_000,
    "moonshot-v1-32k": 32_000,
    "moonshot-v1-8k": 8_000,
}


def context_window(model: str) -> int:
    """The model's context window: exact name, else the longest matching prefix (upstream picked
    an arbitrary one), else 200,000."""
    name = model.rsplit("/", 1)[-1]
    if name in CONTEXT_WINDOWS:
        return CONTEXT_WINDOWS[name]
    matches = [key for key in CONTEXT_WINDOWS if name.startswith(key)]
    return CONTEXT_WINDOWS[max(matches, key=len)] if matches else DEFAULT_CONTEXT_WINDOW


def estimate_tokens(text: str) -> int:
    return (len(text.encode()) + 3) // 4


def estimate_message(message: Message) -> int:
    total = TOKENS_PER_MESSAGE
    for part in message.content:
        if isinstance(part, TextPart):
            total += estimate_tokens(part.text)
        elif isinstance(part, ToolCallPart):
            total += estimate_tokens(part.tool_name) + estimate_tokens(part.input)
        elif isinstance(part, ToolResultPart) and part.output.type == "text":
            total += estimate_tokens(part.output.text or "")
    return total


def estimate_messages(messages: Sequence[Message]) -> int:
    return sum(estimate_message(m) for m in messages)


def trim_start(messages: Sequence[Message], sizes: Sequence[int], budget: int) -> int:
    """Index of the first message to keep so the rest fit `budget` (given each message's
    estimate), cutting only before a user or assistant message so a tool result never loses
    the call it answers. At least one message always stays."""
    start = 0
    total = sum(sizes)
    while len(messages) - start > 1 and total > budget:
        cut = next(
            (
                i
                for i in range(start + 1, len(messages))
                if messages[i].role in ("user", "assistant")
            ),
            None,
        )
        if cut is None:
            break
        total -= sum(sizes[start:cut])
        start = cut
    return start


def trim_to_budget(messages: list[Message], budget: int) -> list[Message]:
    """The newest messages that fit `budget` (see `trim_start`)."""
    return messages[trim_start(messages, [estimate_message(m) for m in messages], budget) :]


@dataclass
class ContextBudget:
    """The running tally for one agent: fixed costs set once, per-turn costs per run."""

    model: str
    fraction: float
    system_prompt_tokens: int = 0
    tool_tokens: int = 0
    memory_context_tokens: int = 0
    prompt_tokens: int = 0
    conversation_tokens: int = 0
    actual: Usage = field(default_factory=Usage)

    @property
    def window(self) -> int:
        return context_window(self.model)

    @property
    def budget_tokens(self) -> int:
        return int(self.window * self.fraction)

    def conversation_budget(self) -> int:
        fixed = self.system_prompt_tokens + self.tool_tokens
        return max(0, self.budget_tokens - fixed - self.memory_context_tokens - self.prompt_tokens)

    def snapshot(self) -> ContextBudgetSnapshot:
        return ContextBudgetSnapshot(
            context_window=self.window,
            budget_tokens=self.budget_tokens,
            system_prompt_tokens=self.system_prompt_tokens,
            tool_tokens=self.tool_tokens,
            memory_context_tokens=self.memory_context_tokens,
            conversation_tokens=self.conversation_tokens,
            prompt_tokens=self.prompt_tokens,
            actual_input_tokens=self.actual.input_tokens,
            actual_output_tokens=self.actual.output_tokens,
            cache_read_tokens=self.actual.cache_read_tokens,
            cache_write_tokens=self.actual.cache_creation_tokens,
        )
