"""Pure text rules of the memory service: dedup hash, FTS5 queries, summaries, budgets."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

from agentops_services.api.memory import TranscriptMessage

MAX_QUERY_TERMS = 24
"""A long natural-language prompt keeps its first distinct meaningful terms."""

# Words that match nearly every memory and carry no relevance; removing them keeps a long
# prompt's OR-query fast (BM25 must score every row a term matches) and its ranking sharp.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "please",
        "thanks",
        "thank",
        "hi",
        "hello",
        "hey",
        "also",
        "let",
        "lets",
        "let's",
        "get",
        "got",
        "use",
        "using",
        "used",
        "make",
        "made",
        "need",
        "needs",
        "want",
        "wants",
        "like",
        "s",
        "t",
        "ll",
        "re",
        "ve",
        "d",
        "m",
    ]
)

_TERM = re.compile(r"\w+", re.UNICODE)
_TOPIC_KEY = re.compile(r"[\w.\-]+(?:/[\w.\-]+)+")


def now_utc() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=4)
def _second(epoch_second: int) -> str:
    return datetime.fromtimestamp(epoch_second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def timestamp(moment: datetime) -> str:
    """The stored form: RFC 3339, UTC, second precision (sortable as text)."""
    return _second(int(moment.timestamp()))


def normalized_hash(content: str) -> str:
    """sha256 of the content with whitespace collapsed and case folded (dedup key)."""
    return hashlib.sha256(" ".join(content.split()).lower().encode()).hexdigest()


def query_terms(query: str) -> list[str]:
    """Distinct meaningful terms of a query, in order, at most MAX_QUERY_TERMS."""
    seen: dict[str, None] = {}
    for match in _TERM.finditer(query.lower()):
        term = match.group()
        if term in STOPWORDS or (len(term) < 2 and not term.isdigit()):
            continue
        seen.setdefault(term, None)
        if len(seen) == MAX_QUERY_TERMS:
            break
    return list(seen)


def fts_match(terms: Sequence[str], columns: Sequence[str]) -> str:
    """An FTS5 MATCH expression: any term (OR), each quoted, in the given columns only.

    Quoting makes every term a literal phrase, so user text can never be FTS5 syntax.
    """
    if not terms:
        return ""
    alternatives = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
    return "{" + " ".join(columns) + "} : (" + alternatives + ")"


def topic_keys_in(query: str) -> list[str]:
    """Strings of the query shaped like topic keys (`db/pool`, `security/path_denied`)."""
    keys = [query.strip().lower()] if "/" in query.strip() and " " not in query.strip() else []
    keys += [m.group().lower() for m in _TOPIC_KEY.finditer(query)]
    return list(dict.fromkeys(keys))


def truncate_runes(text: str, limit: int) -> str:
    """At most `limit` characters, with "..." when cut (upstream counts runes, as Python does)."""
    return text if len(text) <= limit else text[:limit] + "..."


def estimate_tokens(text: str) -> int:
    """The runtime's estimate: a token per 4 bytes, rounded up."""
    size = len(text.encode())
    return (size + 3) // 4


def session_summary(messages: Sequence[TranscriptMessage]) -> str:
    """The deterministic end-of-session summary (no LLM), exactly as upstream words it."""
    if not messages:
        return ""
    users = [m.content for m in messages if m.role == "user"]
    assistants = sum(1 for m in messages if m.role == "assistant")
    summary = f"Session: {len(messages)} messages ({len(users)} user, {assistants} assistant). "
    if users:
        summary += "Started with: " + truncate_runes(users[0], 200)
    if len(users) >= 2:
        summary += " Ended with: " + truncate_runes(users[-1], 200)
    return summary
