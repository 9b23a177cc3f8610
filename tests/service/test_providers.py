"""Each provider against the fake server over real HTTP: what it sends, and how it reads the
stream back (text, reasoning, parallel tool calls, usage, and the ways streams fail)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentops_services.api.conversation import Message, ReasoningPart, TextPart, ToolCallPart
from agentops_services.api.runtime_config import ProviderEntry
from agentops_services.api.v1alpha1.provider import ProviderCallDefaults
from agentops_services.runtime.budget import estimate_message
from agentops_services.runtime.providers import base as model
from agentops_services.runtime.providers.http import HttpSettings
from agentops_services.runtime.providers.registry import build_provider
from tests.service.conftest import FakeProvider

ANSWER = {
    "reasoning": "Two pods to check.",
    "text": "Checking both.",
    "chunkChars": 5,
    "toolCalls": [
        {"name": "kubectl", "input": {"args": "get pod a"}, "id": "call_a"},
        {"name": "kubectl", "input": {"args": "get pod b"}, "id": "call_b"},
    ],
    "usage": {"inputTokens": 321, "outputTokens": 45},
}
KINDS = ["openai", "responses", "azure", "anthropic", "google", "openrouter"]


def entry_for(kind: str, fake: FakeProvider, **extra: Any) -> ProviderEntry:
    data: dict[str, Any] = {"name": "p", "type": kind, **extra}
    if kind == "responses":
        data.update(type="openai", useResponsesAPI=True)
    data.setdefault(
        "baseURL", f"{fake.url}/v1" if data["type"] in ("openai", "openrouter") else fake.url
    )
    return ProviderEntry.model_validate(data)


async def stream(
    kind: str, fake: FakeProvider, request: model.ModelRequest, **extra: Any
) -> list[model.ModelEvent]:
    provider = build_provider(
        entry_for(kind, fake, **extra), {"P_API_KEY": "sk-test"}, HttpSettings(), Path()
    )
    try:
        return [event async for event in provider.stream(request)]
    finally:
        await provider.client.aclose()  # type: ignore[attr-defined]


def request(**extra: Any) -> model.ModelRequest:
    fields: dict[str, Any] = {
        "model": "m-1",
        "system": [model.SystemPart("Protocol."), model.SystemPart("Be brief.", cache=True)],
        "messages": [Message.user("check the pods")],
        "tools": [model.ToolSpec("kubectl", "Run kubectl.", {"type": "object", "properties": {}})],
    }
    return model.ModelRequest(**(fields | extra))


@pytest.mark.parametrize("kind", KINDS)
async def test_streams_reasoning_text_and_parallel_tool_calls(
    kind: str, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [ANSWER]})
    events = await stream(kind, fake_llm, request())
    text = "".join(e.delta for e in events if isinstance(e, model.TextDelta))
    assert text == "Checking both."
    reasoning = "".join(e.delta for e in events if isinstance(e, model.ReasoningDelta))
    assert reasoning == "Two pods to check."
    calls = [e for e in events if isinstance(e, model.ToolCallReady)]
    assert [(c.name, json.loads(c.input)) for c in calls] == [
        ("kubectl", {"args": "get pod a"}),
        ("kubectl", {"args": "get pod b"}),
    ]
    finish = events[-1]
    assert isinstance(finish, model.StepFinish)
    assert finish.finish_reason == "tool-calls"
    assert (finish.usage.input_tokens, finish.usage.output_tokens) == (321, 45)
    # every block that starts also ends, before the step finishes
    starts = [e.id for e in events if isinstance(e, model.TextStart | model.ReasoningStart)]
    ends = [e.id for e in events if isinstance(e, model.TextEnd | model.ReasoningEnd)]
    assert sorted(starts) == sorted(ends)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_plain_answer_finishes_with_stop(kind: str, fake_llm: FakeProvider) -> None:
    fake_llm.use({"turns": [{"text": "All good."}]})
    events = await stream(kind, fake_llm, request())
    finish = events[-1]
    assert isinstance(finish, model.StepFinish) and finish.finish_reason == "stop"


@pytest.mark.parametrize("kind", KINDS)
async def test_rate_limits_are_retryable_and_carry_retry_after(
    kind: str, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [{"error": {"status": 429, "message": "slow down", "retryAfter": 7}}]})
    with pytest.raises(model.ProviderError) as caught:
        await stream(kind, fake_llm, request())
    assert caught.value.retryable and caught.value.status == 429
    assert caught.value.retry_after == 7
    assert "slow down" in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_server_errors_are_retryable_and_bad_requests_are_not(
    kind: str, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [{"error": {"status": 500}}, {"error": {"status": 400}}]})
    with pytest.raises(model.ProviderError) as server_error:
        await stream(kind, fake_llm, request())
    assert server_error.value.retryable
    with pytest.raises(model.ProviderError) as bad_request:
        await stream(kind, fake_llm, request())
    assert not bad_request.value.retryable


@pytest.mark.parametrize("kind", KINDS)
async def test_an_unreadable_chunk_is_a_warning_not_a_failure(
    kind: str, fake_llm: FakeProvider
) -> None:
    fake_llm.use({"turns": [{"text": "Still fine.", "malformed": True}]})
    events = await stream(kind, fake_llm, request())
    assert any(isinstance(e, model.ProviderWarning) for e in events)
    assert "".join(e.delta for e in events if isinstance(e, model.TextDelta)) == "Still fine."


TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize("kind", KINDS)
async def test_the_turn_trace_on_a_user_message_is_not_sent(
    kind: str, fake_llm: FakeProvider
) -> None:
    """The trace id working memory keeps on a turn's prompt is ours: no wire format carries it,
    and the message costs the budget the same with or without it."""
    fake_llm.use({"turns": [{"text": "ok"}]})
    traced = Message.user("check the pods", trace_id=TRACE)
    await stream(kind, fake_llm, request(messages=[traced]))
    sent = json.dumps(fake_llm.llm.requests[-1].body)
    assert "check the pods" in sent and TRACE not in sent and "trace_id" not in sent
    assert estimate_message(traced) == estimate_message(Message.user("check the pods"))


async def test_anthropic_request_caches_tools_system_and_history(fake_llm: FakeProvider) -> None:
    fake_llm.use({"turns": [{"text": "ok"}]})
    history = [
        Message.user("first"),
        Message(
            role="assistant",
            content=[ReasoningPart(text="hm", signature="sig-1"), TextPart(text="answer")],
        ),
        Message.user("second"),
    ]
    defaults = ProviderCallDefaults.model_validate(
        {"anthropic": {"thinkingBudgetTokens": 2048, "effort": "high"}}
    )
    await stream(
        "anthropic",
        fake_llm,
        model.ModelRequest(
            model="claude-sonnet-4-5",
            system=request().system,
            messages=history,
            tools=request().tools,
            cache_prompt=True,
            call_defaults=defaults,
            temperature=0.2,
        ),
    )
    sent = fake_llm.llm.requests[-1]
    assert sent.headers["x-api-key"] == "sk-test"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    body = sent.body
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert [s.get("cache_control") for s in body["system"]] == [None, {"type": "ephemeral"}]
    assert body["messages"][-2]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "hm",
        "signature": "sig-1",
    }
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert "temperature" not in body  # thinking requires the default temperature
    assert body["output_config"] == {"effort": "high"}


async def test_openai_call_defaults_and_headers(fake_llm: FakeProvider) -> None:
    fake_llm.use({"turns": [{"text": "ok"}]})
    defaults = ProviderCallDefaults.model_validate(
        {"openai": {"reasoningEffort": "low", "serviceTier": "flex"}}
    )
    await stream(
        "openai",
        fake_llm,
        request(call_defaults=defaults, max_output_tokens=99),
        organization="org-1",
        headers={"X-Team": "sre"},
    )
    sent = fake_llm.llm.requests[-1]
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.headers["openai-organization"] == "org-1"
    assert sent.headers["x-team"] == "sre"
    assert sent.body["reasoning_effort"] == "low"
    assert sent.body["service_tier"] == "flex"
    assert sent.body["max_completion_tokens"] == 99
    assert sent.body["messages"][0] == {"role": "system", "content": "Protocol.\n\nBe brief."}


async def test_azure_addresses_the_deployment_with_an_api_version(fake_llm: FakeProvider) -> None:
    fake_llm.use({"turns": [{"text": "ok"}]})
    await stream("azure", fake_llm, request(), azureAPIVersion="2025-01-01-preview")
    sent = fake_llm.llm.requests[-1]
    assert sent.path == "/openai/deployments/m-1/chat/completions"
    assert sent.query == {"api-version": "2025-01-01-preview"}
    assert sent.headers["api-key"] == "sk-test"


async def test_gemini_sends_thinking_and_safety_and_keeps_call_signatures(
    fake_llm: FakeProvider,
) -> None:
    fake_llm.use({"turns": [ANSWER, {"text": "ok"}]})
    defaults = ProviderCallDefaults.model_validate(
        {
            "google": {
                "thinkingLevel": "HIGH",
                "safetySettings": [
                    {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}
                ],
            }
        }
    )
    events = await stream("google", fake_llm, request(call_defaults=defaults))
    sent = fake_llm.llm.requests[-1]
    assert sent.headers["x-goog-api-key"] == "sk-test"
    assert sent.query == {"alt": "sse"}
    config = sent.body["generationConfig"]["thinkingConfig"]
    assert config == {"includeThoughts": True, "thinkingLevel": "HIGH"}
    assert sent.body["safetySettings"][0]["threshold"] == "BLOCK_NONE"
    assert sent.body["systemInstruction"] == {"parts": [{"text": "Protocol.\n\nBe brief."}]}
    calls = [e for e in events if isinstance(e, model.ToolCallReady)]
    assert [c.signature for c in calls] == ["sig-0", "sig-1"]
    replay = request(
        messages=[
            Message.user("check"),
            Message(
                role="assistant",
                content=[
                    ToolCallPart(
                        tool_call_id=c.id, tool_name=c.name, input=c.input, signature=c.signature
                    )
                    for c in calls
                ],
            ),
        ]
    )
    await stream("google", fake_llm, replay)
    parts = fake_llm.llm.requests[-1].body["contents"][1]["parts"]
    assert [p["thoughtSignature"] for p in parts] == ["sig-0", "sig-1"]


async def test_oauth2_client_credentials_fetch_one_token_and_reuse_it(
    fake_llm: FakeProvider,
) -> None:
    fake_llm.use({"turns": [{"text": "one"}, {"text": "two"}]})
    entry = ProviderEntry.model_validate(
        {
            "name": "corp",
            "type": "openaicompat",
            "baseURL": f"{fake_llm.url}/v1",
            "oauth2": {
                "tokenURL": f"{fake_llm.url}/oauth/token",
                "clientIDEnv": "CORP_ID",
                "clientSecretEnv": "CORP_SECRET",
                "scopes": ["llm.read", "llm.write"],
            },
        }
    )
    env = {"CORP_ID": "agent", "CORP_SECRET": "s3cret"}
    provider = build_provider(entry, env, HttpSettings(), Path())
    try:
        for _ in range(2):
            [event async for event in provider.stream(request())]
    finally:
        await provider.client.aclose()  # type: ignore[attr-defined]
    paths = [r.path for r in fake_llm.llm.requests]
    assert paths == ["/oauth/token", "/v1/chat/completions", "/v1/chat/completions"]
    token_request = fake_llm.llm.requests[0].body
    assert token_request["scope"] == "llm.read llm.write"
    assert token_request["grant_type"] == "client_credentials"
    bearer = {r.headers["authorization"] for r in fake_llm.llm.requests[1:]}
    assert bearer == {"Bearer token-1"}


@pytest.mark.parametrize(
    ("entry", "env", "reason"),
    [
        ({"name": "anthropic", "type": "anthropic"}, {}, "set ANTHROPIC_API_KEY"),
        ({"name": "my-llm", "type": "openai"}, {}, "set MY_LLM_API_KEY"),
        ({"name": "x", "type": "openaicompat"}, {"X_API_KEY": "k"}, "openaicompat needs baseURL"),
        ({"name": "b", "type": "bedrock"}, {"B_API_KEY": "k"}, "Bedrock is not supported"),
        (
            {"name": "s", "type": "scripted"},
            {},
            "a scripted provider needs `script`",
        ),
    ],
)
def test_unusable_entries_say_why(entry: dict[str, Any], env: dict[str, str], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        build_provider(ProviderEntry.model_validate(entry), env, HttpSettings(), Path())


def test_a_loopback_sidecar_needs_no_key() -> None:
    entry = ProviderEntry.model_validate(
        {"name": "local", "type": "openaicompat", "baseURL": "http://127.0.0.1:9101/v1"}
    )
    provider = build_provider(entry, {}, HttpSettings(), Path())
    assert provider.name == "local"
