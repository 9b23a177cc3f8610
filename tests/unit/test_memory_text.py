"""Pure rules of the memory service: hashing, query building, summaries (golden files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentops_services.api.memory import TranscriptMessage
from agentops_services.memory.text import (
    MAX_QUERY_TERMS,
    estimate_tokens,
    fts_match,
    normalized_hash,
    query_terms,
    session_summary,
    topic_keys_in,
)

GOLDEN = Path(__file__).parent / "golden" / "summaries"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_session_summary_matches_golden(path: Path) -> None:
    case = json.loads(path.read_text())
    messages = [TranscriptMessage.model_validate(m) for m in case["messages"]]
    assert session_summary(messages) == case["summary"]


def test_hash_ignores_case_and_whitespace() -> None:
    assert normalized_hash("Hello   World\n") == normalized_hash("hello world")
    assert normalized_hash("hello world") != normalized_hash("hello worlds")


def test_long_prompts_keep_their_meaningful_terms() -> None:
    prompt = "Hey, could you please check why the payments service keeps returning 503 errors after the deploy?"
    assert query_terms(prompt) == [
        "check",
        "payments",
        "service",
        "keeps",
        "returning",
        "503",
        "errors",
        "deploy",
    ]
    assert len(query_terms(" ".join(f"word{i}" for i in range(100)))) == MAX_QUERY_TERMS


def test_fts_match_quotes_every_term_so_user_text_is_never_syntax() -> None:
    assert (
        fts_match(['say"hi', "near"], ("title", "content"))
        == '{title content} : ("say""hi" OR "near")'
    )
    assert fts_match([], ("title",)) == ""


def test_topic_keys_in_queries() -> None:
    assert topic_keys_in("db/pool") == ["db/pool"]
    assert topic_keys_in("what is our security/path_denied policy for db/pool?") == [
        "security/path_denied",
        "db/pool",
    ]
    assert topic_keys_in("no keys here") == []


def test_token_estimate_is_bytes_over_four() -> None:
    assert (
        estimate_tokens(""),
        estimate_tokens("abcd"),
        estimate_tokens("abcde"),
        estimate_tokens("é" * 2),
    ) == (0, 1, 2, 1)
