"""`POST /memory/extract`: the primary model drafts one observation from the conversation for a
person to review and save; nothing is saved here."""

from __future__ import annotations

import json
from collections.abc import Sequence

from agentops_services.api.conversation import Message
from agentops_services.api.runtime_api import ExtractedObservation, ExtractRequest
from agentops_services.runtime.loop import ModelChoice
from agentops_services.runtime.providers import base as model

SYSTEM = (
    "You distil a conversation between a user and an AI agent into one long-term memory. "
    "Answer with exactly one JSON object and nothing else: "
    '{"type": one of decision|bugfix|discovery|pattern|architecture|config|learning, '
    '"title": at most 80 characters, "content": 2-5 self-contained sentences that include '
    'the why, "tags": 2-5 lowercase tags}. If nothing is worth keeping answer '
    '{"type":"learning","title":"No significant knowledge to extract","content":"The '
    'conversation held nothing worth remembering.","tags":["empty"]}.'
)
MAX_OUTPUT_TOKENS = 1024
MAX_CONVERSATION_CHARS = 200_000


def extraction_prompt(messages: Sequence[Message], request: ExtractRequest) -> str:
    lines = ["=== Conversation ==="]
    for message in messages:
        if message.text:
            lines.append(f"[{message.role}] {message.text}")
        lines += [f"[{message.role}] Tool call: {call.tool_name}" for call in message.tool_calls()]
    conversation = "\n\n".join(lines)[-MAX_CONVERSATION_CHARS:]
    task = ["=== Task ===", "Extract the most valuable knowledge from this conversation."]
    if request.focus:
        task.append(f"User focus: {request.focus}")
    if request.type:
        task.append(f"Preferred observation type: {request.type}")
    task.append("Respond with only the JSON object.")
    return conversation + "\n\n" + "\n".join(task)


def parse_observation(text: str, preferred_type: str | None) -> ExtractedObservation:
    """The model's JSON (code fences tolerated); its raw text as content when it is not JSON."""
    body = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        data = json.loads(body)
        observation = ExtractedObservation(
            type=str(data.get("type") or preferred_type or "learning"),
            title=str(data.get("title") or "Extracted knowledge")[:80],
            content=str(data.get("content") or ""),
            tags=[str(tag).lower() for tag in data.get("tags") or []][:5],
        )
    except (ValueError, AttributeError):
        return ExtractedObservation(
            type=preferred_type or "learning",
            title="Extracted knowledge",
            content=text.strip(),
            tags=["auto-extracted"],
        )
    return observation


async def extract(
    choice: ModelChoice, messages: Sequence[Message], request: ExtractRequest
) -> ExtractedObservation:
    """Ask the model (raises model.ProviderError when it fails)."""
    call = model.ModelRequest(
        model=choice.model,
        system=[model.SystemPart(SYSTEM)],
        messages=[Message.user(extraction_prompt(messages, request))],
        max_output_tokens=MAX_OUTPUT_TOKENS,
        call_defaults=choice.call_defaults,
    )
    text = "".join(
        [
            event.delta
            async for event in choice.provider.stream(call)
            if isinstance(event, model.TextDelta)
        ]
    )
    return parse_observation(text, request.type)
